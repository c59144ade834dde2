import Foundation
import Synchronization

/// The shard reduction tree (tc_sum_buffers: sum(lo, hi) = sum(lo, mid) + sum(mid, hi),
/// mid = lo + (hi - lo) / 2) merged while the step runs: when a shard's backward ends, its
/// worker walks up the tree; at each node the second child to finish adds the right child's
/// buffer into the left one's (the same addition the whole-tree sum makes there, so the same
/// bits) and goes on up. The right buffer goes back to a free list, so a worker reuses a few
/// warm buffers instead of writing one cold buffer per shard and reading them all back at
/// the update: the per-image cost of a large batch stays that of a small one.
///
/// Used by the Dispatch scheduler's shard-per-worker path of a single process (an MPI
/// exchange, batch statistics, OpenMP regions and pieces keep one buffer per shard and sum
/// them in the update). Layouts and buffers are made once; a step allocates nothing.
final class OnlineGradientTree: @unchecked Sendable {
    /// The tree over S leaves, nodes in post-order: children before parents.
    struct Layout {
        var parent: [Int]        // -1 for the root
        var isLeft: [Bool]
        var sibling: [Int]
        var leaf: [Int]          // shard -> its node
        var root: Int
        init(shards: Int) {
            (parent, isLeft, sibling, leaf, root) = ([], [], [], [Int](repeating: 0, count: shards), 0)
            root = build(0, shards)
        }
        private mutating func build(_ lo: Int, _ hi: Int) -> Int {
            if hi - lo == 1 { leaf[lo] = add(); return leaf[lo] }
            let mid = lo + (hi - lo) / 2
            let l = build(lo, mid), r = build(mid, hi), me = add()
            (parent[l], parent[r], isLeft[l], sibling[l], sibling[r]) = (me, me, true, r, l)
            return me
        }
        private mutating func add() -> Int {
            parent.append(-1); isLeft.append(false); sibling.append(-1)
            return parent.count - 1
        }
    }

    let floats: Int
    let buffers: UnsafeMutablePointer<Float>   // [maxShards][floats]: OptimizerPass's shard gradients
    private var layouts: [Int: Layout] = [:]
    private var layout: Layout
    /// Per node: arrivals of its children this step, and the buffer holding its sum.
    private let arrivals: UnsafeMutablePointer<Atomic<Int>>
    private let nodeBuffer: UnsafeMutablePointer<Int>
    /// Per shard: the buffer its backward writes.
    private let leafBuffer: UnsafeMutablePointer<Int>
    /// The free buffers, a stack under a pthread lock (NSLock: one the thread sanitizer sees;
    /// it does not see Synchronization.Mutex's futex).
    private let freeLock = NSLock()
    private let freeList: UnsafeMutablePointer<Int>
    private var freeCount = 0
    private let maxShards: Int
    /// The buffer with the step's total, once every shard has finished.
    private(set) var rootBuffer = 0

    init(buffers: UnsafeMutablePointer<Float>, floats: Int, maxShards: Int) {
        (self.buffers, self.floats, self.maxShards) = (buffers, floats, maxShards)
        arrivals = .allocate(capacity: 2 * maxShards)
        for i in 0..<2 * maxShards { (arrivals + i).initialize(to: Atomic(0)) }
        nodeBuffer = .allocate(capacity: 2 * maxShards)
        nodeBuffer.initialize(repeating: 0, count: 2 * maxShards)
        leafBuffer = .allocate(capacity: maxShards)
        leafBuffer.initialize(repeating: 0, count: maxShards)
        freeList = .allocate(capacity: maxShards)
        freeList.initialize(repeating: 0, count: maxShards)
        layout = Layout(shards: 1)
    }

    deinit {
        arrivals.deinitialize(count: 2 * maxShards)
        arrivals.deallocate()
        nodeBuffer.deallocate()
        leafBuffer.deallocate()
        freeList.deallocate()
    }

    /// Before a step of `shards` shards (on the calling thread, workers idle).
    func begin(shards: Int) {
        if let l = layouts[shards] { layout = l } else { layout = Layout(shards: shards); layouts[shards] = layout }
        for i in 0..<layout.parent.count { arrivals[i].store(0, ordering: .relaxed) }
        for (i, b) in (0..<maxShards).reversed().enumerated() { freeList[i] = b }  // the lowest buffers first: the warmest
        freeCount = maxShards
    }

    /// The buffer shard s's backward writes (taken from the free list at its first call).
    func buffer(forShard s: Int) -> UnsafeMutablePointer<Float> {
        freeLock.lock()
        freeCount -= 1
        let b = freeList[freeCount]
        freeLock.unlock()
        leafBuffer[s] = b
        return buffers + b * floats
    }

    /// Shard s's gradient is complete: merge up the tree as far as this worker is the later child.
    func finish(shard s: Int) {
        var node = layout.leaf[s], mine = leafBuffer[s]
        while true {
            let p = layout.parent[node]
            if p < 0 { rootBuffer = mine; return }
            nodeBuffer[node] = mine
            if arrivals[p].add(1, ordering: .acquiringAndReleasing).oldValue == 0 { return }  // the sibling will merge
            let other = nodeBuffer[layout.sibling[node]]
            let (left, right) = layout.isLeft[node] ? (mine, other) : (other, mine)
            GradientSumKernel.merge(count: floats, right: buffers + right * floats, into: buffers + left * floats)
            freeLock.lock()
            freeList[freeCount] = right
            freeCount += 1
            freeLock.unlock()
            (node, mine) = (p, left)
        }
    }
}
