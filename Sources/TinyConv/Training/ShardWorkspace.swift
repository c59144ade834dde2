import CKernels

/// Everything one shard of a minibatch needs for a forward and backward pass: every
/// layer's activations and their gradients, kernel scratch, dropout masks and labels.
/// (Parameter gradients live per shard in the scheduler.) Allocated once; a step
/// allocates nothing.
public final class ShardWorkspace: @unchecked Sendable {
    public let capacity: Int                 // samples
    let activations: [FloatBuffer]           // [0] = input, [i+1] = output of layer i
    let activationGradients: [FloatBuffer]   // same shapes; [0] unused (no input gradient)
    let masks: [UnsafeMutablePointer<UInt8>]
    let scratch: FloatBuffer
    let probabilities: FloatBuffer
    let labels: UnsafeMutablePointer<Int32>
    // Results of the last pass.
    public var loss: Double = 0
    public var correct: Int = 0

    public init(network: Network, capacity: Int) {
        self.capacity = capacity
        let sizes = [network.inputShape.count] + network.resolved.map(\.output.count)
        activations = sizes.map { FloatBuffer(count: $0 * capacity) }
        activationGradients = sizes.enumerated().map { FloatBuffer(count: $0.offset == 0 ? 0 : $0.element * capacity) }
        masks = network.resolved.map { r in
            let n = r.kind == .dropout ? r.output.count * capacity : 1
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        scratch = FloatBuffer(count: network.layers.reduce(0) { max($0, $1.scratchFloats(count: capacity)) })
        probabilities = FloatBuffer(count: capacity * network.classes)
        labels = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        labels.initialize(repeating: 0, count: capacity)
    }

    deinit {
        masks.forEach { $0.deallocate() }
        labels.deallocate()
    }

    public var input: UnsafeMutablePointer<Float> { activations[0].pointer }
    public var logits: UnsafeMutablePointer<Float> { activations[activations.count - 1].pointer }

    /// Context for layer i on `count` samples starting at batch position `firstSample`.
    func context(_ network: Network, layer i: Int, count: Int, firstSample: Int, gradients: UnsafeMutablePointer<Float>,
                 seed: UInt64, step: UInt64, training: Bool) -> LayerContext {
        LayerContext(count: count, firstSample: firstSample, x: activations[i].pointer, y: activations[i + 1].pointer,
                     dx: i == 0 ? nil : activationGradients[i].pointer, dy: activationGradients[i + 1].pointer,
                     parameters: network.parameters.pointer + network.parameterOffsets[i],
                     gradients: gradients + network.parameterOffsets[i],
                     scratch: scratch.pointer, mask: masks[i], seed: seed, step: step, training: training)
    }
}
