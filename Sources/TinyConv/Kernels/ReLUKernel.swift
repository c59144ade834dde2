import CKernels

public enum ReLUKernel {
    public static func forward(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        try requireCount(y.count, x.count, "relu_forward", "y")
        tc_relu_forward(x.count, x.baseAddress, y.baseAddress)
    }
    /// dx = dy where y > 0; dx may be dy itself.
    public static func backward(y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>) throws {
        try requireCount(dy.count, y.count, "relu_backward", "dy")
        try requireCount(dx.count, y.count, "relu_backward", "dx")
        tc_relu_backward(y.count, y.baseAddress, dy.baseAddress, dx.baseAddress)
    }
}
