/// Which shards of a step each process computes in a data-parallel run: rank r of P takes
/// the contiguous range [S*r/P, S*(r+1)/P) of the step's S shards (empty when P > S).
public enum ShardPartition {
    public static func range(rank: Int, ranks: Int, shards: Int) -> Range<Int> {
        (shards * rank / ranks)..<(shards * (rank + 1) / ranks)
    }
}

/// Data-parallel training across processes: after each rank computed its shards'
/// gradients, `exchange` gives every rank every shard's gradient vector and loss figures
/// (their bytes, unchanged), so all ranks run the same fixed-tree sum and SGD update and
/// hold bit-identical weights, equal to a single process's (docs/distributed.md).
public protocol ShardExchange: AnyObject {
    var rank: Int { get }
    var ranks: Int { get }
    /// gradients: [shards][floatsPerShard], stats: [shards][2]; on entry each rank's own
    /// range is filled, on return every range is. A failure (a rank died or hangs) ends the
    /// process with a one-line error: there is no way to go on.
    func exchange(gradients: UnsafeMutablePointer<Float>, floatsPerShard: Int, stats: UnsafeMutablePointer<Double>, shards: Int)
    /// Partial batch statistics [shards][floatsPerShard] (batch normalization), the same way.
    func exchange(statistics: UnsafeMutablePointer<Float>, floatsPerShard: Int, shards: Int)
}
