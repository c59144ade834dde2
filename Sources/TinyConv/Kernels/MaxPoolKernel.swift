import CKernels

/// The one route to the C max-pool kernels (2x2, stride 2, NHWC): checked once at
/// construction, unchecked inlinable calls for any batch up to `shape.batch`.
public struct MaxPoolKernel: Sendable {
    public let shape: PoolShape
    @usableFromInline let h, w, c: Int32

    public init(_ shape: PoolShape, name: String = "maxpool") throws {
        try shape.validate(name)
        self.shape = shape
        (h, w, c) = (Int32(shape.height), Int32(shape.width), Int32(shape.channels))
    }

    /// y [n][H/2][W/2][C] = max over each 2x2 window of x [n][H][W][C]
    @inlinable public func forward(batch n: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        assert(n >= 1 && n <= shape.batch)
        tc_maxpool2x2_forward(Int32(truncatingIfNeeded: n), h, w, c, x, y)
    }

    /// dx (overwritten) gets dy at the first maximum of each window; reluMask also applies
    /// the backward of a ReLU that produced x (the plan's conv+ReLU -> pool fusion).
    @inlinable public func backward(batch n: Int, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                    dx: UnsafeMutablePointer<Float>, reluMask: Bool) {
        assert(n >= 1 && n <= shape.batch)
        tc_maxpool2x2_backward(Int32(truncatingIfNeeded: n), h, w, c, x, y, dy, dx, reluMask ? 1 : 0)
    }
}

extension MaxPoolKernel {
    public static func forward(batch n: Int, height h: Int, width w: Int, channels c: Int,
                               x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        let s = PoolShape(batch: n, height: h, width: w, channels: c)
        let k = try MaxPoolKernel(s, name: "maxpool_forward")
        try requireCount(x.count, s.inputCount, "maxpool_forward", "x")
        try requireCount(y.count, s.outputCount, "maxpool_forward", "y")
        k.forward(batch: n, x: x.baseAddress!, y: y.baseAddress!)
    }

    public static func backward(batch n: Int, height h: Int, width w: Int, channels c: Int,
                                x: UnsafeBufferPointer<Float>, y: UnsafeBufferPointer<Float>,
                                dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
                                reluMask: Bool = false) throws {
        let s = PoolShape(batch: n, height: h, width: w, channels: c)
        let k = try MaxPoolKernel(s, name: "maxpool_backward")
        try requireCount(x.count, s.inputCount, "maxpool_backward", "x")
        try requireCount(y.count, s.outputCount, "maxpool_backward", "y")
        try requireCount(dy.count, s.outputCount, "maxpool_backward", "dy")
        try requireCount(dx.count, s.inputCount, "maxpool_backward", "dx")
        k.backward(batch: n, x: x.baseAddress!, y: y.baseAddress!, dy: dy.baseAddress!, dx: dx.baseAddress!, reluMask: reluMask)
    }
}
