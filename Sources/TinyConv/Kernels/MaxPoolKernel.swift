import CKernels

/// Max pool 2x2 stride 2 (floor) over NHWC: [n][h][w][c] -> [n][h/2][w/2][c].
public enum MaxPoolKernel {
    static func check(_ name: String, _ n: Int, _ h: Int, _ w: Int, _ c: Int) throws {
        try require(n > 0 && h >= 2 && w >= 2 && c > 0, name,
                    "needs a positive batch and channels and at least 2x2 input, got \(n)x\(h)x\(w)x\(c)")
    }
    public static func forward(batch n: Int, height h: Int, width w: Int, channels c: Int,
                               x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        try check("maxpool_forward", n, h, w, c)
        try requireCount(x.count, n * h * w * c, "maxpool_forward", "x")
        try requireCount(y.count, n * (h / 2) * (w / 2) * c, "maxpool_forward", "y")
        tc_maxpool2x2_forward(Int32(n), Int32(h), Int32(w), Int32(c), x.baseAddress, y.baseAddress)
    }
    public static func backward(batch n: Int, height h: Int, width w: Int, channels c: Int,
                                x: UnsafeBufferPointer<Float>, y: UnsafeBufferPointer<Float>,
                                dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
                                reluMask: Bool = false) throws {
        try check("maxpool_backward", n, h, w, c)
        let outCount = n * (h / 2) * (w / 2) * c
        try requireCount(x.count, n * h * w * c, "maxpool_backward", "x")
        try requireCount(y.count, outCount, "maxpool_backward", "y")
        try requireCount(dy.count, outCount, "maxpool_backward", "dy")
        try requireCount(dx.count, n * h * w * c, "maxpool_backward", "dx")
        tc_maxpool2x2_backward(Int32(n), Int32(h), Int32(w), Int32(c), x.baseAddress, y.baseAddress,
                               dy.baseAddress, dx.baseAddress, reluMask ? 1 : 0)
    }
}
