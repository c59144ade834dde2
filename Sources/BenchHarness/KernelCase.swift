import TinyConv

/// One kernel call of one plan stage at a model's layer shape, with its buffers allocated,
/// ready to be timed repeatedly (package-benchmark suite and `bench kernels` share these).
/// Built from the execution plan, so every layer kind is covered without a switch on kinds.
public struct KernelCase: @unchecked Sendable {
    public enum Direction: String, Sendable, CaseIterable {
        case forward, backward
        case backwardData = "backward-data", backwardWeights = "backward-weights"
    }
    public let name: String         // e.g. "custom/conv1 5x5 1->120 forward"
    public let layer: String        // e.g. "custom/conv1"
    public let direction: Direction
    public let flops: Double        // per call
    public let run: () -> Void

    /// Every stage of the zoo's models but regularized LeNet-5 (same shapes as LeNet-5) (each
    /// distinct stage shape once, named after its first model), forward and backward; a
    /// stage whose backward is two kernels is timed as backward-data and backward-weights.
    /// choices: each model's plan choices (KernelTuner; the rules by default).
    public static func modelLayers(batch: Int, fuseLayers: Bool = true,
                                   choices: (Network) throws -> PlanChoices = { _ in .rules }) throws -> [KernelCase] {
        var out: [KernelCase] = []
        var seen = Set<String>()
        for (model, text) in ModelZoo.named where model != "regularized-lenet5" {
            let network = try Network(spec: try NetworkSpec.parse(text), seed: 7)
            let plan = try ExecutionPlan(network: network, capacity: batch, fuseLayers: fuseLayers, choices: try choices(network))
            let buffers = StageBuffers(plan: plan, batch: batch)
            for (i, stage) in plan.stages.enumerated() {
                let first = network.resolved[stage.layers.lowerBound], last = network.resolved[stage.layers.upperBound]
                let label = "\(stage.label) \(first.unit.token) \(first.input)->\(last.output)"
                if seen.contains(label) { continue }
                seen.insert(label)
                let c = buffers.context(stage: stage)
                let flops = plan.flopsPerSample(stage: i)
                let perBatch = (forward: flops.forward * Double(batch), backward: flops.backward * Double(batch))
                func add(_ d: Direction, _ f: Double, _ body: @escaping (StageContext) -> Void) {
                    out.append(KernelCase(name: "\(model)/\(label) \(d.rawValue)", layer: "\(model)/\(stage.label)", direction: d,
                                          flops: f, run: { withExtendedLifetime(buffers) { body(c) } }))  // c points into buffers
                }
                add(.forward, perBatch.forward) { stage.forward($0) }
                if let split = stage as? any SplitBackwardStage {
                    let data = stage.layers.lowerBound == 0 ? 0 : perBatch.forward  // first layer: no input gradient
                    if data > 0 { add(.backwardData, data) { split.backwardData($0) } }
                    add(.backwardWeights, perBatch.backward - data) { split.backwardParameters($0) }
                } else {
                    add(.backward, perBatch.backward) { stage.backward($0) }
                }
            }
        }
        return out
    }

    /// Median seconds per call over `repeats` timed runs of `inner` calls each.
    public func time(repeats: Int = 7, minSeconds: Double = 0.02) -> Double {
        precondition(repeats >= 1)
        run()
        var inner = 1
        while true {
            let t0 = monotonicNanos()
            for _ in 0..<inner { run() }
            let dt = Double(monotonicNanos() - t0) * 1e-9
            if dt >= minSeconds || inner > 1 << 20 { break }
            inner *= 2
        }
        var samples: [Double] = []
        for _ in 0..<repeats {
            let t0 = monotonicNanos()
            for _ in 0..<inner { run() }
            samples.append(Double(monotonicNanos() - t0) * 1e-9 / Double(inner))
        }
        return Statistics.median(samples)
    }
}

