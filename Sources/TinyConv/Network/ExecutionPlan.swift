/// The stages the scheduler runs per shard, built once per network and shard capacity:
/// where fusion decisions and per-stage algorithm choices live. Every kernel shape is
/// checked here, so the stages call their kernels unchecked.
///
/// Today each stage is one layer; the one fusion is a conv's (or dense's) ReLU backward
/// done by a following max pool (the pool's backward drops the gradient where the window
/// max is not positive: one pass fewer over the conv's output gradient).
public final class ExecutionPlan: @unchecked Sendable {
    public let network: Network
    /// Largest shard the stages run on.
    public let capacity: Int
    public let stages: [any PlanStage]

    public init(network: Network, capacity: Int) throws {
        precondition(capacity > 0, "plan capacity must be positive")
        self.network = network
        self.capacity = capacity
        let layers = network.resolved
        var stages: [any PlanStage] = []
        for (i, layer) in layers.enumerated() {
            var fusion = StageFusion()
            fusion.reluBackwardDoneByNext = layer.relu && i + 1 < layers.count && layers[i + 1].unit.absorbsPreviousReLUBackward
            fusion.appliesPreviousReLUBackward = i > 0 && layer.unit.absorbsPreviousReLUBackward && layers[i - 1].relu
            stages.append(try layer.unit.makeStage(layer, capacity: capacity, fusion: fusion))
        }
        self.stages = stages
    }

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
