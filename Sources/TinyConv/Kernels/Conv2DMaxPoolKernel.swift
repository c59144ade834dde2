import CKernels

/// The fused conv + bias + ReLU + 2x2 max pool (C: tc_conv2d_relu_maxpool_*), for any conv
/// shape whose output is at least 2 x 2. The conv's output is never stored whole: the
/// forward writes the pooled output and one code byte per pooled element (which window
/// element was the maximum, whether it was positive); the backward needs only those codes.
/// x [n][H][W][Cin], w [k][k][Cin][Cout], b [Cout], y and code [n][Ho/2][Wo/2][Cout].
/// `algorithm` picks tiles, blocking and variants of the conv inside (same bits).
public struct Conv2DMaxPoolKernel: Sendable {
    public let shape: ConvShape
    public let algorithm: ConvAlgorithm
    @usableFromInline let c: tc_conv_shape
    @usableFromInline let algo: tc_conv_algo

    /// Whether the fused kernel takes this conv shape (else the plan keeps two stages).
    public static func supports(_ shape: ConvShape) -> Bool { tc_conv2d_relu_maxpool_fusable(shape.c) != 0 }

    public init(_ shape: ConvShape, algorithm: ConvAlgorithm = .rule, name: String = "conv2d_relu_maxpool") throws {
        try shape.validate(name)
        try require(Self.supports(shape), name, "the fused conv + pool needs a conv output of at least 2x2, got \(shape)")
        self.shape = shape
        self.algorithm = algorithm
        c = shape.c
        algo = algorithm.c
    }

    public var workspaceFloats: Int {
        withUnsafePointer(to: algo) { Int(tc_conv2d_relu_maxpool_workspace_floats(c, $0)) }
    }
    /// Pooled outputs (= code bytes) per sample.
    public var pooledPerSample: Int { (shape.outHeight / 2) * (shape.outWidth / 2) * shape.outChannels }

    @inlinable func at(_ n: Int) -> tc_conv_shape {
        assert(n >= 1 && n <= shape.batch, "batch \(n) outside 1...\(shape.batch)")
        var s = c
        s.n = Int32(truncatingIfNeeded: n)
        return s
    }

    /// y = maxpool(relu(conv(x, w) + b)), code = where each maximum came from.
    @inlinable public func forward(batch n: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                   y: UnsafeMutablePointer<Float>, code: UnsafeMutablePointer<UInt8>,
                                   workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_conv2d_relu_maxpool_forward(at(n), $0, x, weights, bias, y, code, workspace) }
    }

    /// dw, db (+)= parameter gradients from the pooled output's gradient dy; dx (if given)
    /// = the input gradient (overwritten).
    @inlinable public func backward(batch n: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                    code: UnsafePointer<UInt8>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                                    dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>, accumulate: Bool,
                                    workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) {
            tc_conv2d_relu_maxpool_backward(at(n), $0, x, weights, code, dy, dx, dw, db, accumulate ? 1 : 0, workspace)
        }
    }
}
