import CKernels

/// Fully connected layer over the flattened NHWC input; ReLU fused unless it is the
/// output layer. Parameters: weights [in][out], then biases [out].
public final class Dense: Layer {
    public let spec: ResolvedLayer
    public init(_ spec: ResolvedLayer) { self.spec = spec }

    var inputs: Int32 { Int32(spec.input.count) }
    var outputs: Int32 { Int32(spec.output.count) }

    public func scratchFloats(count: Int) -> Int { Int(tc_dense_workspace_floats(Int32(count), inputs, outputs)) }

    // y [n][out] = relu?(x [n][in] * w + b)
    public func forward(_ c: LayerContext) {
        tc_dense_forward(Int32(c.count), inputs, outputs, c.x, c.parameters, c.parameters + spec.weightCount, c.y,
                         spec.relu ? 1 : 0, c.scratch)
    }

    public func backward(_ c: LayerContext) {
        if spec.relu { tc_relu_backward(c.count * spec.output.count, c.y, c.dy, c.dy) }
        tc_dense_backward_weights(Int32(c.count), inputs, outputs, c.x, c.dy, c.gradients,
                                  c.gradients + spec.weightCount, 0, c.scratch)
        if let dx = c.dx { tc_dense_backward_data(Int32(c.count), inputs, outputs, c.dy, c.parameters, dx, c.scratch) }
    }
}
