import Benchmark
import BenchHarness
import TinyConv

// One full training step (forward, backward, reduction, SGD) of each model at batch 32
// on 2 threads, after warm-up. mallocCountTotal must read 0: a steady-state step
// allocates nothing (all buffers come from the scheduler, allocated once).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 5, maxDuration: .seconds(2), maxIterations: 500)

    for name in ["lenet5", "regularized-lenet5", "custom", "custom-1x1-then-pool"] {
        for backend in SchedulerBackend.allCases {
            var options = StepBenchmark.Options()
            options.threads = 2
            options.scheduler = backend
            let bench = try! StepBenchmark(models: [(name, try! ModelZoo.spec(name))], options: options)
            Benchmark("training step \(name) batch 32, 2 threads, \(backend.rawValue)") { benchmark in
                for _ in benchmark.scaledIterations { bench.step(variant: 0) }
            }
        }
    }
}
