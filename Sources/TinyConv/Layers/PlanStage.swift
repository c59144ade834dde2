/// Pointers one stage needs to run on one shard of a minibatch. The kernel shapes were
/// checked when the plan was built, so stages call the kernels unchecked.
public struct StageContext {
    /// Samples in this shard.
    public var count: Int
    /// Index of this shard's first sample within the minibatch (dropout counters).
    public var firstSample: Int
    public var x: UnsafeMutablePointer<Float>        // [count][input]
    public var y: UnsafeMutablePointer<Float>        // [count][output]
    public var dx: UnsafeMutablePointer<Float>?      // [count][input]; nil for the first layer
    public var dy: UnsafeMutablePointer<Float>       // [count][output]; may be overwritten
    public var parameters: UnsafeMutablePointer<Float>  // the stage's tensors, in order
    public var gradients: UnsafeMutablePointer<Float>   // same layout as parameters
    public var scratch: UnsafeMutablePointer<Float>
    public var mask: UnsafeMutablePointer<UInt8>     // [count][maskBytesPerSample]: dropout keep mask, pool codes
    /// Counter-based randomness for this step: (seed, stream) select the dropout mask.
    public var seed: UInt64
    public var step: UInt64
    public var training: Bool

    public init(count: Int, firstSample: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>,
                dx: UnsafeMutablePointer<Float>?, dy: UnsafeMutablePointer<Float>, parameters: UnsafeMutablePointer<Float>,
                gradients: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>,
                seed: UInt64, step: UInt64, training: Bool) {
        (self.count, self.firstSample, self.x, self.y, self.dx, self.dy) = (count, firstSample, x, y, dx, dy)
        (self.parameters, self.gradients, self.scratch, self.mask) = (parameters, gradients, scratch, mask)
        (self.seed, self.step, self.training) = (seed, step, training)
    }
}

/// What the plan decided for a stage when it builds it: the ReLU-backward hand-offs between
/// neighbouring stages and, for a layer with GEMM kernels, the algorithm they run (the shape
/// rules, or what the tuner measured fastest on this machine; the same bits either way).
public struct StageDecisions: Sendable, Equatable {
    /// The next stage applies this layer's ReLU backward (so this one skips it).
    public var reluBackwardDoneByNext = false
    /// This stage applies the previous layer's ReLU backward.
    public var appliesPreviousReLUBackward = false
    /// Tiles, blocking and variants of the layer's kernels.
    public var algorithm = ConvAlgorithm.rule
    public init(reluBackwardDoneByNext: Bool = false, appliesPreviousReLUBackward: Bool = false, algorithm: ConvAlgorithm = .rule) {
        (self.reluBackwardDoneByNext, self.appliesPreviousReLUBackward) = (reluBackwardDoneByNext, appliesPreviousReLUBackward)
        self.algorithm = algorithm
    }
}

/// One step of the execution plan: the kernels one or more layers run on a shard, a
/// forward/backward pair over preallocated buffers.
public protocol PlanStage: AnyObject, Sendable {
    /// The profile label: the layer name, or the names of the layers a fused stage covers.
    var label: String { get }
    /// The network layers this stage computes (input of the first, output of the last).
    var layers: ClosedRange<Int> { get }
    /// Scratch floats for a shard of the plan's capacity.
    var scratchFloats: Int { get }
    /// Bytes per sample the stage keeps from forward to backward in `StageContext.mask`
    /// (dropout's keep mask, a fused pool's window codes).
    var maskBytesPerSample: Int { get }
    func forward(_ c: StageContext)
    /// Writes parameter gradients (overwriting) and, if c.dx != nil, the input gradient.
    func backward(_ c: StageContext)
}

/// A stage whose backward pass is two kernels (input gradient, parameter gradient) that
/// `bench kernels` times one by one.
public protocol SplitBackwardStage: PlanStage {
    func backwardData(_ c: StageContext)
    func backwardParameters(_ c: StageContext)
}

extension PlanStage {
    public var scratchFloats: Int { 0 }
    public var maskBytesPerSample: Int { 0 }
}

/// A stage whose training pass needs statistics of the whole minibatch (batch normalization).
/// The scheduler runs, on every shard, `forwardPartial` for each forward phase, reduces the
/// shards' partials in a fixed tree (and across MPI ranks) and hands the totals to
/// `finishForwardPhase` (serially); then `forward` on every shard. Backward likewise:
/// `backwardPartial` on every shard, the reduction, `finishBackward`, then `backward`. So every
/// shard is normalized with the same statistics whatever the thread, backend and rank count.
/// Outside training, `forward` alone runs (with the layer's running statistics).
public protocol BatchStatisticsStage: PlanStage {
    /// Floats of one shard's partial statistics (in every phase).
    var statisticsFloats: Int { get }
    var forwardPhases: Int { get }
    func forwardPartial(_ phase: Int, _ c: StageContext, partial: UnsafeMutablePointer<Float>)
    /// samples: the minibatch's size; parameters: the stage's tensors (running statistics updated here).
    func finishForwardPhase(_ phase: Int, totals: UnsafePointer<Float>, samples: Int, parameters: UnsafeMutablePointer<Float>)
    func backwardPartial(_ c: StageContext, partial: UnsafeMutablePointer<Float>)
    func finishBackward(totals: UnsafePointer<Float>)
}
