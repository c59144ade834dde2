/// Everything one shard of a minibatch needs for a forward and backward pass: every
/// layer's activations and their gradients, stage scratch, dropout masks and labels.
/// (Parameter gradients live per shard in `OptimizerPass`.) Allocated once; a step
/// allocates nothing.
public final class ShardWorkspace: @unchecked Sendable {
    public let capacity: Int                 // samples
    let activations: [FloatBuffer]           // [0] = input, [i+1] = output of layer i
    let activationGradients: [FloatBuffer]   // same shapes; [0] unused (no input gradient)
    let masks: [UnsafeMutablePointer<UInt8>] // per layer, for the stage ending there: its mask bytes (1 byte elsewhere)
    let scratch: FloatBuffer
    let probabilities: FloatBuffer
    let labels: UnsafeMutablePointer<Int32>

    public init(plan: ExecutionPlan) {
        let network = plan.network
        capacity = plan.capacity
        // A layer output inside a fused stage is never stored: no buffer.
        let sizes = [network.inputShape.count] + network.resolved.map { plan.stageEnding(atLayer: $0.index) == nil ? 0 : $0.output.count }
        activations = sizes.map { FloatBuffer(count: $0 * plan.capacity) }
        activationGradients = sizes.enumerated().map { FloatBuffer(count: $0.offset == 0 ? 0 : $0.element * plan.capacity) }
        masks = network.resolved.map { r in
            let n = max(1, (plan.stageEnding(atLayer: r.index)?.maskBytesPerSample ?? 0) * plan.capacity)
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        scratch = FloatBuffer(count: plan.scratchFloats)
        probabilities = FloatBuffer(count: plan.capacity * network.classes)
        labels = UnsafeMutablePointer<Int32>.allocate(capacity: plan.capacity)
        labels.initialize(repeating: 0, count: plan.capacity)
    }

    deinit {
        masks.forEach { $0.deallocate() }
        labels.deallocate()
    }

    public var input: UnsafeMutablePointer<Float> { activations[0].pointer }
    public var logits: UnsafeMutablePointer<Float> { activations[activations.count - 1].pointer }
    /// Gradient of the loss with respect to the logits.
    var logitGradients: UnsafeMutablePointer<Float> { activationGradients[activationGradients.count - 1].pointer }

    /// Context for a stage covering layers [first...last] on `count` samples starting at
    /// batch position `firstSample`; `gradients` is the shard's parameter-gradient vector.
    func context(_ network: Network, layers: ClosedRange<Int>, count: Int, firstSample: Int,
                 gradients: UnsafeMutablePointer<Float>, seed: UInt64, step: UInt64, training: Bool) -> StageContext {
        let i = layers.lowerBound, o = layers.upperBound + 1
        return StageContext(count: count, firstSample: firstSample, x: activations[i].pointer, y: activations[o].pointer,
                            dx: i == 0 ? nil : activationGradients[i].pointer, dy: activationGradients[o].pointer,
                            parameters: network.parameters.pointer + network.parameterOffsets[i],
                            gradients: gradients + network.parameterOffsets[i],
                            scratch: scratch.pointer, mask: masks[layers.upperBound], seed: seed, step: step, training: training)
    }
}
