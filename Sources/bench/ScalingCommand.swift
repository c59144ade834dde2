import ArgumentParser
import Foundation
import BenchHarness
import EngineOptions
import TinyConv

/// `bench scaling`: training steps measured at several thread counts and batch sizes
/// (interleaved), Dispatch vs OpenMP at the most threads, and the projection model
/// (ScalingModel) built from one-thread runs, with its error against every measured point.
struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling", abstract: "Thread scaling measured at several thread counts and batches, Dispatch vs OpenMP, and the projection model's error.")

    @Option(help: "Model names or specs (repeatable).") var model: [String] = ["custom", "lenet5"]
    @Option(help: "Thread counts to measure, comma-separated (default: 1, 2, 4, ... up to this machine's cores, and the cores).")
    var threads: String?
    @Option(help: "Batch sizes to measure (repeatable; default: 32 and 256).") var batchSize: [Int] = []
    @Option(parsing: .unconditional, help: "Samples per micro-shard.") var shardSize = 8
    @Option(parsing: .unconditional, help: "Timed repeats (interleaved), at least 2.") var repeats = 11
    @Option(parsing: .unconditional, help: "Steps per repeat.") var steps = 10
    @Option(help: "Write the measurements and projections as JSON.") var json: String?
    @OptionGroup var isaOption: ISAOption

    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// The thread counts to measure: the flag's list, or powers of two up to the cores.
    func threadCounts() throws -> [Int] {
        guard let threads else {
            var list = [1]
            while list.last! * 2 <= Self.cores { list.append(list.last! * 2) }
            if list.last! != Self.cores { list.append(Self.cores) }
            return list
        }
        let parts = threads.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.allSatisfy({ $0.map { (1...TrainingConfig.maxThreads).contains($0) } ?? false }) else {
            throw ValidationError("--threads takes thread counts in 1...\(TrainingConfig.maxThreads), comma-separated (e.g. 1,2,4,8,16), got '\(threads)'")
        }
        return Array(Set(values.map { $0! })).sorted()
    }

    var batches: [Int] { batchSize.isEmpty ? [32, 256] : batchSize }

    func validate() throws {
        guard (1...TrainingConfig.maxBatchSize).contains(shardSize) else {
            throw ValidationError("--shard-size must be in 1...\(TrainingConfig.maxBatchSize), got \(shardSize)")
        }
        for b in batches where !(1...TrainingConfig.maxBatchSize).contains(b) {
            throw ValidationError("--batch-size must be in 1...\(TrainingConfig.maxBatchSize), got \(b)")
        }
        guard (2...1000).contains(repeats) else { throw ValidationError("--repeats must be in 2...1000, got \(repeats)") }
        guard (1...10_000).contains(steps) else { throw ValidationError("--steps must be in 1...10000, got \(steps)") }
        _ = try threadCounts()
    }

    /// One measured configuration and what the model projected for it.
    struct Point: Codable {
        var batch: Int
        var threads: Int
        var medianStepSeconds: Double
        var imagesPerSecond: Double
        /// Over one thread at the same batch, and over one thread at the first batch (32).
        var speedup: Double
        var speedupOverFirstBatchOneThread: Double
        var projectedStepSeconds: Double
        /// (projected - measured) / measured
        var projectionError: Double
    }

    struct Result: Codable {
        var model: String
        var points: [Point]
        var dispatchOverOpenmp: [Double]     // OpenMP / Dispatch step time at the most threads: ratio, low, high
        var openmpThreads: Int
        var projections: [ScalingModel]
    }

    func options(batch: Int, threads: Int, backend: SchedulerBackend = .dispatch, profile: Bool = false, repeats: Int = 1) -> StepBenchmark.Options {
        var o = StepBenchmark.Options()
        (o.batchSize, o.threads, o.scheduler, o.shardSize) = (batch, threads, backend, shardSize)
        (o.stepsPerRepeat, o.repeats, o.profile) = (steps, repeats, profile)
        return o
    }

    /// Seconds per step of each benchmark, `repeats` rounds, the order rotated every round.
    func interleaved(_ benches: [StepBenchmark]) -> [[Double]] {
        var samples = Array(repeating: [Double](), count: benches.count)
        for r in 0..<repeats {
            for k in 0..<benches.count {
                let i = (k + r) % benches.count
                benches[i].resetTimings()
                benches[i].run()
                samples[i].append(benches[i].stepSeconds[0][0])
            }
        }
        return samples
    }

    /// How well one shard's pieces use k threads here: (T(1) / T(k)) / k at a batch of one shard.
    func pieceEfficiency(_ m: String, _ spec: NetworkSpec) throws -> (k: Int, efficiency: Double) {
        let k = min(Self.cores, shardSize)
        guard k > 1 else { return (1, 1) }
        let benches = try [1, k].map { try StepBenchmark(models: [(m, spec)], options: options(batch: shardSize, threads: $0)) }
        let t = interleaved(benches).map(Statistics.median)
        return (k, t[0] / t[1] / Double(k))
    }

    /// The model's inputs from a profiled single-thread run at a batch size.
    func projection(_ m: String, _ spec: NetworkSpec, batch: Int, forkJoin: [Int: Double], pieces: Double) throws -> ScalingModel {
        let b = try StepBenchmark(models: [(m, spec)], options: options(batch: batch, threads: 1, profile: true, repeats: 3))
        b.run()
        let step = Statistics.median(b.profiledStepSeconds[0])
        let update = Double(b.profilers[0].total(.optimizer)) * 1e-9 / Double(b.profiledSteps)
        let shards = (batch + shardSize - 1) / shardSize
        // a step run as pieces: gather, each unfused stage forward, loss, each stage's backward
        // phases (a ReLU backward phase for conv and dense layers before a non-pool layer)
        let unfused = try ExecutionPlan(network: b.variants[0].network, capacity: shardSize, fuseLayers: false)
        let phases = 2 + unfused.stages.count + unfused.stages.count + unfused.network.resolved.filter(\.relu).count
        return ScalingModel(batch: batch, shards: shards, shardSeconds: (step - update) / Double(shards), updateSeconds: update,
                            forkJoinSeconds: forkJoin, phases: phases, shardImages: min(shardSize, batch), pieceEfficiency: pieces)
    }

    func run() throws {
        try isaOption.apply()
        try checkFiles(outputs: [("--json", json)])
        let counts = try threadCounts()
        let machine = MachineInfo.current(coresUsed: Self.cores)
        print("TinyConv scaling on \(machine.cpuModel) (\(machine.logicalCores) cores), ISA \(machine.isa), shards of \(shardSize); " +
              "threads \(counts.map(String.init).joined(separator: ", ")); \(repeats) interleaved repeats of \(steps) steps")
        if counts.last! > Self.cores { print("note: more threads than cores (\(Self.cores)): those points measure oversubscription, not scaling") }
        var forkJoin: [Int: Double] = [:]
        // up to the cores only: an oversubscribed pool's fork/join is the scheduler's time slice,
        // not what the same pool costs on a machine with that many cores (the model extrapolates)
        for w in Set(counts + [1, 2, 4, 8, 16, 32]).sorted() where w <= Self.cores {
            forkJoin[w] = ScalingModel.measureForkJoin(workers: w)
        }
        print("fork/join of the worker pool (empty rounds) by workers: " + forkJoin.sorted { $0.key < $1.key }
            .map { String(format: "%d: %.1f us", $0.key, $0.value * 1e6) }.joined(separator: ", ")
            + (forkJoin.count < 6 ? "; beyond \(Self.cores), the model grows the largest linearly" : ""))
        var results: [Result] = []
        for m in model {
            let spec = try ModelZoo.spec(m)
            var points: [Point] = [], projections: [ScalingModel] = []
            var firstOneThread: Double?
            let pieces = try pieceEfficiency(m, spec)
            print(String(format: "%@: one shard of %d on %d threads as pieces: efficiency %.2f", m, shardSize, pieces.k, pieces.efficiency))
            for batch in batches {
                let model = try projection(m, spec, batch: batch, forkJoin: forkJoin, pieces: pieces.efficiency)
                projections.append(model)
                let benches = try counts.map { try StepBenchmark(models: [(m, spec)], options: options(batch: batch, threads: $0)) }
                let medians = interleaved(benches).map(Statistics.median)
                let one = counts.first == 1 ? medians[0] : model.stepSeconds(cores: 1)
                if firstOneThread == nil { firstOneThread = one * 32 / Double(batch) }  // per 32 images
                print(String(format: "%@, batch %d (%d shards): shard %.3f ms, reduction+update %.3f ms on one thread", m, batch,
                             model.shards, 1e3 * model.shardSeconds, 1e3 * model.updateSeconds))
                print("  threads   step ms   images/s  speed-up  vs 1 thread b\(batches[0])  projected ms  model error")
                for (t, med) in zip(counts, medians) {
                    let projected = model.stepSeconds(cores: t)
                    let p = Point(batch: batch, threads: t, medianStepSeconds: med, imagesPerSecond: Double(batch) / med,
                                  speedup: one / med, speedupOverFirstBatchOneThread: firstOneThread! * Double(batch) / 32 / med,
                                  projectedStepSeconds: projected, projectionError: (projected - med) / med)
                    points.append(p)
                    print(String(format: "  %7d  %8.3f  %9.0f  %7.2fx  %18.2fx  %12.3f  %+10.1f%%", t, 1e3 * med, p.imagesPerSecond, p.speedup,
                                 p.speedupOverFirstBatchOneThread, 1e3 * projected, 100 * p.projectionError))
                }
                for t in [4, 8, 16, 32, 64] where t > counts.last! {
                    print(String(format: "  %7d  projected %.3f ms (%.2fx, %.0f images/s), not measured", t, 1e3 * model.stepSeconds(cores: t),
                                 model.speedup(cores: t), Double(batch) / model.stepSeconds(cores: t)))
                }
            }
            let errors = points.map { abs($0.projectionError) }
            print(String(format: "  model error over %d points: median %.1f%%, largest %.1f%%", errors.count,
                         100 * Statistics.median(errors), 100 * (errors.max() ?? 0)))
            // Dispatch vs OpenMP at the most threads, batch of the first size
            let most = counts.last!
            let pair = try [SchedulerBackend.openmp, .dispatch].map {
                try StepBenchmark(models: [(m, spec)], options: options(batch: batches[0], threads: most, backend: $0))
            }
            let dv = interleaved(pair)
            let ov = Statistics.pairedRatioMedianCI(dv[0], dv[1])
            print(String(format: "  %d threads, batch %d: OpenMP %.3f ms vs Dispatch %.3f ms: Dispatch is %.2fx faster (95%% CI %.2f-%.2f)",
                         most, batches[0], 1e3 * Statistics.median(dv[0]), 1e3 * Statistics.median(dv[1]), ov.ratio, ov.low, ov.high))
            results.append(Result(model: m, points: points, dispatchOverOpenmp: [ov.ratio, ov.low, ov.high], openmpThreads: most,
                                  projections: projections))
        }
        if let json {
            try JSONFile.write(results, to: json)
        }
        try checkStandardOutput("bench")
    }
}
