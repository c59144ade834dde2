import CKernels

/// Keras SGD with momentum and l2(lambda): v = m*v - lr*(g + 2*lambda*w); w += v.
public enum SGDKernel {
    @inlinable public static func step(count: Int, lr: Float, momentum: Float, l2: Float, weights: UnsafeMutablePointer<Float>,
                                       velocity: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>) {
        tc_sgd_momentum(count, lr, momentum, l2, weights, velocity, gradient)
    }

    public static func step(lr: Float, momentum: Float, l2: Float, weights: UnsafeMutableBufferPointer<Float>,
                            velocity: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) throws {
        try requireCount(velocity.count, weights.count, "sgd_momentum", "velocity")
        try requireCount(gradient.count, weights.count, "sgd_momentum", "gradient")
        step(count: weights.count, lr: lr, momentum: momentum, l2: l2, weights: weights.baseAddress!,
             velocity: velocity.baseAddress!, gradient: gradient.baseAddress!)
    }
}

/// Sum of per-shard gradient buffers in a fixed pairwise tree: the result does not
/// depend on who calls it or on the thread count.
public enum GradientSumKernel {
    /// dst[i] = sum over s < sources of src[s][i]
    @inlinable public static func sum(count: Int, sources: Int, src: UnsafePointer<UnsafePointer<Float>?>,
                                      dst: UnsafeMutablePointer<Float>) {
        tc_sum_buffers(count, Int32(truncatingIfNeeded: sources), src, dst)
    }

    /// left[i] += right[i]: one node of the tree (the bits `sum` gives over its two halves).
    @inlinable public static func merge(count: Int, right: UnsafePointer<Float>, into left: UnsafeMutablePointer<Float>) {
        tc_add_buffer(count, right, left)
    }
}
