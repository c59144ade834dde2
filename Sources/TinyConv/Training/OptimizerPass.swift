/// The end of a training step: each shard's parameter gradients sit in their own
/// buffer; this sums them in a fixed tree order per element and applies SGD with
/// momentum. The parameter vector is cut into work items of at most `itemFloats`, each
/// inside one tensor (so L2 applies to a whole item or not at all); workers take items
/// round-robin. Every buffer is allocated here, once.
final class OptimizerPass: @unchecked Sendable {
    struct Item {
        let range: Range<Int>
        let regularized: Bool
        /// Where each shard's gradient for this range starts.
        let sources: UnsafeMutablePointer<UnsafePointer<Float>?>
    }
    static let itemFloats = 8192

    let network: Network
    /// One parameter-gradient vector per shard of the largest batch, back to back
    /// ([shard][parameter]), so a distributed run can exchange whole ranges of shards.
    let shardGradients: FloatBuffer
    let maxShards: Int
    let gradient: FloatBuffer
    let items: [Item]

    /// Shard s's gradient vector.
    func shardGradient(_ s: Int) -> UnsafeMutablePointer<Float> { shardGradients.pointer + s * network.parameterCount }

    init(network: Network, maxShards: Int) {
        self.network = network
        self.maxShards = maxShards
        shardGradients = FloatBuffer(count: maxShards * network.parameterCount)
        gradient = FloatBuffer(count: network.parameterCount)
        var items: [Item] = []
        for t in network.tensors {
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

    /// Fixed-tree sum of the first `shards` shard gradients and the SGD update, for one item.
    func update(item k: Int, shards: Int, hyper: MinibatchScheduler.Hyperparameters) {
        let item = items[k]
        let lo = item.range.lowerBound, n = item.range.count
        GradientSumKernel.sum(count: n, sources: shards, src: item.sources, dst: gradient.pointer + lo)
        SGDKernel.step(count: n, lr: hyper.learningRate, momentum: hyper.momentum, l2: item.regularized ? hyper.l2 : 0,
                       weights: network.parameters.pointer + lo, velocity: network.velocity.pointer + lo,
                       gradient: gradient.pointer + lo)
    }
}
