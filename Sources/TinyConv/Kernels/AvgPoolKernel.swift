import CKernels

/// The one route to the C average-pool kernels (2x2, stride 2, NHWC): checked once at
/// construction, unchecked inlinable calls for any batch up to `shape.batch`.
public struct AvgPoolKernel: Sendable {
    public let shape: PoolShape
    @usableFromInline let h, w, c: Int32

    public init(_ shape: PoolShape, name: String = "avgpool") throws {
        try shape.validate(name)
        self.shape = shape
        (h, w, c) = (Int32(shape.height), Int32(shape.width), Int32(shape.channels))
    }

    /// y [n][H/2][W/2][C] = mean of each 2x2 window of x [n][H][W][C]
    @inlinable public func forward(batch n: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        assert(n >= 1 && n <= shape.batch)
        tc_avgpool2x2_forward(Int32(truncatingIfNeeded: n), h, w, c, x, y)
    }

    /// dx [n][H][W][C] (overwritten) = dy / 4 spread over each window (0 in a dropped odd row/column)
    @inlinable public func backward(batch n: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
        assert(n >= 1 && n <= shape.batch)
        tc_avgpool2x2_backward(Int32(truncatingIfNeeded: n), h, w, c, dy, dx)
    }
}

extension AvgPoolKernel {
    public static func forward(_ s: PoolShape, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        let k = try AvgPoolKernel(s, name: "avgpool_forward")
        try requireCount(x.count, s.inputCount, "avgpool_forward", "x")
        try requireCount(y.count, s.outputCount, "avgpool_forward", "y")
        k.forward(batch: s.batch, x: x.baseAddress!, y: y.baseAddress!)
    }

    public static func backward(_ s: PoolShape, dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>) throws {
        let k = try AvgPoolKernel(s, name: "avgpool_backward")
        try requireCount(dy.count, s.outputCount, "avgpool_backward", "dy")
        try requireCount(dx.count, s.inputCount, "avgpool_backward", "dx")
        k.backward(batch: s.batch, dy: dy.baseAddress!, dx: dx.baseAddress!)
    }
}
