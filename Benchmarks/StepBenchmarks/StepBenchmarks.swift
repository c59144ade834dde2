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
    // Thresholds for `swift package benchmark thresholds check` and baseline comparisons:
    // a Dispatch step may allocate nothing at any percentile; the OpenMP backend's libomp
    // allocates per parallel region (docs/design.md), so it gets no malloc threshold.
    let noAllocations: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p90: 0, .p99: 0, .p100: 0]),
    ]

    for name in ["lenet5", "regularized-lenet5", "custom", "custom-1x1-then-pool"] {
        for backend in SchedulerBackend.allCases {
            var options = StepBenchmark.Options()
            options.threads = 2
            options.scheduler = backend
            let bench = try! StepBenchmark(models: [(name, try! ModelZoo.spec(name))], options: options)
            var configuration = Benchmark.defaultConfiguration
            if backend == .dispatch { configuration.thresholds = noAllocations }
            Benchmark("training step \(name) batch 32, 2 threads, \(backend.rawValue)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations { bench.step(variant: 0) }
            }
        }
    }
}
