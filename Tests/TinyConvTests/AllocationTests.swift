import CMallocCounter
import Testing
@testable import TinyConv

/// A steady-state training step allocates nothing: every buffer belongs to the scheduler
/// and was allocated when it was built (Dispatch backend; libomp allocates per region).
/// Checked on an optimized build (scripts/test.sh runs `swift test -c release --filter
/// Allocation`): unoptimized Swift boxes closure contexts that release builds keep on the stack.
@Suite("Allocation-free steps")
struct AllocationTests {
    /// 2 threads: whole shards, merged online; 8 threads: 4 shards as pieces (work below the shard).
    @Test("a Dispatch training step allocates nothing once warm: every zoo model (SGD) at 2 and 8 threads, a bn net (AdamW)",
          arguments: ModelZoo.named.flatMap { m in [2, 8].map { (m.name, OptimizerSettings.Kind.sgd, $0) } }
              + [(BatchNormTests.spec, .adamw, 2)])
    func noAllocations(_ c: (model: String, optimizer: OptimizerSettings.Kind, threads: Int)) throws {
        let model = c.model
        guard tc_test_malloc_calls() >= 0 else {  // under a sanitizer: its runtime owns malloc
            print("allocation check: skipped under a sanitizer (its runtime owns malloc)")
            return
        }
        guard !_isDebugAssertConfiguration() else {
            print("allocation check: skipped in a debug build (scripts/test.sh runs it on a release build)")
            return
        }
        let net = try Network(spec: try ModelZoo.spec(model), seed: 2)
        let s = try MinibatchScheduler(network: net, maxBatch: 32, shardSize: 8, threads: c.threads)
        let data = syntheticData(count: 32, seed: 3)
        let idx = (0..<Int32(32)).map { $0 }
        var optimizer = OptimizerSettings()
        optimizer.kind = c.optimizer
        var hyper = MinibatchScheduler.Hyperparameters(learningRate: 0.01, momentum: 0.9, l2: net.spec.l2, optimizer: optimizer)
        try data.images.withUnsafeBufferPointer { img in
            try data.labels.withUnsafeBufferPointer { lab in
                try idx.withUnsafeBufferPointer { ix in
                    func steps(_ n: Int, from: UInt64) {
                        for t in 0..<n {
                            hyper.adamStep = Int(from) + t + 1
                            _ = s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: ix.baseAddress!, count: 32,
                                       hyper: hyper, seed: 1, stepIndex: from + UInt64(t))
                        }
                    }
                    steps(3, from: 0)  // warm-up: lazy runtime initialization happens here
                    // count this thread and the scheduler's workers (other tests run concurrently)
                    s.pool.run(c.threads, { _, _ in tc_test_malloc_track_this_thread(1) }, nil)
                    let before = tc_test_malloc_calls()
                    steps(20, from: 3)
                    let after = tc_test_malloc_calls()
                    s.pool.run(c.threads, { _, _ in tc_test_malloc_track_this_thread(0) }, nil)
                    #expect(after - before == 0, "\(model), \(c.threads) threads: \(after - before) allocations in 20 steps")
                    print("allocation check: \(model), \(c.threads) threads: \(after - before) allocations in 20 steady-state steps")
                    try #require(after >= before)
                }
            }
        }
    }
}
