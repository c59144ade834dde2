/// A kernel family with a weight tensor and a bias: y = relu?(x * W + b), its input
/// gradient and its weight/bias gradient (conv and dense layers).
public protocol LinearKernel: Sendable {
    var workspaceFloats: Int { get }
    func forward(batch n: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 y: UnsafeMutablePointer<Float>, relu: Bool, workspace: UnsafeMutablePointer<Float>)
    func backwardData(batch n: Int, dy: UnsafePointer<Float>, weights: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                      workspace: UnsafeMutablePointer<Float>)
    func backwardWeights(batch n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                         db: UnsafeMutablePointer<Float>?, accumulate: Bool, workspace: UnsafeMutablePointer<Float>)
    /// The weight gradient of output channels `columns` alone (the bits of the whole call).
    func backwardWeights(batch n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                         db: UnsafeMutablePointer<Float>?, accumulate: Bool, workspace: UnsafeMutablePointer<Float>,
                         columns: Range<Int>)
    /// Whether that split exists for this shape.
    var weightGradientSplits: Bool { get }
}

extension Conv2DKernel: LinearKernel {}
extension DenseKernel: LinearKernel {}

/// The plan stage of a conv or dense layer: parameters are weights then biases; the ReLU
/// after the layer is fused into the forward GEMM's epilogue, and its backward is applied
/// here unless the plan gave it to the next stage.
final class LinearStage<Kernel: LinearKernel>: SplitBackwardStage, PiecewiseStage {
    let label: String
    let layers: ClosedRange<Int>
    let kernel: Kernel
    let relu: Bool
    let weightCount, outputCount, inputCount, outputChannels: Int
    let decisions: StageDecisions

    init(_ layer: ResolvedLayer, kernel: Kernel, decisions: StageDecisions) {
        (label, layers, self.kernel, self.decisions) = (layer.name, layer.index...layer.index, kernel, decisions)
        relu = layer.relu
        weightCount = layer.weightCount
        outputCount = layer.output.count
        inputCount = layer.input.count
        outputChannels = layer.output.channels
    }
    var scratchFloats: Int { kernel.workspaceFloats }

    // y [n][out] = relu?(x [n][in] * W + b)
    func forward(_ c: StageContext) {
        kernel.forward(batch: c.count, x: c.x, weights: c.parameters, bias: c.parameters + weightCount, y: c.y, relu: relu,
                       workspace: c.scratch)
    }
    func backward(_ c: StageContext) {
        if relu && !decisions.reluBackwardDoneByNext {  // through the fused ReLU, in place
            ReLUKernel.backward(count: c.count * outputCount, y: c.y, dy: c.dy, dx: c.dy)
        }
        backwardParameters(c)
        backwardData(c)
    }
    func backwardParameters(_ c: StageContext) {
        kernel.backwardWeights(batch: c.count, x: c.x, dy: c.dy, dw: c.gradients, db: c.gradients + weightCount,
                               accumulate: false, workspace: c.scratch)
    }
    func backwardData(_ c: StageContext) {
        if let dx = c.dx { kernel.backwardData(batch: c.count, dy: c.dy, weights: c.parameters, dx: dx, workspace: c.scratch) }
    }

    // Pieces: a conv's forward and input gradient by images, a dense layer's by features (its
    // shard is a few rows: every row piece would read all the weights); the weight gradient by
    // output channels (whole vectors), beside the input gradient in one phase, after the ReLU
    // backward that both read.
    private var dense: DenseKernel? { kernel as? DenseKernel }
    func forwardPieces(images: Int, budget: Int) -> [StagePiece] {
        if dense != nil { return StagePiece.channelRanges(outputChannels, pieces: budget, multiple: 16).map { .outputColumns($0) } }
        return StagePiece.ranges(images, pieces: budget).map { .images($0) }
    }
    func backwardPhases(images: Int, budget: Int, inputGradient: Bool) -> [[StagePiece]] {
        var phases: [[StagePiece]] = []
        if relu && !decisions.reluBackwardDoneByNext {
            phases.append(StagePiece.ranges(images, pieces: budget).map { .reluBackward($0) })
        }
        let weightBudget = inputGradient ? max(1, budget / 2) : budget
        let columns = kernel.weightGradientSplits
            ? StagePiece.channelRanges(outputChannels, pieces: weightBudget, multiple: 16) : [0..<outputChannels]
        var last = columns.map { StagePiece.weightColumns($0) }
        if inputGradient {
            let rest = max(1, budget - columns.count)
            last += dense != nil ? StagePiece.channelRanges(inputCount, pieces: rest, multiple: 16).map { .inputColumns($0) }
                                 : StagePiece.ranges(images, pieces: rest).map { .inputGradient($0) }
        }
        phases.append(last)
        return phases
    }
    func forward(_ c: StageContext, piece: StagePiece) {
        switch piece {
        case .images(let r): forward(c.images(r, inputFloats: inputCount, outputFloats: outputCount, maskBytes: 0))
        case .outputColumns(let cols):
            dense!.forward(batch: c.count, x: c.x, weights: c.parameters, bias: c.parameters + weightCount, y: c.y, relu: relu,
                           workspace: c.scratch, columns: cols)
        default: forward(c)
        }
    }
    func backward(_ c: StageContext, piece: StagePiece) {
        switch piece {
        case .whole, .images, .outputColumns: backward(c)
        case .inputColumns(let cols):
            if let dx = c.dx { dense!.backwardData(batch: c.count, dy: c.dy, weights: c.parameters, dx: dx, workspace: c.scratch, columns: cols) }
        case .reluBackward(let r):
            let p = c.images(r, inputFloats: inputCount, outputFloats: outputCount, maskBytes: 0)
            ReLUKernel.backward(count: p.count * outputCount, y: p.y, dy: p.dy, dx: p.dy)
        case .inputGradient(let r):
            backwardData(c.images(r, inputFloats: inputCount, outputFloats: outputCount, maskBytes: 0))
        case .weightColumns(let cols):
            kernel.backwardWeights(batch: c.count, x: c.x, dy: c.dy, dw: c.gradients,
                                   db: cols.lowerBound == 0 ? c.gradients + weightCount : nil, accumulate: false,
                                   workspace: c.scratch, columns: cols)
        }
    }
}
