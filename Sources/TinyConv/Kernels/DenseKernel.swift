import CKernels

/// Shape of a fully connected layer: x [batch][inputs] * w [inputs][outputs] + b -> y [batch][outputs].
public struct DenseShape: Hashable, Sendable {
    public var batch, inputs, outputs: Int
    public init(batch: Int, inputs: Int, outputs: Int) {
        (self.batch, self.inputs, self.outputs) = (batch, inputs, outputs)
    }
    public var weightCount: Int { inputs * outputs }
    public var macs: Int { batch * inputs * outputs }
    public var workspaceFloats: Int { Int(tc_dense_workspace_floats(Int32(batch), Int32(inputs), Int32(outputs))) }

    public func validate(_ kernel: String = "dense") throws {
        try require(batch > 0 && inputs > 0 && outputs > 0, kernel,
                    "every dimension must be positive, got batch \(batch), \(inputs) -> \(outputs)")
        try require([batch, inputs, outputs].allSatisfy { $0 < Int(Int32.max) }, kernel, "dimensions too large")
    }
}

/// Shape-checked entry points to the C dense kernels. A dense layer is a 1x1 conv over
/// a batch x 1 x 1 x inputs tensor, which is how the C side runs it too.
public enum DenseKernel {
    static func conv(_ s: DenseShape, _ kernel: String) throws -> ConvShape {
        try s.validate(kernel)
        return ConvShape(batch: s.batch, height: 1, width: 1, inChannels: s.inputs, outChannels: s.outputs, kernel: 1)
    }

    public static func forward(
        _ s: DenseShape, x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        bias b: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>, relu: Bool,
        workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        try Conv2DKernel.forward(conv(s, "dense_forward"), x: x, weights: w, bias: b, y: y, relu: relu, workspace: workspace,
                                 kernel: "dense_forward")
    }

    public static func backwardData(
        _ s: DenseShape, dy: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        try Conv2DKernel.backwardData(conv(s, "dense_backward_data"), dy: dy, weights: w, dx: dx, workspace: workspace,
                                      kernel: "dense_backward_data")
    }

    public static func backwardWeights(
        _ s: DenseShape, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
        dw: UnsafeMutableBufferPointer<Float>, db: UnsafeMutableBufferPointer<Float>?,
        accumulate: Bool, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        try Conv2DKernel.backwardWeights(conv(s, "dense_backward_weights"), x: x, dy: dy, dw: dw, db: db, accumulate: accumulate,
                                         workspace: workspace, kernel: "dense_backward_weights")
    }
}
