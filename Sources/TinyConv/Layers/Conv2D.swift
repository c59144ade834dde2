import CKernels

/// k x k convolution, stride 1, valid or same padding, ReLU fused. 1x1 convs take the
/// GEMM path inside the kernel. Parameters: weights [k][k][Cin][Cout], then biases [Cout].
public final class Conv2D: Layer {
    public let spec: ResolvedLayer
    let kernel: Int, padding: Int
    /// The next layer (a max pool) applies this layer's ReLU backward for it.
    public let reluBackwardDoneByNext: Bool

    public init(_ spec: ResolvedLayer, reluBackwardDoneByNext: Bool = false) {
        self.reluBackwardDoneByNext = reluBackwardDoneByNext
        guard case let .conv(k, _, p) = spec.layer else { preconditionFailure("Conv2D needs a conv spec") }
        self.spec = spec
        kernel = k
        padding = p == .same ? (k - 1) / 2 : 0
    }

    func shape(_ n: Int) -> tc_conv_shape {
        tc_conv_shape(n: Int32(n), h: Int32(spec.input.height), w: Int32(spec.input.width),
                      cin: Int32(spec.input.channels), cout: Int32(spec.output.channels),
                      k: Int32(kernel), pad: Int32(padding))
    }

    public func scratchFloats(count: Int) -> Int { Int(tc_conv2d_workspace_floats(shape(count))) }

    // y [n][Ho][Wo][Cout] = relu(conv(x [n][H][W][Cin]) + b)
    public func forward(_ c: LayerContext) {
        tc_conv2d_forward(shape(c.count), c.x, c.parameters, c.parameters + spec.weightCount, c.y, 1, c.scratch)
    }

    public func backward(_ c: LayerContext) {
        let s = shape(c.count)
        let outCount = c.count * spec.output.count
        if !reluBackwardDoneByNext { tc_relu_backward(outCount, c.y, c.dy, c.dy) }  // through the fused ReLU
        tc_conv2d_backward_weights(s, c.x, c.dy, c.gradients, c.gradients + spec.weightCount, 0, c.scratch)
        if let dx = c.dx { tc_conv2d_backward_data(s, c.dy, c.parameters, dx, c.scratch) }
    }
}
