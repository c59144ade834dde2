import Foundation
import Testing
@testable import TinyConv
import BenchHarness

@Suite("bench harness: statistics, interleaving, JSON, trace, FLOP counts")
struct BenchHarnessTests {
    @Test("median, quantiles and the paired-ratio confidence interval")
    func statistics() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
        #expect(Statistics.quantile([1, 2, 3, 4, 5], 0.25) == 2)
        #expect(Statistics.quantile([10, 20], 0.5) == 15)
        // a constant ratio gives a zero-width interval at that ratio
        let ci = Statistics.pairedRatioMedianCI([2, 4, 6, 8, 10, 12], [1, 2, 3, 4, 5, 6])
        #expect(ci.ratio == 2 && ci.low == 2 && ci.high == 2)
        // noisy pairs: the interval contains the ratio
        let a = [1.10, 1.00, 1.20, 1.05, 1.15, 1.12, 1.08, 1.02], b = [Double](repeating: 1, count: 8)
        let n = Statistics.pairedRatioMedianCI(a, b)
        #expect(n.low < n.ratio && n.ratio < n.high && n.low >= 1.0)
        // median ratio with an order-statistic interval: robust to one wild pair
        var x = [Double](repeating: 1.10, count: 41), y = [Double](repeating: 1.0, count: 41)
        for i in 0..<41 { x[i] += Double(i % 7) * 0.001 }
        x[5] = 9.0
        let m = Statistics.pairedRatioMedianCI(x, y)
        #expect(abs(m.ratio - 1.103) < 1e-9 && m.low >= 1.10 && m.high <= 1.106)
        let few = Statistics.pairedRatioMedianCI([2, 3], [1, 1])
        #expect(few.low == 2 && few.high == 3)
    }

    @Test("verdicts follow the interval")
    func verdicts() {
        #expect(BenchReport.Comparison(baseline: "a", other: "b", ratio: 1.2, low: 1.1, high: 1.3).verdict.hasPrefix("b is slower than a: +20.0%"))
        #expect(BenchReport.Comparison(baseline: "a", other: "b", ratio: 0.8, low: 0.7, high: 0.9).verdict.hasPrefix("b is faster than a"))
        #expect(BenchReport.Comparison(baseline: "a", other: "b", ratio: 1.0, low: 0.9, high: 1.1).verdict.hasPrefix("no significant difference"))
    }

    static func smallBench() throws -> (StepBenchmark, BenchReport) {
        var o = StepBenchmark.Options()
        // 2 shards on 2 threads: whole shards per worker, so the plan keeps conv + pool fused
        // (fewer shards than threads would run them apart, as pieces)
        (o.batchSize, o.threads, o.warmupSteps, o.stepsPerRepeat, o.repeats, o.traceSteps) = (16, 2, 1, 1, 3, 1)
        let models = [("a", try NetworkSpec.parse("conv3x3x4,pool,fc10")), ("b", try NetworkSpec.parse("conv3x3x8,pool,fc10"))]
        let b = try StepBenchmark(models: models, options: o)
        b.run()
        let report = BenchReport(b, machine: MachineInfo.current(coresUsed: 2), singleCorePeak: 100, machinePeak: 200)
        return (b, report)
    }

    @Test("against measured peaks no share of peak exceeds 100%, and the machine peak is never below one core's")
    func honestShares() throws {
        var peaks = PeakProbe.Figures(threads: 2)
        var o = StepBenchmark.Options()
        (o.batchSize, o.threads, o.warmupSteps, o.stepsPerRepeat, o.repeats, o.traceSteps) = (16, 2, 1, 2, 3, 1)
        let b = try StepBenchmark(models: [("lenet5", try ModelZoo.spec("lenet5")), ("custom", try ModelZoo.spec("custom"))], options: o)
        b.run()
        peaks.refine()
        #expect(peaks.machine >= peaks.singleCore && peaks.probes == 2)
        let r = BenchReport(b, machine: MachineInfo.current(coresUsed: 2), singleCorePeak: peaks.singleCore, machinePeak: peaks.machine)
        for v in r.variants {
            #expect(v.percentOfMachinePeak > 0 && v.percentOfMachinePeak <= 100, "\(v.name): \(v.percentOfMachinePeak)%")
            for l in v.layers {
                #expect(l.forwardPercentOfPeak <= 100 && l.backwardPercentOfPeak <= 100, "\(v.name)/\(l.layer): \(l)")
            }
        }
        // half the samples per step (an MPI rank's share) halves the FLOPs a layer row counts
        let half = BenchReport(b, machine: MachineInfo.current(coresUsed: 2), singleCorePeak: peaks.singleCore,
                               machinePeak: peaks.machine, profiledSamplesPerStep: 8)
        #expect(abs(half.variants[0].layers[0].forwardFlops * 2 - r.variants[0].layers[0].forwardFlops) < 1e-6)
    }

    @Test("variants run interleaved, A B then B A, and every repeat is recorded")
    func interleaving() throws {
        let (b, r) = try Self.smallBench()
        #expect(b.runOrder == [0, 1, 1, 0, 0, 1])
        #expect(b.profiledStepSeconds.map(\.count) == [3, 3])
        #expect(b.stepSeconds.map(\.count) == [3, 3])
        #expect(r.comparisons.count == 1 && r.comparisons[0].baseline == "a" && r.comparisons[0].other == "b")
        // conv1 and pool1 run as one fused stage, profiled under both names
        #expect(r.variants[0].layers.map(\.layer) == ["conv1+pool1", "fc1", "loss", "gather", "optimizer"])
        #expect(r.variants[0].layers[0].kind == "conv+pool")
        #expect(abs(r.variants[0].layers.reduce(0) { $0 + $1.shareOfStep } - 1) < 1e-9)
    }

    @Test("the JSON has the documented schema and round-trips; CSV has one row per variant and layer")
    func jsonSchema() throws {
        let (_, r) = try Self.smallBench()
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        let data = try e.encode(r)
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["tool", "schemaVersion", "machine", "mode", "batchSize", "threads", "scheduler", "shardSize", "repeats",
                    "stepsPerRepeat", "singleCorePeakGflops", "machinePeakGflops", "variants", "comparisons", "noisy"] {
            #expect(obj[key] != nil, "missing \(key)")
        }
        let machine = try #require(obj["machine"] as? [String: Any])
        for key in ["cpuModel", "logicalCores", "coresUsed", "isa", "date", "commit"] { #expect(machine[key] != nil, "machine.\(key)") }
        let v = try #require((obj["variants"] as? [[String: Any]])?.first)
        for key in ["name", "spec", "parameters", "flopsPerStep", "stepSeconds", "gflops", "percentOfMachinePeak", "layers"] {
            #expect(v[key] != nil, "variant.\(key)")
        }
        let back = try JSONDecoder().decode(BenchReport.self, from: data)
        #expect(back.variants.map(\.name) == ["a", "b"])
        let csv = r.csv().split(separator: "\n")
        #expect(csv.count == 1 + 2 * 5)
        #expect(csv[0].hasPrefix("variant,layer,kind,forward_ms"))
    }

    @Test("the trace is valid trace-event JSON: one track per worker, complete events")
    func trace() throws {
        let (b, _) = try Self.smallBench()
        let data = try ChromeTrace.json(variants: zip(b.variants, b.traceEvents).map { ($0.name, $0.plan, $1) })
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try #require(obj["traceEvents"] as? [[String: Any]])
        let complete = events.filter { $0["ph"] as? String == "X" }
        #expect(!complete.isEmpty)
        for e in complete {
            #expect(e["name"] is String && e["ts"] is Double && e["dur"] is Double && e["pid"] is Int && e["tid"] is Int)
            #expect((e["dur"] as! Double) >= 0)
        }
        #expect(Set(complete.map { $0["tid"] as! Int }).isSubset(of: [0, 1]))
        #expect(complete.contains { ($0["name"] as! String) == "conv1+pool1 forward" })
        #expect(events.contains { $0["ph"] as? String == "M" && $0["name"] as? String == "thread_name" })
    }

    @Test("FLOPs per layer against hand-computed values for all four models", arguments: [
        ("lenet5", [117_600, 0, 240_000, 0, 48_000, 10_080, 840]),
        ("regularized-lenet5", [117_600, 0, 240_000, 0, 48_000, 0, 10_080, 0, 840]),
        ("custom", [1_728_000, 0, 103_680, 810_000, 0, 45_000, 36_000, 10_080, 840]),
        ("custom-1x1-then-pool", [1_728_000, 414_720, 0, 810_000, 180_000, 0, 36_000, 10_080, 840]),
    ])
    func flops(_ c: (String, [Int])) throws {
        let net = try Network(spec: try ModelZoo.spec(c.0), seed: 1)
        #expect(net.resolved.map(\.macsPerSample) == c.1)
        for (i, macs) in c.1.enumerated() {
            let f = LayerFlops.perStep(net, layer: i, batch: 32)
            #expect(f.forward == 2.0 * Double(macs) * 32)
            #expect(f.backward == (i == 0 ? 1 : 2) * 2.0 * Double(macs) * 32)
        }
        let total = c.1.reduce(0, +)
        #expect(LayerFlops.trainingStep(net, batch: 1) == 6.0 * Double(total) - 2.0 * Double(c.1[0]))
    }
}
