/// How the ranks of a data-parallel run combine their gradients (docs/distributed.md).
public enum GradientExchange: String, CaseIterable, Sendable {
    /// Every rank receives every other rank's shard gradient vectors and sums all S shards
    /// itself: (S - own shards) x parameters x 4 bytes per rank per step, growing with the batch.
    case gather
    /// Each rank sums its own subtree of the single-process reduction tree; the subtrees'
    /// sums are combined along the same tree (reduce to rank 0), then broadcast: at most
    /// (log2 P + 1) x parameters x 4 bytes per rank per step, whatever the batch.
    case tree

    /// One line for a run's header.
    public var summary: String {
        switch self {
        case .gather: return "gather exchange: rank r computes shards [S*r/P, S*(r+1)/P), every rank receives every other's shard gradients"
        case .tree: return "tree exchange: each rank computes a subtree of the shard reduction, subtree sums go up the tree to rank 0, which broadcasts the total"
        }
    }
}

/// Which shards of a step each process computes in a data-parallel run.
public enum ShardPartition {
    /// gather: rank r of P takes the contiguous range [S*r/P, S*(r+1)/P) of the step's S
    /// shards (empty when P > S).
    public static func range(rank: Int, ranks: Int, shards: Int) -> Range<Int> {
        (shards * rank / ranks)..<(shards * (rank + 1) / ranks)
    }

    /// The shards a rank computes under an exchange algorithm.
    public static func range(rank: Int, ranks: Int, shards: Int, exchange: GradientExchange) -> Range<Int> {
        switch exchange {
        case .gather: return range(rank: rank, ranks: ranks, shards: shards)
        case .tree: return TreeSchedule(rank: rank, ranks: ranks, shards: shards).range
        }
    }
}

/// A rank's part of the tree exchange. The single-process reduction (tc_sum_buffers) sums the
/// shards [lo, hi) as sum(lo, mid) + sum(mid, hi), mid = lo + (hi - lo) / 2, down to single
/// shards. The ranks are laid on that tree: a group of g ranks on a node splits into g/2 ranks
/// for the left half and g - g/2 for the right (which has as many shards or one more); a group
/// whose node is one shard gives it to its first rank (the others get none); a single rank takes
/// the whole node. So every rank's range is a node of the tree, and the node sums combine
/// bottom-up exactly as in one process: the left group's first rank receives the right group's
/// sum from that group's first rank and adds it on its right. Rank 0 ends with the total and
/// broadcasts it. For P a power of two dividing S the shares are equal; otherwise uneven
/// (a rank computes at most twice another's shards).
public struct TreeSchedule: Equatable, Sendable {
    /// The shards this rank computes (a node of the tree; empty for some ranks when P > S).
    public var range: Range<Int>
    /// The ranks whose node sums this rank adds on its right, in order (deepest first).
    public var receives: [Int] = []
    /// The rank this rank sends its sum to, after its receives (nil for rank 0 and idle ranks).
    public var parent: Int?

    public init(rank: Int, ranks: Int, shards: Int) {
        precondition(ranks >= 1 && rank >= 0 && rank < ranks && shards >= 0)
        range = 0..<0
        Self.walk(first: 0, count: ranks, lo: 0, hi: shards, rank: rank, into: &self)
    }

    private static func walk(first: Int, count: Int, lo: Int, hi: Int, rank: Int, into s: inout TreeSchedule) {
        guard rank >= first && rank < first + count else { return }
        if count == 1 || hi - lo <= 1 {
            s.range = rank == first ? lo..<hi : hi..<hi
            return
        }
        let mid = lo + (hi - lo) / 2, left = count / 2
        walk(first: first, count: left, lo: lo, hi: mid, rank: rank, into: &s)
        walk(first: first + left, count: count - left, lo: mid, hi: hi, rank: rank, into: &s)
        if rank == first { s.receives.append(first + left) }  // after the children: bottom-up
        if rank == first + left { s.parent = first }
    }
}

/// Data-parallel training across processes (docs/distributed.md). gather: `exchange` gives
/// every rank every shard's gradient vector and loss figures (their bytes, unchanged), so all
/// ranks run the same fixed-tree sum. tree: the scheduler sums its own shards, then moves node
/// sums with `send`/`receive` along its `TreeSchedule` and `broadcast`s rank 0's total. Either
/// way every rank holds bit-identical weights, equal to a single process's. A failure (a rank
/// died or hangs) ends the process with a one-line error: there is no way to go on.
public protocol ShardExchange: AnyObject {
    var rank: Int { get }
    var ranks: Int { get }
    var algorithm: GradientExchange { get }
    /// Bytes this process has received from the others so far (what the network carried to it).
    var bytesReceived: Int { get }
    /// gather: gradients [shards][floatsPerShard], stats [shards][2]; on entry each rank's own
    /// range is filled, on return every range is.
    func exchange(gradients: UnsafeMutablePointer<Float>, floatsPerShard: Int, stats: UnsafeMutablePointer<Double>, shards: Int)
    /// The loss figures alone, [shards][2], the same way (tree: the gradients move separately).
    func exchange(stats: UnsafeMutablePointer<Double>, shards: Int)
    /// Partial batch statistics [shards][floatsPerShard] (batch normalization), the same way.
    func exchange(statistics: UnsafeMutablePointer<Float>, floatsPerShard: Int, shards: Int)
    func send(_ floats: UnsafePointer<Float>, count: Int, to rank: Int)
    func receive(_ floats: UnsafeMutablePointer<Float>, count: Int, from rank: Int)
    /// Rank 0's `count` floats, on every rank.
    func broadcast(_ floats: UnsafeMutablePointer<Float>, count: Int)
    /// This rank's tree schedule for a step of `shards` shards (kept: a step allocates nothing).
    func treeSchedule(_ shards: Int) -> TreeSchedule
}

extension ShardExchange {
    /// The shards this rank computes in a step of `shards` shards.
    public func localShards(_ shards: Int) -> Range<Int> {
        algorithm == .tree ? treeSchedule(shards).range : ShardPartition.range(rank: rank, ranks: ranks, shards: shards)
    }

    /// The bytes this rank receives in one step (gradients and loss figures; batch statistics
    /// aside), by the algorithm's formula: what `bench` prints beside the measured count.
    public func bytesPerStep(parameters: Int, shards: Int) -> Int {
        let own = localShards(shards).count, stats = 16 * (shards - own)
        switch algorithm {
        case .gather: return 4 * parameters * (shards - own) + stats
        case .tree:
            let s = treeSchedule(shards)
            return 4 * parameters * (s.receives.count + (rank == 0 ? 0 : 1)) + stats
        }
    }
}
