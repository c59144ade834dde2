import CKernels

/// The route to the batch-normalization kernels (C: tc_bn_*), over x [rows][channels] with
/// channels innermost (rows = a shard's samples x positions). Per channel, rows are summed in
/// order; shards' sums are combined by the scheduler in a fixed tree.
public enum BatchNormKernel {
    /// s[ch] = sum over rows of x
    @inlinable public static func sums(rows: Int, channels c: Int, x: UnsafePointer<Float>, into s: UnsafeMutablePointer<Float>) {
        tc_bn_sums(rows, Int32(c), x, s)
    }
    /// s[ch] = sum over rows of (x - mean)^2
    @inlinable public static func squares(rows: Int, channels c: Int, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                          into s: UnsafeMutablePointer<Float>) {
        tc_bn_squares(rows, Int32(c), x, mean, s)
    }
    /// y = (x - mean) * scale + shift, then ReLU if asked
    @inlinable public static func normalize(rows: Int, channels c: Int, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                            scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, relu: Bool,
                                            y: UnsafeMutablePointer<Float>) {
        tc_bn_normalize(rows, Int32(c), x, mean, scale, shift, relu ? 1 : 0, y)
    }
    /// g1 = sum dy, g2 = sum dy * xhat (this shard's; they are also its dbeta and dgamma)
    @inlinable public static func backwardSums(rows: Int, channels c: Int, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                               invStd: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                               g1: UnsafeMutablePointer<Float>, g2: UnsafeMutablePointer<Float>) {
        tc_bn_backward_sums(rows, Int32(c), x, mean, invStd, dy, g1, g2)
    }
    /// dx = k (dy - g1/n - xhat g2/n) with the minibatch's g1, g2 over its n rows, k = gamma * invStd
    @inlinable public static func backwardData(rows: Int, channels c: Int, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                               invStd: UnsafePointer<Float>, k: UnsafePointer<Float>, g1: UnsafePointer<Float>,
                                               g2: UnsafePointer<Float>, totalRows n: Int, dy: UnsafePointer<Float>,
                                               dx: UnsafeMutablePointer<Float>) {
        tc_bn_backward_data(rows, Int32(c), x, mean, invStd, k, g1, g2, 1 / Float(n), dy, dx)
    }
}
