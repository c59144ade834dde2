import CKernels

/// Inverted dropout with a counter-based mask: element i of a stream is kept iff
/// uniform(seed, stream, first + i) >= rate, whatever thread computes it.
public enum DropoutKernel {
    public static func forward(rate: Float, seed: UInt64, stream: UInt64, first: UInt64,
                               x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                               mask: UnsafeMutableBufferPointer<UInt8>) throws {
        try require(rate >= 0 && rate < 1, "dropout_forward", "rate \(rate) must be in [0, 1)")
        try requireCount(y.count, x.count, "dropout_forward", "y")
        try requireCount(mask.count, x.count, "dropout_forward", "mask")
        tc_dropout_forward(x.count, rate, seed, stream, first, x.baseAddress, y.baseAddress, mask.baseAddress)
    }
    public static func backward(rate: Float, mask: UnsafeBufferPointer<UInt8>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>) throws {
        try require(rate >= 0 && rate < 1, "dropout_backward", "rate \(rate) must be in [0, 1)")
        try requireCount(mask.count, dy.count, "dropout_backward", "mask")
        try requireCount(dx.count, dy.count, "dropout_backward", "dx")
        tc_dropout_backward(dy.count, rate, mask.baseAddress, dy.baseAddress, dx.baseAddress)
    }
}
