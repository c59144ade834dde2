/// The stages the scheduler runs per shard, built once per network and shard capacity:
/// where fusion decisions and per-stage algorithm choices live. Every kernel shape is
/// checked here, so the stages call their kernels unchecked.
///
/// Fusions: a conv + ReLU + max pool is one stage (`ConvMaxPoolStage`: the conv's activation
/// is never stored whole) unless `choices` says the two run faster apart on this machine;
/// otherwise a conv's (or dense's) ReLU backward is done by a following max pool (the pool's
/// backward drops the gradient where the window max is not positive: one pass fewer over the
/// gradient). Fused and unfused plans give the same bits; `fuseLayers: false` keeps one stage
/// per layer (to measure what the fusion buys). `choices` (KernelTuner) also gives each conv
/// and dense layer its kernels' algorithm; layers it does not name run the shape rules.
public final class ExecutionPlan: @unchecked Sendable {
    public let network: Network
    /// Largest shard the stages run on.
    public let capacity: Int
    public let stages: [any PlanStage]
    public let choices: PlanChoices

    public init(network: Network, capacity: Int, fuseLayers: Bool = true, choices: PlanChoices = .rules) throws {
        precondition(capacity > 0, "plan capacity must be positive")
        self.network = network
        self.capacity = capacity
        self.choices = choices
        let layers = network.resolved
        var stages: [any PlanStage] = []
        var i = 0
        while i < layers.count {
            let layer = layers[i]
            let algorithm = choices.layers[i]?.algorithm ?? .rule
            if fuseLayers, choices.layers[i]?.fused ?? true, i + 1 < layers.count,
               let fused = try layer.unit.makeFusedStage(layer, next: layers[i + 1], capacity: capacity, algorithm: algorithm) {
                stages.append(fused)
                i += 2
                continue
            }
            var d = StageDecisions(algorithm: algorithm)
            d.reluBackwardDoneByNext = layer.relu && i + 1 < layers.count && layers[i + 1].unit.absorbsPreviousReLUBackward
            d.appliesPreviousReLUBackward = i > 0 && layer.unit.absorbsPreviousReLUBackward && layers[i - 1].relu
            stages.append(try layer.unit.makeStage(layer, capacity: capacity, decisions: d))
            i += 1
        }
        self.stages = stages
    }

    /// The plan as run, stage by stage: label and, for stages of layers with GEMM kernels,
    /// the algorithm (what the train and bench JSON record).
    public var records: [PlanStageRecord] {
        stages.map { st in
            let first = st.layers.lowerBound, layer = network.resolved[first]
            let algorithm = layer.unit.kernelShape(layer, batch: capacity)
                .map { (choices.layers[first]?.algorithm ?? .rule).resolved($0).description }
            return PlanStageRecord(stage: st.label, algorithm: algorithm)
        }
    }

    /// The stage whose output is layer i's output, if any (none for a layer inside a fused stage).
    public func stageEnding(atLayer i: Int) -> (any PlanStage)? { stages.first { $0.layers.upperBound == i } }

    /// Scratch floats the largest stage needs (one scratch buffer per shard workspace).
    public var scratchFloats: Int { stages.reduce(0) { max($0, $1.scratchFloats) } }

    /// FLOPs per sample of a stage (the sum over its layers).
    public func flopsPerSample(stage s: Int) -> (forward: Double, backward: Double) {
        stages[s].layers.reduce((0.0, 0.0)) { acc, i in
            let f = network.resolved[i].flopsPerSample
            return (acc.0 + f.forward, acc.1 + f.backward)
        }
    }

    /// The profile kind of a stage: its layer's kind, or the kinds joined by '+' when fused.
    public func kind(stage s: Int) -> String {
        stages[s].layers.map { network.resolved[$0].kind }.joined(separator: "+")
    }
}

/// One stage of a plan as the JSON reports record it.
public struct PlanStageRecord: Codable, Sendable, Equatable {
    public var stage: String
    /// What runs, forward;backward-data;backward-weights, each variant/tile/blocking
    /// (KernelChoice.description, the rules' picks filled in), or nil for a stage without GEMMs.
    public var algorithm: String?
}
