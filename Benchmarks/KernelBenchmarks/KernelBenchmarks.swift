import Benchmark
import Foundation
import BenchHarness
import TinyConv

// Single-thread kernels at the exact layer shapes of LeNet-5 and both Custom variants,
// batch 32. GFLOP/s and % of this machine's measured single-core FMA peak (the probe
// below, on the widest ISA in use) are reported as custom metrics.
let gflopsMetric = BenchmarkMetric.custom("GFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
let peakShareMetric = BenchmarkMetric.custom("% of peak x10", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, gflopsMetric, peakShareMetric],
        warmupIterations: 3, maxDuration: .seconds(1), maxIterations: 1000)
    let peak = PeakProbe.gflops(isa: .active, threads: 1)

    // The probe measured here, in this run: its own rate, and that rate against the
    // reference peak taken above (about 100% x10 when the machine is quiet).
    Benchmark("peak probe \(ISA.active) (FMA loop)") { benchmark in
        var rates: [Double] = []
        for _ in benchmark.scaledIterations { rates.append(PeakProbe.gflops(isa: .active, threads: 1, repeats: 1)) }
        let rate = rates.sorted()[rates.count / 2]
        benchmark.measurement(gflopsMetric, Int(rate.rounded()))
        benchmark.measurement(peakShareMetric, Int((1000 * rate / peak).rounded()))
    }

    for c in try! KernelCase.modelLayers(batch: 32) {
        Benchmark(c.name) { benchmark in
            let t0 = monotonicNanos()
            for _ in benchmark.scaledIterations { c.run() }
            let seconds = Double(monotonicNanos() - t0) * 1e-9 / Double(benchmark.scaledIterations.count)
            let gflops = c.flops / seconds / 1e9
            benchmark.measurement(gflopsMetric, Int(gflops.rounded()))
            benchmark.measurement(peakShareMetric, Int((1000 * gflops / peak).rounded()))
        }
    }
}
