import TinyConv
import Foundation

/// The --json output of `bench step` (schema in docs/bench-json.md).
public struct BenchReport: Codable {
    public struct Summary: Codable {
        public var median: Double, q1: Double, q3: Double, min: Double, max: Double
        public var samples: [Double]
        public init(_ xs: [Double]) {
            samples = xs
            median = Statistics.median(xs)
            q1 = Statistics.quantile(xs, 0.25)
            q3 = Statistics.quantile(xs, 0.75)
            min = xs.min()!
            max = xs.max()!
        }
        /// Interquartile range relative to the median.
        public var relativeSpread: Double { (q3 - q1) / median }
    }
    public struct VariantResult: Codable {
        public var name: String
        public var spec: String
        public var parameters: Int
        public var flopsPerStep: Double
        public var stepSeconds: Summary
        public var gflops: Double
        public var percentOfMachinePeak: Double
        public var profiledStepSeconds: Double?
        public var profilingOverheadPercent: Double?
        public var layers: [LayerProfileRow]
        /// The plan as run: stages and their kernel algorithms; absent in files older than it.
        public var plan: [PlanStageRecord]?
    }
    public struct Comparison: Codable {
        public var baseline: String
        public var other: String
        /// other step time / baseline step time
        public var ratio: Double
        public var low: Double
        public var high: Double
        public var verdict: String
    }

    public var tool = "tinyconv-bench"
    public var schemaVersion = 1
    public var machine: MachineInfo
    public var mode: String  // "training" or "inference"
    public var batchSize: Int
    public var threads: Int
    public var scheduler: String
    public var shardSize: Int
    /// false when run with --no-fusion (one plan stage per layer); absent in files older than it.
    public var fusedStages: Bool? = true
    public var repeats: Int
    public var stepsPerRepeat: Int
    public var singleCorePeakGflops: Double
    public var machinePeakGflops: Double
    public var variants: [VariantResult]
    /// The tuner's line per variant (what was measured, what came from wisdom); absent with --tune off.
    public var tuning: [String]?
    /// Under mpirun: the bytes rank 0 received per step against the algorithm's formula; absent otherwise.
    public var traffic: [Traffic]?
    public struct Traffic: Codable {
        public var variant: String
        public var rank: Int, ranks: Int
        public var algorithm: String
        public var bytesPerStep: Int
        public var formulaBytesPerStep: Int
        public init(variant: String, rank: Int, ranks: Int, algorithm: String, bytesPerStep: Int, formulaBytesPerStep: Int) {
            (self.variant, self.rank, self.ranks, self.algorithm) = (variant, rank, ranks, algorithm)
            (self.bytesPerStep, self.formulaBytesPerStep) = (bytesPerStep, formulaBytesPerStep)
        }
    }
    public var comparisons: [Comparison]
    public var noisy: Bool

    public func writeJSON(to path: String) throws {
        try JSONFile.write(self, to: path)
    }

    /// One row per (variant, layer).
    public func csv() -> String {
        var lines = ["variant,layer,kind,forward_ms,backward_ms,forward_gflops,backward_gflops,forward_pct_peak,backward_pct_peak,share_of_step"]
        for v in variants {
            for r in v.layers {
                lines.append([v.name, r.layer, r.kind, fmt(r.forwardMs), fmt(r.backwardMs), fmt(r.forwardGflops), fmt(r.backwardGflops),
                              fmt(r.forwardPercentOfPeak), fmt(r.backwardPercentOfPeak), fmt(r.shareOfStep)].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
    func fmt(_ x: Double) -> String { String(format: "%.6g", x) }
}

/// Chrome trace-event JSON (Perfetto, chrome://tracing): one process per variant, one
/// track (tid) per worker, one complete event ("ph": "X") per timed layer pass.
public enum ChromeTrace {
    public static func json(variants: [(name: String, plan: ExecutionPlan, events: [StepProfiler.Event])]) throws -> Data {
        var events: [[String: Any]] = []
        let t0 = variants.flatMap(\.events).map(\.start).min() ?? 0
        for (pid, v) in variants.enumerated() {
            events.append(["name": "process_name", "ph": "M", "pid": pid + 1, "tid": 0, "args": ["name": v.name]])
            let layers = v.plan.stages.map(\.label)
            for w in Set(v.events.map(\.worker)).sorted() {
                events.append(["name": "thread_name", "ph": "M", "pid": pid + 1, "tid": w, "args": ["name": "worker \(w)"]])
            }
            for e in v.events {
                let name: String
                let slot = e.slot, L = layers.count
                if slot < 2 * L { name = "\(layers[slot / 2]) \(slot % 2 == 0 ? "forward" : "backward")" }
                else { name = ["loss", "gather", "optimizer"][slot - 2 * L] }
                events.append(["name": name, "cat": slot < 2 * L ? "layer" : "step", "ph": "X", "pid": pid + 1, "tid": e.worker,
                               "ts": Double(e.start - t0) / 1000, "dur": Double(e.duration) / 1000])
            }
        }
        return try JSONSerialization.data(withJSONObject: ["traceEvents": events, "displayTimeUnit": "ms"], options: [.sortedKeys])
    }
}
