import ArgumentParser
import Foundation
import BenchHarness
import Distributed
import EngineOptions
import TinyConv

/// `bench step` (the default): full training steps of model variants side by side,
/// interleaved, with confidence intervals and a per-layer profile.
struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time training steps of model variants, interleaved, with a per-layer profile.",
        discussion: """
            --variant pool-then-1x1 | 1x1-then-pool | both compares the report's Custom net orders;
            --model NAME|SPEC (repeatable) compares any models. The first one listed is the baseline.
            """)

    @Option(help: "pool-then-1x1, 1x1-then-pool or both.") var variant: String?
    @Option(help: "Model name or spec (repeatable).") var model: [String] = []
    @OptionGroup var engine: EngineOptions
    @Option(parsing: .unconditional, help: "Untimed warm-up steps per variant.") var warmup = 5
    @Option(parsing: .unconditional, help: "Steps per timed repeat.") var steps = 20
    @Option(parsing: .unconditional, help: "Timed repeats per variant (interleaved), at least 6 for a confidence interval.") var repeats = 41
    @Flag(help: "Time forward passes only.") var inference = false
    @Flag(help: "Skip the per-layer profile.") var noProfile = false
    @Flag(help: "One plan stage per layer: no fused conv + ReLU + max pool (same results; to measure what fusion buys).")
    var noFusion = false
    @Flag(help: "Whole shards per worker even when a step has fewer shards than threads: no work below the shard (same results; to measure what the split buys).")
    var noSplit = false
    @Option(help: "Write results as JSON.") var json: String?
    @Option(help: "Write the per-layer table as CSV.") var csv: String?
    @Option(help: "Write a Chrome trace-event timeline (Perfetto, chrome://tracing).") var trace: String?

    func models() throws -> [(name: String, spec: NetworkSpec)] {
        var list: [(String, NetworkSpec)] = []
        if let variant {
            let known = ["pool-then-1x1", "1x1-then-pool"]
            let names = variant == "both" ? known : [variant]
            for n in names {
                guard known.contains(n) else { throw ValidationError("--variant must be pool-then-1x1, 1x1-then-pool or both") }
                list.append((n, try ModelZoo.spec(n)))
            }
        }
        for m in model { list.append((m, try ModelZoo.spec(m))) }
        if list.isEmpty { list = [("pool-then-1x1", try ModelZoo.spec("pool-then-1x1")), ("1x1-then-pool", try ModelZoo.spec("1x1-then-pool"))] }
        return list
    }

    func validate() throws {
        if inference && engine.scheduler == .openmp {
            throw ValidationError("--inference runs on the Dispatch workers only (forward passes have no per-layer regions to compare): drop --scheduler openmp")
        }
        guard repeats >= 6, steps >= 1, warmup >= 0 else { throw ValidationError("need --repeats >= 6 (for a confidence interval), --steps >= 1, --warmup >= 0") }
    }

    func run() throws {
        // Under mpirun every rank runs the same interleaved steps as one data-parallel job;
        // rank 0 prints the report (its exchange row is the wait for the others' gradients),
        // each rank prints its own compute and exchange times per step to stderr.
        let world = try MPIWorld.join(exchange: engine.exchange)
        if let world, world.rank != 0 {
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, STDOUT_FILENO); close(null) }
        }
        defer { world?.finalize() }
        if world != nil && (inference || engine.scheduler == .openmp) {
            throw ValidationError("under mpirun, bench times distributed training steps on the Dispatch scheduler (no --inference, no openmp)")
        }
        try engine.isaOption.apply()
        // outputs are checked before anything is measured
        try checkFiles(outputs: [("--json", json), ("--csv", csv), ("--trace", trace)])
        let config = engine.resolved
        let (batchSize, threads, backend, shardSize, seed) = (config.batchSize, config.threads, config.scheduler, config.shardSize, config.seed)
        var options = StepBenchmark.Options()
        (options.batchSize, options.threads, options.scheduler, options.shardSize) = (batchSize, threads, backend, shardSize)
        (options.seed, options.warmupSteps, options.stepsPerRepeat, options.repeats) = (seed, warmup, steps, repeats)
        (options.inference, options.profile, options.fuseLayers) = (inference, !noProfile, !noFusion)
        options.splitBelowShard = !noSplit
        let list: [(name: String, spec: NetworkSpec)]
        do { list = try models() } catch let e as SpecError { throw ValidationError(e.description) }

        var peaks = PeakProbe.Figures(threads: threads)
        let machine = MachineInfo.current(coresUsed: threads)
        print("TinyConv bench: \(machine.cpuModel), \(threads) thread(s), ISA \(machine.isa), \(backend.rawValue) scheduler")
        print(String(format: "measured peak at the start: %.1f GFLOP/s on one core, %.1f on %d threads", peaks.singleCore, peaks.machine, threads))
        print("\(inference ? "inference" : "training") steps at batch \(batchSize), shards of \(shardSize); \(repeats) interleaved repeats of \(steps) steps")

        var tuning: [String] = []
        let bench = try StepBenchmark(models: list, options: options) { network in
            let (choices, report) = try engine.planChoices(for: network, shardSize: shardSize, fuseLayers: options.fuseLayers,
                                                           agreement: world)
            if let report { tuning.append(report.summary) }
            return choices
        }
        if let world {
            for v in bench.variants { v.scheduler.distributed = world }
            print("distributed: \(world.ranks) ranks, \(threads) thread(s) each; \(world.algorithm.summary)")
        }
        bench.run()
        for v in bench.variants { if let s = v.scheduler.splitSummary { print("\(v.name): \(s)") } }
        var traffic: [BenchReport.Traffic] = []
        if let world {
            // What this rank received in a step (counted by the exchange), against the formula.
            let shards = (batchSize + shardSize - 1) / shardSize
            for v in bench.variants {
                let before = world.bytesReceived
                bench.runSteps(v, count: 3)
                let measured = (world.bytesReceived - before) / 3
                let formula = world.bytesPerStep(parameters: v.network.parameterCount, shards: shards)
                traffic.append(.init(variant: v.name, rank: world.rank, ranks: world.ranks, algorithm: world.algorithm.rawValue,
                                     bytesPerStep: measured, formulaBytesPerStep: formula))
                FileHandle.standardError.write(Data("rank \(world.rank) of \(world.ranks), \(v.name): \(world.algorithm.rawValue) exchange, \(measured) bytes received per step (formula \(formula); batch statistics aside)\n".utf8))
            }
        }
        if let world, options.profile {
            for (i, v) in bench.variants.enumerated() {
                let p = bench.profilers[i], steps = Double(max(bench.profiledSteps, 1))
                let exchange = Double(p.total(.exchange)) / 1e6 / steps
                var compute = 0.0
                for stage in v.plan.stages.indices {
                    compute += Double(p.total(.forward(stage)) + p.total(.backward(stage))) / 1e6 / steps
                }
                compute += Double(p.total(.gather) + p.total(.loss) + p.total(.optimizer)) / 1e6 / steps
                let shards = (batchSize + shardSize - 1) / shardSize
                let mine = world.localShards(shards).count
                let bytes = world.bytesPerStep(parameters: v.network.parameterCount, shards: shards)
                FileHandle.standardError.write(Data(String(format: "rank %d of %d, %@: compute %.3f ms CPU per step (%d of %d shards), exchange %.3f ms per step, %d bytes received per step\n",
                                                           world.rank, world.ranks, v.name, compute, mine, shards, exchange, bytes).utf8))
            }
        }
        // Probed again after the run: the best of every probe is the figure (docs/bench-json.md).
        peaks.refine()
        var jobPeak = peaks.machine
        var samplesPerStep: Int? = nil
        if let world {
            // The job's peak: every rank's threads, but on one host no more than its cores can give.
            let env = ProcessInfo.processInfo.environment
            let local = max(1, Int(env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? world.ranks)
            let hostPeak = min(Double(local) * peaks.machine, Double(machine.logicalCores) * peaks.singleCore)
            jobPeak = hostPeak * Double(world.ranks) / Double(local)
            // This rank's profile covers its own shards only: its FLOPs are its samples'.
            let shards = (batchSize + shardSize - 1) / shardSize
            samplesPerStep = world.localShards(shards)
                .reduce(0) { $0 + min(shardSize, batchSize - $1 * shardSize) }
        }
        print(String(format: "measured peak, best of %d probes (start and end): %.1f GFLOP/s on one core, %.1f on %d threads%@",
                     peaks.probes, peaks.singleCore, peaks.machine, threads,
                     world.map { String(format: "; %.1f for the job's %d ranks", jobPeak, $0.ranks) } ?? ""))
        var report = BenchReport(bench, machine: machine, singleCorePeak: peaks.singleCore, machinePeak: jobPeak,
                                 profiledSamplesPerStep: samplesPerStep)
        report.tuning = tuning.isEmpty ? nil : tuning
        report.traffic = traffic.isEmpty ? nil : traffic
        printReport(report)
        if let json { try report.writeJSON(to: json) }
        if let csv { try AtomicFile.write(report.csv(), to: csv) }
        if let trace {
            let data = try ChromeTrace.json(variants: zip(bench.variants, bench.traceEvents).map { ($0.name, $0.plan, $1) })
            try AtomicFile.write(data, to: trace)
        }
        try checkStandardOutput("bench")
    }

    func printReport(_ r: BenchReport) {
        print("")
        print("variant                 step ms (median [IQR] min-max)        images/s   GFLOP/s  % of peak")
        for v in r.variants {
            let s = v.stepSeconds
            print(v.name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %7.3f [%6.3f-%6.3f] %6.3f-%6.3f  %9.0f  %8.1f  %8.1f%%", 1e3 * s.median, 1e3 * s.q1, 1e3 * s.q3,
                         1e3 * s.min, 1e3 * s.max, Double(r.batchSize) / s.median, v.gflops, v.percentOfMachinePeak))
        }
        for v in r.variants where !v.layers.isEmpty {
            print("")
            print("\(v.name): per layer, CPU ms per step summed over workers; GFLOP/s per core; % of the one-core peak")
            print("layer        fwd ms   bwd ms   fwd GF/s  bwd GF/s  fwd %pk  bwd %pk  share")
            for l in v.layers {
                print(l.layer.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %8.3f %8.3f %9.1f %9.1f %7.1f%% %7.1f%% %5.1f%%", l.forwardMs, l.backwardMs,
                             l.forwardGflops, l.backwardGflops, l.forwardPercentOfPeak, l.backwardPercentOfPeak, 100 * l.shareOfStep))
            }
            if let o = v.profilingOverheadPercent, let p = v.profiledStepSeconds {
                print(String(format: "profiling cost: profiled step %.3f ms vs %.3f ms unprofiled (median paired difference %+.1f%%)", 1e3 * p, 1e3 * v.stepSeconds.median, o))
            }
        }
        print("")
        for c in r.comparisons { print("verdict: \(c.verdict)") }
        if r.noisy { print("warning: the machine was too noisy to conclude firmly (a confidence interval is wider than ±3%); re-run with more --repeats") }
        for v in r.variants where v.stepSeconds.relativeSpread > 0.10 {
            print(String(format: "note: %@ step times spread widely (IQR %.0f%% of the median): another process was busy; the paired ratios above absorb most of it", v.name, 100 * v.stepSeconds.relativeSpread))
        }
    }
}
