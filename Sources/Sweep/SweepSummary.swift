import Foundation
import TinyConv

/// The table of a finished sweep: one row per configuration (every axis but the seed), the
/// final test accuracy's mean, sample standard deviation, minimum and maximum over its seeds,
/// the test accuracy at the best validation epoch, and the mean training images/s.
public struct SweepSummary: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var configuration: String
        public var runs: Int
        public var seeds: [UInt64]
        public var finalTestAccuracy: [Double]
        public var mean: Double, sd: Double, min: Double, max: Double
        public var bestValidationTestAccuracyMean: Double?
        public var imagesPerSecondMean: Double
    }
    public var rows: [Row]
    public var missing: [String]
    public var note: String

    /// From the runs' run.json files (a missing or unfinished run is listed, not averaged).
    public init(runs: [SweepRun], folder: (SweepRun) -> String, note: String) {
        var groups: [String: [(SweepRun, RunReport)]] = [:], order: [String] = []
        missing = []
        for r in runs {
            guard let data = FileManager.default.contents(atPath: folder(r) + "/run.json"),
                  let report = try? JSONDecoder().decode(RunReport.self, from: data), report.epochs.count >= r.epochs else {
                missing.append(r.name)
                continue
            }
            if groups[r.configuration] == nil { order.append(r.configuration) }
            groups[r.configuration, default: []].append((r, report))
        }
        rows = order.map { c in
            let g = groups[c]!
            let acc = g.map { $0.1.epochs.last!.testAccuracy }
            let mean = acc.reduce(0, +) / Double(acc.count)
            let sd = acc.count > 1 ? (acc.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(acc.count - 1)).squareRoot() : 0
            let best = g.compactMap { $0.1.testAccuracyAtBestValidation }
            let ips = g.flatMap { $0.1.epochs.map(\.imagesPerSecond) }
            return Row(configuration: c, runs: g.count, seeds: g.map { $0.0.seed }, finalTestAccuracy: acc, mean: mean, sd: sd,
                       min: acc.min()!, max: acc.max()!,
                       bestValidationTestAccuracyMean: best.count == g.count ? best.reduce(0, +) / Double(best.count) : nil,
                       imagesPerSecondMean: ips.reduce(0, +) / Double(max(ips.count, 1)))
        }
        self.note = note
    }

    public var markdown: String {
        var lines = ["| configuration | runs | test accuracy, last epoch: mean ± sd | min - max | at best validation epoch (mean) | training images/s (mean) |",
                     "|---|---:|---:|---:|---:|---:|"]
        for r in rows {
            let best = r.bestValidationTestAccuracyMean.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a"
            lines.append(String(format: "| %@ | %d | %.2f%% ± %.2f | %.2f%% - %.2f%% | %@ | %.0f |", r.configuration, r.runs,
                                100 * r.mean, 100 * r.sd, 100 * r.min, 100 * r.max, best, r.imagesPerSecondMean))
        }
        if !missing.isEmpty { lines.append("\nNot finished: \(missing.joined(separator: ", ")).") }
        lines.append("\n\(note)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Per configuration, the mean over its seeds of each epoch's figure (for the curves plot).
    public static func meanCurves(runs: [SweepRun], folder: (SweepRun) -> String, metric: (EpochRecord) -> Double?)
        -> [(String, [(Double, Double)])] {
        var sums: [String: [Int: (Double, Int)]] = [:], order: [String] = []
        for r in runs {
            guard let data = FileManager.default.contents(atPath: folder(r) + "/run.json"),
                  let report = try? JSONDecoder().decode(RunReport.self, from: data) else { continue }
            if sums[r.configuration] == nil { order.append(r.configuration) }
            for e in report.epochs {
                guard let v = metric(e) else { continue }
                let (s, n) = sums[r.configuration, default: [:]][e.epoch] ?? (0, 0)
                sums[r.configuration, default: [:]][e.epoch] = (s + v, n + 1)
            }
        }
        return order.map { c in (c, sums[c]!.keys.sorted().map { e in (Double(e), sums[c]![e]!.0 / Double(sums[c]![e]!.1)) }) }
    }
}
