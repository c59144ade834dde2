import CKernels

/// The one route from Swift to the C convolution kernels. Built once per layer shape
/// (the shape is checked then); the calls after that are unchecked and inlinable, and
/// take any batch up to `shape.batch`. 1x1 convs take the GEMM path inside C.
/// x [n][H][W][Cin], w [k][k][Cin][Cout], b [Cout], y [n][Ho][Wo][Cout].
/// `algorithm` picks tiles, blocking and variants (what the plan's tuner chose; same bits).
public struct Conv2DKernel: Sendable {
    public let shape: ConvShape
    public let algorithm: ConvAlgorithm
    @usableFromInline let c: tc_conv_shape
    @usableFromInline let algo: tc_conv_algo

    public init(_ shape: ConvShape, algorithm: ConvAlgorithm = .rule, name: String = "conv2d") throws {
        try shape.validate(name)
        self.shape = shape
        self.algorithm = algorithm
        c = shape.c
        algo = algorithm.c
    }

    /// Scratch floats any direction needs at the largest batch.
    public var workspaceFloats: Int { shape.workspaceFloats(algorithm) }

    @inlinable func at(_ n: Int) -> tc_conv_shape {
        assert(n >= 1 && n <= shape.batch, "batch \(n) outside 1...\(shape.batch)")
        var s = c
        s.n = Int32(truncatingIfNeeded: n)
        return s
    }

    /// y = relu?(conv(x, w) + b)
    @inlinable public func forward(batch n: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, relu: Bool,
                                   workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_conv2d_forward(at(n), $0, x, weights, bias, y, relu ? 1 : 0, workspace) }
    }

    /// dx [n][H][W][Cin] = input gradient (overwritten).
    @inlinable public func backwardData(batch n: Int, dy: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                        dx: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_conv2d_backward_data(at(n), $0, dy, weights, dx, workspace) }
    }

    /// dw [k][k][Cin][Cout] (+)= weight gradient, db [Cout] (+)= bias gradient.
    @inlinable public func backwardWeights(batch n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                           dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                                           accumulate: Bool, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_conv2d_backward_weights(at(n), $0, x, dy, dw, db, accumulate ? 1 : 0, workspace) }
    }
    /// Whether the weight gradient can be cut into output-channel ranges (not the Cin = 1 path).
    public var weightGradientSplits: Bool { tc_conv2d_backward_weights_splits(c) != 0 }

    /// The weight gradient's output channels `columns` alone: dw [k][k][Cin][columns] (+)=, the
    /// bits of the whole call; db [Cout] whole when given (the piece that starts at 0 passes it).
    @inlinable public func backwardWeights(batch n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                           dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                                           accumulate: Bool, workspace: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        withUnsafePointer(to: algo) {
            tc_conv2d_backward_weights_columns(at(n), $0, x, dy, dw, db, accumulate ? 1 : 0, workspace,
                                               Int32(columns.lowerBound), Int32(columns.upperBound))
        }
    }
}

/// Buffer-checked forms (tests and tools): every count is checked, then the same
/// instance methods run.
extension Conv2DKernel {
    public static func forward(
        _ s: ConvShape, x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        bias b: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>, relu: Bool,
        workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "conv2d_forward"
        let k = try Conv2DKernel(s, name: name)
        try requireCount(x.count, s.inputCount, name, "x")
        try requireCount(w.count, s.weightCount, name, "weights")
        if let b { try requireCount(b.count, s.outChannels, name, "bias") }
        try requireCount(y.count, s.outputCount, name, "y")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        k.forward(batch: s.batch, x: x.baseAddress!, weights: w.baseAddress!, bias: b?.baseAddress, y: y.baseAddress!,
                  relu: relu, workspace: workspace.baseAddress!)
    }

    public static func backwardData(
        _ s: ConvShape, dy: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "conv2d_backward_data"
        let k = try Conv2DKernel(s, name: name)
        try requireCount(dy.count, s.outputCount, name, "dy")
        try requireCount(w.count, s.weightCount, name, "weights")
        try requireCount(dx.count, s.inputCount, name, "dx")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        k.backwardData(batch: s.batch, dy: dy.baseAddress!, weights: w.baseAddress!, dx: dx.baseAddress!,
                       workspace: workspace.baseAddress!)
    }

    public static func backwardWeights(
        _ s: ConvShape, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
        dw: UnsafeMutableBufferPointer<Float>, db: UnsafeMutableBufferPointer<Float>?,
        accumulate: Bool, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "conv2d_backward_weights"
        let k = try Conv2DKernel(s, name: name)
        try requireCount(x.count, s.inputCount, name, "x")
        try requireCount(dy.count, s.outputCount, name, "dy")
        try requireCount(dw.count, s.weightCount, name, "dw")
        if let db { try requireCount(db.count, s.outChannels, name, "db") }
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        k.backwardWeights(batch: s.batch, x: x.baseAddress!, dy: dy.baseAddress!, dw: dw.baseAddress!, db: db?.baseAddress,
                          accumulate: accumulate, workspace: workspace.baseAddress!)
    }
}
