/// The end of a training step: each shard's parameter gradients sit in their own
/// buffer; this sums them in a fixed tree order per element and applies the update (SGD
/// with momentum, or AdamW). The parameter vector is cut into work items of at most `itemFloats`, each
/// inside one tensor (so L2 applies to a whole item or not at all); workers take items
/// round-robin. Every buffer is allocated here, once.
final class OptimizerPass: @unchecked Sendable {
    struct Item {
        let range: Range<Int>
        let regularized: Bool
        /// Where each shard's gradient for this range starts.
        let sources: UnsafeMutablePointer<UnsafePointer<Float>?>
    }
    /// Small enough that 16 workers share LeNet-5's 62k parameters evenly, large enough that
    /// a worker's item streams through whole cache lines and vectors.
    static let itemFloats = 2048

    let network: Network
    /// One parameter-gradient vector per shard of the largest batch, back to back
    /// ([shard][parameter]), so a distributed run can exchange whole ranges of shards.
    let shardGradients: FloatBuffer
    let maxShards: Int
    let gradient: FloatBuffer
    /// Where the update reads a gradient summed before it (`update` with shards nil): the
    /// gradient buffer, or the buffer the online tree left the total in.
    var summed: UnsafeMutablePointer<Float>
    let items: [Item]

    /// Shard s's gradient vector.
    func shardGradient(_ s: Int) -> UnsafeMutablePointer<Float> { shardGradients.pointer + s * network.parameterCount }

    init(network: Network, maxShards: Int) {
        self.network = network
        self.maxShards = maxShards
        shardGradients = FloatBuffer(count: maxShards * network.parameterCount)
        gradient = FloatBuffer(count: network.parameterCount)
        summed = gradient.pointer
        var items: [Item] = []
        for t in network.tensors where t.tensor.trainable {  // state no optimizer moves is skipped
            for start in stride(from: t.range.lowerBound, to: t.range.upperBound, by: Self.itemFloats) {
                let table = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: maxShards)
                for s in 0..<maxShards { table[s] = UnsafePointer(shardGradients.pointer + s * network.parameterCount + start) }
                items.append(Item(range: start..<min(t.range.upperBound, start + Self.itemFloats),
                                  regularized: t.tensor.regularized, sources: table))
            }
        }
        self.items = items
    }

    deinit { items.forEach { $0.sources.deallocate() } }

    /// Fixed-tree sum of the shard gradients `shards` into the gradient buffer, for one item
    /// (the whole step's shards, or one rank's node of the tree: the same tree below it).
    func sum(item k: Int, shards: Range<Int>) {
        let item = items[k]
        GradientSumKernel.sum(count: item.range.count, sources: shards.count, src: item.sources + shards.lowerBound,
                              dst: gradient.pointer + item.range.lowerBound)
    }

    /// The sum of `shards` (nil: `summed` holds it already) and the update, for one item.
    func update(item k: Int, shards: Range<Int>?, hyper: MinibatchScheduler.Hyperparameters) {
        let item = items[k]
        let lo = item.range.lowerBound, n = item.range.count
        let gradient = shards == nil ? summed : self.gradient.pointer
        if let shards { sum(item: k, shards: shards) }
        let o = hyper.optimizer
        switch o.kind {
        case .sgd:
            SGDKernel.step(count: n, lr: hyper.learningRate, momentum: hyper.momentum, l2: item.regularized ? hyper.l2 : 0,
                           weights: network.parameters.pointer + lo, velocity: network.velocity.pointer + lo,
                           gradient: gradient + lo)
        case .adamw:
            let g = gradient + lo, w = network.parameters.pointer + lo
            if item.regularized && hyper.l2 > 0 {  // the spec's L2 on the loss: g += 2 lambda w
                let twice = 2 * hyper.l2
                for j in 0..<n { g[j] += twice * w[j] }
            }
            AdamWKernel.step(count: n, lr: hyper.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon,
                             weightDecay: item.regularized ? o.weightDecay : 0, t: hyper.adamStep, weights: w,
                             m: network.velocity.pointer + lo, v: network.secondMoment.pointer + lo, gradient: g)
        }
    }
}
