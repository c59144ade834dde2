import ArgumentParser
import Foundation
import BenchHarness
import EngineOptions
import TinyConv

/// `bench scaling`: 2 threads vs 1, Dispatch vs OpenMP, and the measured costs behind a
/// projection of the Dispatch scheduler to more cores than this machine has.
struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling", abstract: "Thread scaling, Dispatch vs OpenMP, and a projection to more cores.")

    @Option(help: "Model names or specs (repeatable).") var model: [String] = ["custom", "lenet5"]
    @Option(parsing: .unconditional, help: "Samples per micro-shard.") var shardSize = 8
    @Option(parsing: .unconditional, help: "Timed repeats (interleaved), at least 2.") var repeats = 21
    @Option(parsing: .unconditional, help: "Steps per repeat.") var steps = 10
    @Option(help: "Write the measurements and projections as JSON.") var json: String?
    @OptionGroup var isaOption: ISAOption

    func validate() throws {
        guard (1...TrainingConfig.maxBatchSize).contains(shardSize) else {
            throw ValidationError("--shard-size must be in 1...\(TrainingConfig.maxBatchSize), got \(shardSize)")
        }
        guard (2...1000).contains(repeats) else { throw ValidationError("--repeats must be in 2...1000, got \(repeats)") }
        guard (1...10_000).contains(steps) else { throw ValidationError("--steps must be in 1...10000, got \(steps)") }
    }

    struct Result: Codable {
        var model: String
        var medians: [String: Double]        // configuration -> median seconds per step
        var speedup2v1: [Double]             // 1-thread / 2-thread step time: ratio, low, high (95% CI)
        var dispatchOverOpenmp: [Double]     // OpenMP / Dispatch step time at 2 threads: ratio, low, high
        var projections: [ScalingModel]
    }

    /// Step times of one model under two (threads, backend) configurations, `repeats`
    /// interleaved pairs (A B, B A, ...), seconds per step.
    func paired(_ name: String, _ spec: NetworkSpec, _ a: (Int, SchedulerBackend), _ b: (Int, SchedulerBackend)) throws
        -> (a: [Double], b: [Double]) {
        let benches = try [a, b].map { (t, backend) -> StepBenchmark in
            var o = StepBenchmark.Options()
            (o.batchSize, o.threads, o.scheduler, o.shardSize, o.stepsPerRepeat, o.repeats, o.profile) = (32, t, backend, shardSize, steps, 1, false)
            return try StepBenchmark(models: [(name, spec)], options: o)
        }
        var samples: [[Double]] = [[], []]
        for r in 0..<repeats {
            for i in (r % 2 == 0 ? [0, 1] : [1, 0]) {
                benches[i].resetTimings()
                benches[i].run()
                samples[i].append(benches[i].stepSeconds[0][0])
            }
        }
        return (samples[0], samples[1])
    }

    func run() throws {
        try isaOption.apply()
        try checkFiles(outputs: [("--json", json)])
        let machine = MachineInfo.current(coresUsed: ProcessInfo.processInfo.activeProcessorCount)
        print("TinyConv scaling on \(machine.cpuModel) (\(machine.logicalCores) cores), ISA \(machine.isa), shards of \(shardSize)")
        var forkJoin: [Int: Double] = [:]
        for w in [1, 2, 4, 8, 16, 32] { forkJoin[w] = ScalingModel.measureForkJoin(workers: w) }
        print("fork/join of the worker pool (empty rounds) by workers: " + forkJoin.sorted { $0.key < $1.key }
            .map { String(format: "%d: %.1f us", $0.key, $0.value * 1e6) }.joined(separator: ", "))
        var results: [Result] = []
        for m in model {
            let spec = try ModelZoo.spec(m)
            // Two interleaved comparisons, the OpenMP one second so that the OpenMP runtime
            // does not exist yet while the thread scaling is measured.
            let d1 = try paired(m, spec, (1, .dispatch), (2, .dispatch))
            let dv = try paired(m, spec, (2, .openmp), (2, .dispatch))
            let sp = Statistics.pairedRatioMedianCI(d1.a, d1.b)
            let ov = Statistics.pairedRatioMedianCI(dv.a, dv.b)
            let medians = ["dispatch/1": Statistics.median(d1.a), "dispatch/2": Statistics.median(d1.b),
                           "openmp/2": Statistics.median(dv.a), "dispatch/2 (vs openmp)": Statistics.median(dv.b)]
            print(String(format: "%@: step %.2f ms at 1 thread, %.2f ms at 2: speed-up %.2fx (95%% CI %.2f-%.2f); OpenMP at 2 threads %.2f ms vs Dispatch %.2f ms: Dispatch is %.2fx faster (95%% CI %.2f-%.2f)",
                         m, 1e3 * medians["dispatch/1"]!, 1e3 * medians["dispatch/2"]!, sp.ratio, sp.low, sp.high,
                         1e3 * medians["openmp/2"]!, 1e3 * medians["dispatch/2 (vs openmp)"]!, ov.ratio, ov.low, ov.high))
            // Projection inputs from a profiled single-thread run at each batch size.
            var projections: [ScalingModel] = []
            for batch in [32, 128] {
                var o = StepBenchmark.Options()
                (o.batchSize, o.threads, o.shardSize, o.stepsPerRepeat, o.repeats) = (batch, 1, shardSize, steps, 3)
                let b = try StepBenchmark(models: [(m, spec)], options: o)
                b.run()
                let step = Statistics.median(b.profiledStepSeconds[0])
                let update = Double(b.profilers[0].total(.optimizer)) * 1e-9 / Double(b.profiledSteps)
                let shards = (batch + shardSize - 1) / shardSize
                let model = ScalingModel(batch: batch, shards: shards, shardSeconds: (step - update) / Double(shards),
                                         updateSeconds: update, forkJoinSeconds: forkJoin)
                projections.append(model)
                print(String(format: "  batch %d (%d shards): shard %.3f ms, reduction+update %.3f ms on one thread", batch, shards,
                             1e3 * model.shardSeconds, 1e3 * update))
                for p in [2, 4, 8, 16, 32] {
                    print(String(format: "    %2d cores: projected speed-up %5.2fx, serial (fork/join) share %.2f%%, imbalance share %.1f%%",
                                 p, model.speedup(cores: p), 100 * model.serialShare(cores: p), 100 * model.imbalanceShare(cores: p)))
                }
            }
            results.append(Result(model: m, medians: medians, speedup2v1: [sp.ratio, sp.low, sp.high],
                                  dispatchOverOpenmp: [ov.ratio, ov.low, ov.high], projections: projections))
        }
        if let json {
            try JSONFile.write(results, to: json)
        }
        try checkStandardOutput("bench")
    }
}
