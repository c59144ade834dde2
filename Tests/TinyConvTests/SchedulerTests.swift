import Testing
@testable import TinyConv

@Suite("Scheduler: Dispatch worker pool and shard hand-out")
struct SchedulerTests {
    final class Counters: @unchecked Sendable {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 16)  // one slot per worker
        init() { hits.initialize(repeating: 0, count: 16) }
        deinit { hits.deallocate() }
    }

    @Test("every worker runs exactly once per round, with more workers than cores, over many rounds")
    func poolRounds() {
        for workers in [1, 2, 3, 8] {
            let pool = DispatchWorkerPool(workers: workers)
            let c = Counters()
            let ctx = Unmanaged.passUnretained(c).toOpaque()
            for round in 0..<500 {
                let n = 1 + round % workers
                pool.run(n, { raw, w in
                    Unmanaged<Counters>.fromOpaque(raw!).takeUnretainedValue().hits[w] += 1
                }, ctx)
            }
            pool.shutdown()
            for w in 0..<workers {
                let expected = (0..<500).filter { w < 1 + $0 % workers }.count
                #expect(c.hits[w] == expected, "worker \(w) of \(workers)")
            }
        }
    }

    @Test("more threads than shards, a last shard smaller than the others, batch of one")
    func raggedBatches() throws {
        let net = try Network(spec: try ModelZoo.spec("lenet5"), seed: 5)
        let data = syntheticData(count: 13, seed: 9)
        let idx = (0..<Int32(13)).map { $0 }
        var losses: [Double] = []
        for threads in [1, 4, 8] {
            net.initialize(seed: 5)
            let s = try MinibatchScheduler(network: net, maxBatch: 13, shardSize: 4, threads: threads)
            let r = data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in idx.withUnsafeBufferPointer {
                s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress!, count: 13,
                       hyper: .init(), seed: 1, stepIndex: 0)
            } } }
            #expect(r.count == 13)
            losses.append(r.lossSum)
            let one = data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in idx.withUnsafeBufferPointer {
                s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress!, count: 1,
                       hyper: .init(), seed: 1, stepIndex: 1)
            } } }
            #expect(one.count == 1 && one.lossSum.isFinite)
        }
        #expect(Set(losses).count == 1, "\(losses)")
    }
}

@Suite("Online gradient tree: shard gradients merged as shards finish")
struct OnlineGradientTreeTests {
    @Test("any finishing order gives tc_sum_buffers' bits, and only a few buffers stay in use")
    func anyOrder() {
        let floats = 300, maxShards = 40
        let store = FloatBuffer(count: floats * maxShards)
        let tree = OnlineGradientTree(buffers: store.pointer, floats: floats, maxShards: maxShards)
        var rng = TestRNG(11)
        for shards in [1, 2, 3, 5, 7, 8, 13, 32, 40] {
            // every shard's gradient, kept apart for the reference sum
            let truth = (0..<shards).map { _ in (0..<floats).map { _ in Float(Int(rng.next() % 20001) - 10000) / 777 } }
            let reference = FloatBuffer(count: floats)
            let sources = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: shards)
            let copies = truth.map { FloatBuffer($0) }
            for s in 0..<shards { sources[s] = UnsafePointer(copies[s].pointer) }
            GradientSumKernel.sum(count: floats, sources: shards, src: sources, dst: reference.pointer)
            sources.deallocate()
            for round in 0..<6 {
                var order = Array(0..<shards)
                if round > 0 { for i in order.indices.reversed() { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
                tree.begin(shards: shards)
                var used = Set<Int>()
                for s in order {
                    let b = tree.buffer(forShard: s)
                    used.insert((b - store.pointer) / floats)
                    b.update(from: truth[s], count: floats)
                    tree.finish(shard: s)
                }
                let total = store.pointer + tree.rootBuffer * floats
                #expect((0..<floats).allSatisfy { total[$0].bitPattern == reference.pointer[$0].bitPattern },
                        "\(shards) shards, order \(order)")
                if round == 0 { #expect(used.count <= 1 + Int.bitWidth - shards.leadingZeroBitCount, "\(shards) shards in order: \(used.count) buffers") }
            }
        }
    }

    @Test("13 shards over 1, 2, 3, 5 threads (merged online), 16 threads (pieces) and OpenMP: the same weights")
    func raggedTree() throws {
        let net = try Network(spec: try ModelZoo.spec("lenet5"), seed: 5)
        let data = syntheticData(count: 100, seed: 4)
        let idx = (0..<Int32(100)).map { $0 }
        var hashes: [String: UInt64] = [:]
        for (threads, backend) in [(1, SchedulerBackend.dispatch), (2, .dispatch), (3, .dispatch), (5, .dispatch), (16, .dispatch), (3, .openmp)] {
            net.initialize(seed: 5)
            let s = try MinibatchScheduler(network: net, maxBatch: 100, shardSize: 8, threads: threads, backend: backend)
            for (step, count) in [100, 97, 8, 33].enumerated() {  // 13, 13, 1 and 5 shards
                _ = data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in idx.withUnsafeBufferPointer {
                    s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress!, count: count,
                           hyper: .init(), seed: 1, stepIndex: UInt64(step))
                } } }
            }
            hashes["\(backend)/\(threads)"] = weightHash(net)
        }
        #expect(Set(hashes.values).count == 1, "\(hashes)")
    }
}
