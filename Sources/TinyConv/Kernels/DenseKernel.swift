import CKernels

/// Shape of a fully connected layer: x [batch][inputs] * w [inputs][outputs] + b -> y [batch][outputs].
public struct DenseShape: Hashable, Sendable {
    public var batch, inputs, outputs: Int
    public init(batch: Int, inputs: Int, outputs: Int) {
        (self.batch, self.inputs, self.outputs) = (batch, inputs, outputs)
    }
    public var weightCount: Int { inputs * outputs }
    public var macs: Int { batch * inputs * outputs }
    public var workspaceFloats: Int { workspaceFloats(.rule) }
    public func workspaceFloats(_ algorithm: ConvAlgorithm) -> Int {
        withUnsafePointer(to: algorithm.c) { Int(tc_dense_workspace_floats(Int32(batch), Int32(inputs), Int32(outputs), $0)) }
    }
    /// The same product seen as a 1x1 conv over a batch x 1 x 1 x inputs tensor.
    public var asConv: ConvShape { ConvShape(batch: batch, height: 1, width: 1, inChannels: inputs, outChannels: outputs, kernel: 1) }

    public func validate(_ kernel: String = "dense") throws {
        try require(batch > 0 && inputs > 0 && outputs > 0, kernel,
                    "every dimension must be positive, got batch \(batch), \(inputs) -> \(outputs)")
        try require([batch, inputs, outputs].allSatisfy { $0 < Int(Int32.max) }, kernel, "dimensions too large")
    }
}

/// The one route from Swift to the C dense kernels (tc_dense_*): built once per layer
/// shape (checked then), unchecked inlinable calls after, for any batch up to `shape.batch`.
/// x [n][in], w [in][out], b [out], y [n][out].
/// `algorithm` as for the 1x1 conv it is (Conv2DKernel).
public struct DenseKernel: Sendable {
    public let shape: DenseShape
    public let algorithm: ConvAlgorithm
    @usableFromInline let inputs, outputs: Int32
    @usableFromInline let algo: tc_conv_algo

    public init(_ shape: DenseShape, algorithm: ConvAlgorithm = .rule, name: String = "dense") throws {
        try shape.validate(name)
        self.shape = shape
        self.algorithm = algorithm
        (inputs, outputs) = (Int32(shape.inputs), Int32(shape.outputs))
        algo = algorithm.c
    }

    public var workspaceFloats: Int { shape.workspaceFloats(algorithm) }

    @inlinable func at(_ n: Int) -> Int32 {
        assert(n >= 1 && n <= shape.batch, "batch \(n) outside 1...\(shape.batch)")
        return Int32(truncatingIfNeeded: n)
    }

    /// y = relu?(x w + b)
    @inlinable public func forward(batch n: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, relu: Bool,
                                   workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_dense_forward(at(n), inputs, outputs, $0, x, weights, bias, y, relu ? 1 : 0, workspace) }
    }

    /// dx [n][in] = dy w^T (overwritten)
    @inlinable public func backwardData(batch n: Int, dy: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                        dx: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_dense_backward_data(at(n), inputs, outputs, $0, dy, weights, dx, workspace) }
    }

    /// dw [in][out] (+)= x^T dy, db [out] (+)= column sums of dy
    @inlinable public func backwardWeights(batch n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                           dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                                           accumulate: Bool, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: algo) { tc_dense_backward_weights(at(n), inputs, outputs, $0, x, dy, dw, db, accumulate ? 1 : 0, workspace) }
    }
    public var weightGradientSplits: Bool { true }

    /// y [n][columns] = relu?(x w + b) for outputs `columns` alone (the bits of the whole call).
    @inlinable public func forward(batch n: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, relu: Bool,
                                   workspace: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        withUnsafePointer(to: algo) {
            tc_dense_forward_columns(at(n), inputs, outputs, $0, x, weights, bias, y, relu ? 1 : 0, workspace,
                                     Int32(columns.lowerBound), Int32(columns.upperBound))
        }
    }

    /// dx [n][columns] = (dy w^T) for inputs `columns` alone (the bits of the whole call).
    @inlinable public func backwardData(batch n: Int, dy: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                        dx: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>,
                                        columns: Range<Int>) {
        withUnsafePointer(to: algo) {
            tc_dense_backward_data_columns(at(n), inputs, outputs, $0, dy, weights, dx, workspace,
                                           Int32(columns.lowerBound), Int32(columns.upperBound))
        }
    }

    /// dw [in][columns] (+)= (x^T dy) restricted to outputs `columns`, the bits of the whole call;
    /// db [out] whole when given.
    @inlinable public func backwardWeights(batch n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                           dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
                                           accumulate: Bool, workspace: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        withUnsafePointer(to: algo) {
            tc_dense_backward_weights_columns(at(n), inputs, outputs, $0, x, dy, dw, db, accumulate ? 1 : 0, workspace,
                                              Int32(columns.lowerBound), Int32(columns.upperBound))
        }
    }
}

/// Buffer-checked forms (tests and tools): counts checked, then the same instance methods.
extension DenseKernel {
    public static func forward(
        _ s: DenseShape, x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        bias b: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>, relu: Bool,
        workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "dense_forward"
        let k = try DenseKernel(s, name: name)
        try requireCount(x.count, s.batch * s.inputs, name, "x")
        try requireCount(w.count, s.weightCount, name, "weights")
        if let b { try requireCount(b.count, s.outputs, name, "bias") }
        try requireCount(y.count, s.batch * s.outputs, name, "y")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        k.forward(batch: s.batch, x: x.baseAddress!, weights: w.baseAddress!, bias: b?.baseAddress, y: y.baseAddress!,
                  relu: relu, workspace: workspace.baseAddress!)
    }

    public static func backwardData(
        _ s: DenseShape, dy: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "dense_backward_data"
        let k = try DenseKernel(s, name: name)
        try requireCount(dy.count, s.batch * s.outputs, name, "dy")
        try requireCount(w.count, s.weightCount, name, "weights")
        try requireCount(dx.count, s.batch * s.inputs, name, "dx")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        k.backwardData(batch: s.batch, dy: dy.baseAddress!, weights: w.baseAddress!, dx: dx.baseAddress!,
                       workspace: workspace.baseAddress!)
    }

    public static func backwardWeights(
        _ s: DenseShape, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
        dw: UnsafeMutableBufferPointer<Float>, db: UnsafeMutableBufferPointer<Float>?,
        accumulate: Bool, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "dense_backward_weights"
        let k = try DenseKernel(s, name: name)
        try requireCount(x.count, s.batch * s.inputs, name, "x")
        try requireCount(dy.count, s.batch * s.outputs, name, "dy")
        try requireCount(dw.count, s.weightCount, name, "dw")
        if let db { try requireCount(db.count, s.outputs, name, "db") }
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        k.backwardWeights(batch: s.batch, x: x.baseAddress!, dy: dy.baseAddress!, dw: dw.baseAddress!, db: db?.baseAddress,
                          accumulate: accumulate, workspace: workspace.baseAddress!)
    }
}
