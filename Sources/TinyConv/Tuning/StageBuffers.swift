/// Whole-batch activations and gradients for every layer of a plan, filled with
/// deterministic values in [-0.5, 0.5), for timing stages outside a training step (the tuner,
/// `bench kernels`, the package benchmarks).
public final class StageBuffers: @unchecked Sendable {
    let plan: ExecutionPlan
    let batch: Int
    let activations: [FloatBuffer], gradients: [FloatBuffer]
    let parameterGradients: FloatBuffer, scratch: FloatBuffer
    let mask: UnsafeMutablePointer<UInt8>

    public init(plan: ExecutionPlan, batch: Int) {
        self.plan = plan
        self.batch = batch
        var seed: UInt64 = 7
        func random(_ n: Int) -> FloatBuffer { .pattern(count: n, seed: &seed) }
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

    public func context(stage: any PlanStage) -> StageContext {
        let i = stage.layers.lowerBound, o = stage.layers.upperBound + 1
        let offset = plan.network.parameterOffsets[i]
        return StageContext(count: batch, firstSample: 0, x: activations[i].pointer, y: activations[o].pointer,
                            dx: i == 0 ? nil : gradients[i].pointer, dy: gradients[o].pointer,
                            parameters: plan.network.parameters.pointer + offset, gradients: parameterGradients.pointer + offset,
                            scratch: scratch.pointer, mask: mask, seed: 1, step: 1, training: true)
    }
}
