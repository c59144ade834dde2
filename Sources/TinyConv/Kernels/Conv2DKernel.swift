import CKernels

/// Shape-checked entry points to the C convolution kernels (1x1 convs take the GEMM
/// fast path inside C). Buffers may be larger than the shape needs, never smaller.
public enum Conv2DKernel {
    /// y = relu?(conv(x, w) + b)
    public static func forward(
        _ s: ConvShape, x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        bias b: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>, relu: Bool,
        workspace: UnsafeMutableBufferPointer<Float>, kernel name: String = "conv2d_forward"
    ) throws {
        try s.validate(name)
        try requireCount(x.count, s.inputCount, name, "x")
        try requireCount(w.count, s.weightCount, name, "weights")
        if let b { try requireCount(b.count, s.outChannels, name, "bias") }
        try requireCount(y.count, s.outputCount, name, "y")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        tc_conv2d_forward(s.c, x.baseAddress, w.baseAddress, b?.baseAddress, y.baseAddress,
                          relu ? 1 : 0, workspace.baseAddress)
    }

    /// dx = input gradient of the convolution (overwritten).
    public static func backwardData(
        _ s: ConvShape, dy: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>,
        kernel name: String = "conv2d_backward_data"
    ) throws {
        try s.validate(name)
        try requireCount(dy.count, s.outputCount, name, "dy")
        try requireCount(w.count, s.weightCount, name, "weights")
        try requireCount(dx.count, s.inputCount, name, "dx")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        tc_conv2d_backward_data(s.c, dy.baseAddress, w.baseAddress, dx.baseAddress, workspace.baseAddress)
    }

    /// dw (+)= weight gradient, db (+)= bias gradient.
    public static func backwardWeights(
        _ s: ConvShape, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
        dw: UnsafeMutableBufferPointer<Float>, db: UnsafeMutableBufferPointer<Float>?,
        accumulate: Bool, workspace: UnsafeMutableBufferPointer<Float>, kernel name: String = "conv2d_backward_weights"
    ) throws {
        try s.validate(name)
        try requireCount(x.count, s.inputCount, name, "x")
        try requireCount(dy.count, s.outputCount, name, "dy")
        try requireCount(dw.count, s.weightCount, name, "dw")
        if let db { try requireCount(db.count, s.outChannels, name, "db") }
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        tc_conv2d_backward_weights(s.c, x.baseAddress, dy.baseAddress, dw.baseAddress, db?.baseAddress,
                                   accumulate ? 1 : 0, workspace.baseAddress)
    }
}
