import CKernels

/// Inverted dropout with a counter-based mask: element i of a stream is kept iff
/// uniform(seed, stream, first + i) >= rate, whatever thread computes it.
public enum DropoutKernel {
    @inlinable public static func forward(count: Int, rate: Float, seed: UInt64, stream: UInt64, first: UInt64,
                                          x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                                          mask: UnsafeMutablePointer<UInt8>) {
        tc_dropout_forward(count, rate, seed, stream, first, x, y, mask)
    }
    @inlinable public static func backward(count: Int, rate: Float, mask: UnsafePointer<UInt8>, dy: UnsafePointer<Float>,
                                           dx: UnsafeMutablePointer<Float>) {
        tc_dropout_backward(count, rate, mask, dy, dx)
    }

    public static func forward(rate: Float, seed: UInt64, stream: UInt64, first: UInt64,
                               x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                               mask: UnsafeMutableBufferPointer<UInt8>) throws {
        try require(rate >= 0 && rate < 1, "dropout_forward", "rate \(rate) must be in [0, 1)")
        try requireCount(y.count, x.count, "dropout_forward", "y")
        try requireCount(mask.count, x.count, "dropout_forward", "mask")
        forward(count: x.count, rate: rate, seed: seed, stream: stream, first: first, x: x.baseAddress!, y: y.baseAddress!,
                mask: mask.baseAddress!)
    }
    public static func backward(rate: Float, mask: UnsafeBufferPointer<UInt8>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>) throws {
        try require(rate >= 0 && rate < 1, "dropout_backward", "rate \(rate) must be in [0, 1)")
        try requireCount(mask.count, dy.count, "dropout_backward", "mask")
        try requireCount(dx.count, dy.count, "dropout_backward", "dx")
        backward(count: dy.count, rate: rate, mask: mask.baseAddress!, dy: dy.baseAddress!, dx: dx.baseAddress!)
    }
}
