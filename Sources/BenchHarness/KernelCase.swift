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
    public static func modelLayers(batch: Int, fuseLayers: Bool = true) throws -> [KernelCase] {
        var out: [KernelCase] = []
        var seen = Set<String>()
        for (model, text) in ModelZoo.named where model != "regularized-lenet5" {
            let network = try Network(spec: try NetworkSpec.parse(text), seed: 7)
            let plan = try ExecutionPlan(network: network, capacity: batch, fuseLayers: fuseLayers)
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

/// Whole-batch activations and gradients for every layer of a plan, filled with
/// deterministic values in [-0.5, 0.5), for timing stages outside a training step.
final class StageBuffers: @unchecked Sendable {
    let plan: ExecutionPlan
    let batch: Int
    let activations: [FloatBuffer], gradients: [FloatBuffer]
    let parameterGradients: FloatBuffer, scratch: FloatBuffer
    let mask: UnsafeMutablePointer<UInt8>

    init(plan: ExecutionPlan, batch: Int) {
        self.plan = plan
        self.batch = batch
        var seed: UInt64 = 7
        func random(_ n: Int) -> FloatBuffer {
            let b = FloatBuffer(count: n)
            for i in 0..<n {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                b[i] = Float(Int64(bitPattern: seed >> 11) % 2000) / 2000 - 0.5
            }
            return b
        }
        let sizes = [plan.network.inputShape.count] + plan.network.resolved.map(\.output.count)
        activations = sizes.map { random($0 * batch) }
        gradients = sizes.map { random($0 * batch) }
        parameterGradients = FloatBuffer(count: plan.network.parameterCount)
        scratch = FloatBuffer(count: plan.scratchFloats)
        let largest = sizes.max()! * batch
        mask = .allocate(capacity: largest)
        mask.initialize(repeating: 1, count: largest)
    }
    deinit { mask.deallocate() }

    func context(stage: any PlanStage) -> StageContext {
        let i = stage.layers.lowerBound, o = stage.layers.upperBound + 1
        let offset = plan.network.parameterOffsets[i]
        return StageContext(count: batch, firstSample: 0, x: activations[i].pointer, y: activations[o].pointer,
                            dx: i == 0 ? nil : gradients[i].pointer, dy: gradients[o].pointer,
                            parameters: plan.network.parameters.pointer + offset, gradients: parameterGradients.pointer + offset,
                            scratch: scratch.pointer, mask: mask, seed: 1, step: 1, training: true)
    }
}
