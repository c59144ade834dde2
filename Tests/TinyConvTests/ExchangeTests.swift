import Foundation
import Testing
@testable import TinyConv

/// The tree exchange's schedule (every rank a node of the single-process reduction tree, the
/// node sums combined in its order) and both exchanges run by ranks in one process, each on
/// its own network and thread with an in-memory transport: the same bits as one process.
/// scripts/test-distributed.sh runs the same comparison under mpirun.
@Suite("Gradient exchange between ranks")
struct ExchangeTests {
    /// The single-process reduction of shards [lo, hi) as a formula (tc_sum_buffers' tree).
    static func tree(_ lo: Int, _ hi: Int) -> String {
        hi - lo == 1 ? "s\(lo)" : "(\(tree(lo, lo + (hi - lo) / 2))+\(tree(lo + (hi - lo) / 2, hi)))"
    }

    @Test("schedules: ranges partition the shards into tree nodes; the node sums rebuild the one-process formula")
    func schedules() {
        for shards in 1...40 {
            for ranks in 1...12 {
                let all = (0..<ranks).map { TreeSchedule(rank: $0, ranks: ranks, shards: shards) }
                let covered = all.flatMap { Array($0.range) }
                #expect(covered == Array(0..<shards), "S=\(shards) P=\(ranks): ranges \(all.map(\.range))")
                // each rank's value starts as the formula of its node; receives add on the right
                var value = all.map { $0.range.isEmpty ? "" : Self.tree($0.range.lowerBound, $0.range.upperBound) }
                var done = Set<Int>(), pending = Array(0..<ranks)
                while !pending.isEmpty {  // a rank finishes once everything it receives has finished
                    let before = pending.count
                    pending.removeAll { r in
                        guard all[r].receives.allSatisfy(done.contains) else { return false }
                        for from in all[r].receives { value[r] = "(\(value[r])+\(value[from]))" }
                        done.insert(r)
                        return true
                    }
                    #expect(pending.count < before, "S=\(shards) P=\(ranks): the schedule waits on itself")
                    if pending.count == before { break }
                }
                #expect(value[0] == Self.tree(0, shards), "S=\(shards) P=\(ranks)")
                for (r, s) in all.enumerated() {
                    if let p = s.parent { #expect(all[p].receives.contains(r)) }
                    for from in s.receives { #expect(all[from].parent == r) }
                    let depth = ranks <= 1 ? 0 : (ranks - 1).bitWidth - (ranks - 1).leadingZeroBitCount  // ceil(log2 P)
                    #expect(s.receives.count <= depth)
                }
                if ranks.nonzeroBitCount == 1 && shards % ranks == 0 {  // P a power of two dividing S: equal shares
                    #expect(Set(all.map(\.range.count)) == [shards / ranks])
                    #expect(all[0].receives.count == ranks.trailingZeroBitCount)
                }
            }
        }
    }

    @Test("ranks in one process, both exchanges, odd last batches and batch norm: the bits of one process",
          arguments: [("lenet5", 2), ("lenet5", 3), ("lenet5", 4), ("regularized-lenet5", 8), (BatchNormTests.spec, 3)])
    func ranksInOneProcess(_ c: (model: String, ranks: Int)) throws {
        let data = syntheticData(count: 84, seed: 21)  // steps of 32, 32 and 20 samples: 4, 4 and 3 shards (the last of 4)
        @Sendable func train(_ world: InMemoryWorld?, rank: Int) throws -> UInt64 {
            let net = try Network(spec: try ModelZoo.spec(c.model), seed: 5)
            let s = try MinibatchScheduler(network: net, maxBatch: 32, shardSize: 8, threads: 1)
            if let world { s.distributed = InMemoryRank(world, rank: rank) }
            let order = Trainer.permutation(count: data.count, seed: 5, epoch: 0)
            var optimizer = OptimizerSettings()
            optimizer.kind = c.model.contains("bn") ? .adamw : .sgd
            var hyper = MinibatchScheduler.Hyperparameters(learningRate: 0.01, momentum: 0.9, l2: net.spec.l2, optimizer: optimizer)
            data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in order.withUnsafeBufferPointer { ord in
                for (t, start) in stride(from: 0, to: data.count, by: 32).enumerated() {
                    hyper.adamStep = t + 1
                    _ = s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: ord.baseAddress! + start,
                               count: min(32, data.count - start), hyper: hyper, seed: 5, stepIndex: UInt64(t))
                }
            } } }
            return weightHash(net)
        }
        let alone = try train(nil, rank: 0)
        for algorithm in GradientExchange.allCases {
            let world = InMemoryWorld(ranks: c.ranks, algorithm: algorithm)
            let hashes = Locked([UInt64](repeating: 0, count: c.ranks))
            // one thread per rank, all alive at once (the collectives wait for every rank)
            let done = DispatchSemaphore(value: 0)
            for r in 0..<c.ranks {
                Thread {
                    let h = (try? train(world, rank: r)) ?? 0
                    hashes.update { $0[r] = h }
                    done.signal()
                }.start()
            }
            for _ in 0..<c.ranks { done.wait() }
            #expect(hashes.value.allSatisfy { $0 == alone }, "\(c.model), \(c.ranks) ranks, \(algorithm): \(hashes.value) vs \(alone)")
        }
    }
}

/// A value several threads update under a lock.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}

/// The shared state of ranks that run as threads of one process: mailboxes per (from, to) and
/// a barrier for the collectives.
final class InMemoryWorld: @unchecked Sendable {
    let ranks: Int
    let algorithm: GradientExchange
    let cond = NSCondition()
    var mail: [Int: [[Float]]] = [:]
    var bases: [UnsafeMutableRawPointer?]
    var arrived = 0, generation = 0

    init(ranks: Int, algorithm: GradientExchange) {
        (self.ranks, self.algorithm) = (ranks, algorithm)
        bases = Array(repeating: nil, count: ranks)
    }

    func barrier() {
        cond.lock()
        let g = generation
        arrived += 1
        if arrived == ranks { arrived = 0; generation += 1; cond.broadcast() } else { while generation == g { cond.wait() } }
        cond.unlock()
    }
}

final class InMemoryRank: ShardExchange {
    let world: InMemoryWorld
    let rank: Int
    var ranks: Int { world.ranks }
    var algorithm: GradientExchange { world.algorithm }
    var bytesReceived = 0

    init(_ world: InMemoryWorld, rank: Int) { (self.world, self.rank) = (world, rank) }

    func treeSchedule(_ shards: Int) -> TreeSchedule { TreeSchedule(rank: rank, ranks: ranks, shards: shards) }

    /// In place: every rank's own range of [shards][bytes] copied from its buffer into the others'.
    func gather(_ base: UnsafeMutableRawPointer, elementBytes: Int, shards: Int) {
        world.cond.lock(); world.bases[rank] = base; world.cond.unlock()
        world.barrier()
        for r in 0..<ranks where r != rank {
            let range = ShardPartition.range(rank: r, ranks: ranks, shards: shards, exchange: algorithm)
            let offset = range.lowerBound * elementBytes
            (base + offset).copyMemory(from: world.bases[r]! + offset, byteCount: range.count * elementBytes)
            bytesReceived += range.count * elementBytes
        }
        world.barrier()
    }

    func exchange(gradients: UnsafeMutablePointer<Float>, floatsPerShard: Int, stats: UnsafeMutablePointer<Double>, shards: Int) {
        gather(UnsafeMutableRawPointer(gradients), elementBytes: 4 * floatsPerShard, shards: shards)
        exchange(stats: stats, shards: shards)
    }
    func exchange(stats: UnsafeMutablePointer<Double>, shards: Int) {
        gather(UnsafeMutableRawPointer(stats), elementBytes: 16, shards: shards)
    }
    func exchange(statistics: UnsafeMutablePointer<Float>, floatsPerShard: Int, shards: Int) {
        gather(UnsafeMutableRawPointer(statistics), elementBytes: 4 * floatsPerShard, shards: shards)
    }
    func send(_ floats: UnsafePointer<Float>, count: Int, to r: Int) {
        world.cond.lock()
        world.mail[rank * ranks + r, default: []].append(Array(UnsafeBufferPointer(start: floats, count: count)))
        world.cond.broadcast()
        world.cond.unlock()
    }
    func receive(_ floats: UnsafeMutablePointer<Float>, count: Int, from r: Int) {
        world.cond.lock()
        while world.mail[r * ranks + rank, default: []].isEmpty { world.cond.wait() }
        let m = world.mail[r * ranks + rank]!.removeFirst()
        world.cond.unlock()
        precondition(m.count == count)
        m.withUnsafeBufferPointer { floats.update(from: $0.baseAddress!, count: count) }
        bytesReceived += 4 * count
    }
    func broadcast(_ floats: UnsafeMutablePointer<Float>, count: Int) {
        world.cond.lock(); world.bases[rank] = UnsafeMutableRawPointer(floats); world.cond.unlock()
        world.barrier()
        if rank != 0 {
            floats.update(from: world.bases[0]!.assumingMemoryBound(to: Float.self), count: count)
            bytesReceived += 4 * count
        }
        world.barrier()
    }
}
