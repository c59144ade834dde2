import ArgumentParser
import Foundation
import TinyConv

/// `bench scaling`: 2 threads vs 1, Dispatch vs OpenMP, and the measured costs behind a
/// projection of the Dispatch scheduler to more cores than this machine has.
struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling", abstract: "Thread scaling, Dispatch vs OpenMP, and a projection to more cores.")

    @Option(help: "Model names or specs (repeatable).") var model: [String] = ["custom", "lenet5"]
    @Option(help: "Samples per micro-shard.") var shardSize = 8
    @Option(help: "Timed repeats (interleaved).") var repeats = 15
    @Option(help: "Steps per repeat.") var steps = 10
    @Option(help: "Write the measurements and projections as JSON.") var json: String?

    struct Result: Codable {
        var model: String
        var medians: [String: Double]        // "dispatch/1", "dispatch/2", "openmp/2" -> seconds per step
        var speedup2v1: [Double]             // ratio, low, high
        var dispatchOverOpenmp: [Double]     // openmp time / dispatch time at 2 threads: ratio, low, high
        var projections: [ScalingModel]
    }

    func run() throws {
        guard shardSize >= 1, repeats >= 2, steps >= 1 else { throw ValidationError("bad --shard-size, --repeats or --steps") }
        let machine = MachineInfo.current(coresUsed: ProcessInfo.processInfo.activeProcessorCount)
        print("TinyConv scaling on \(machine.cpuModel) (\(machine.logicalCores) cores), ISA \(machine.isa), shards of \(shardSize)")
        var forkJoin: [Int: Double] = [:]
        for w in [1, 2, 4, 8, 16, 32] { forkJoin[w] = ScalingModel.measureForkJoin(workers: w) }
        print("fork/join of the worker pool (empty rounds) by workers: " + forkJoin.sorted { $0.key < $1.key }
            .map { String(format: "%d: %.1f us", $0.key, $0.value * 1e6) }.joined(separator: ", "))
        var results: [Result] = []
        for m in model {
            let spec = try ModelZoo.spec(m)
            var configs: [(String, Int, SchedulerBackend)] = [("dispatch/1", 1, .dispatch), ("dispatch/2", 2, .dispatch), ("openmp/2", 2, .openmp)]
            configs = configs.filter { $0.1 <= max(2, machine.logicalCores) }
            // One StepBenchmark per configuration, repeats interleaved across them by hand.
            var benches: [StepBenchmark] = []
            for (_, t, b) in configs {
                var o = StepBenchmark.Options()
                (o.batchSize, o.threads, o.scheduler, o.shardSize, o.stepsPerRepeat, o.repeats, o.profile) = (32, t, b, shardSize, steps, 1, false)
                benches.append(try StepBenchmark(models: [(m, spec)], options: o))
            }
            var samples = Array(repeating: [Double](), count: configs.count)
            for _ in 0..<repeats {
                for (i, bench) in benches.enumerated() {
                    bench.resetTimings()
                    bench.run()
                    samples[i].append(bench.stepSeconds[0][0])
                }
            }
            var medians: [String: Double] = [:]
            for (i, c) in configs.enumerated() { medians[c.0] = Statistics.median(samples[i]) }
            let sp = Statistics.pairedRatioCI(samples[0], samples[1])
            let dv = Statistics.pairedRatioCI(samples[2], samples[1])
            print(String(format: "%@: step %.2f ms at 1 thread, %.2f ms at 2 (speed-up %.2fx, 95%% CI %.2f-%.2f); OpenMP at 2 threads %.2f ms: Dispatch is %.2fx faster (95%% CI %.2f-%.2f)",
                         m, 1e3 * medians["dispatch/1"]!, 1e3 * medians["dispatch/2"]!, sp.ratio, sp.low, sp.high,
                         1e3 * medians["openmp/2"]!, dv.ratio, dv.low, dv.high))
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
                                  dispatchOverOpenmp: [dv.ratio, dv.low, dv.high], projections: projections))
        }
        if let json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try e.encode(results), to: json)
        }
    }
}
