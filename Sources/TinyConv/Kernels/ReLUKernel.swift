import CKernels

/// ReLU over a flat tensor. The pointer forms are the unchecked route production uses;
/// the buffer forms check counts first.
public enum ReLUKernel {
    @inlinable public static func forward(count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        tc_relu_forward(count, x, y)
    }
    /// dx = dy where y > 0; dx may be dy itself.
    @inlinable public static func backward(count: Int, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                           dx: UnsafeMutablePointer<Float>) {
        tc_relu_backward(count, y, dy, dx)
    }

    public static func forward(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        try requireCount(y.count, x.count, "relu_forward", "y")
        forward(count: x.count, x: x.baseAddress!, y: y.baseAddress!)
    }
    public static func backward(y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>) throws {
        try requireCount(dy.count, y.count, "relu_backward", "dy")
        try requireCount(dx.count, y.count, "relu_backward", "dx")
        backward(count: y.count, y: y.baseAddress!, dy: dy.baseAddress!, dx: dx.baseAddress!)
    }
}
