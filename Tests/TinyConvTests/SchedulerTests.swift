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
