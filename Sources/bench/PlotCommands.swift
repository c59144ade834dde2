import ArgumentParser
import Foundation
import BenchHarness
import EngineOptions
import TinyConv

/// `bench plot`: per-layer forward/backward bars of the variants in bench JSON files.
struct PlotProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot", abstract: "Turn bench --json output into an SVG of per-layer forward/backward time.")
    @Argument(help: "bench JSON files (all their variants are drawn side by side).") var inputs: [String]
    @Option(name: .shortAndLong, help: "SVG file to write.") var output: String

    func run() throws {
        try checkEnvironment()
        try checkFiles(inputs: inputs.map { ("bench JSON", $0) }, outputs: [("--output", output)])
        var variants: [(String, [LayerProfileRow])] = []
        var title = "Per-layer time per training step"
        for path in inputs {
            let report = try BenchInput.load(path)
            title += " (batch \(report.batchSize), \(report.threads) threads, \(report.machine.cpuModel))"
            for v in report.variants { variants.append((v.name, v.layers)) }
        }
        guard !variants.isEmpty, variants.allSatisfy({ !$0.1.isEmpty }) else {
            throw ValidationError("no per-layer profile in \(inputs.joined(separator: ", ")) (run bench without --no-profile)")
        }
        var categories: [String] = []
        for (_, rows) in variants { for r in rows where !categories.contains(r.layer) { categories.append(r.layer) } }
        let values: [[[Double]]] = variants.map { (_, rows) in
            categories.map { c -> [Double] in
                guard let r = rows.first(where: { $0.layer == c }) else { return [0, 0] }
                return [r.forwardMs, r.backwardMs]
            }
        }
        let svg = SVGChart.groupedStackedBars(title: title, categories: categories, series: variants.map(\.0),
                                              stacks: ["forward", "backward"], values: values, unit: "CPU ms per step")
        try AtomicFile.write(svg, to: output)
        print("wrote \(output)")
    }
}

/// `bench plot-curves`: training curves from train --json files.
struct PlotCurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-curves", abstract: "Turn train --json outputs into an SVG of per-epoch loss and accuracy curves.")
    @Argument(help: "train JSON files.") var inputs: [String]
    @Option(name: .shortAndLong, help: "SVG file to write.") var output: String
    @Option(help: "Also write the per-epoch figures as a Markdown table here.") var markdown: String?

    func run() throws {
        try checkEnvironment()
        try checkFiles(inputs: inputs.map { ("train JSON", $0) }, outputs: [("--output", output), ("--markdown", markdown)])
        var runs: [(String, [EpochRecord])] = []
        for path in inputs {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot be read") }
            do {
                let r = try JSONDecoder().decode(RunReport.self, from: data)
                runs.append(("\(r.config.model) seed \(r.config.seed)", r.epochs))
            } catch { throw ValidationError("\(path): not a train --json file (\(error))") }
        }
        let metrics: [(String, (EpochRecord) -> Double?)] = [
            ("training loss", { $0.loss }), ("train accuracy %", { 100 * $0.trainAccuracy }),
            ("validation accuracy %", { $0.validationAccuracy.map { 100 * $0 } }), ("test accuracy %", { 100 * $0.testAccuracy }),
        ]
        let points = metrics.map { (_, f) in runs.map { (_, epochs) in epochs.compactMap { e in f(e).map { (Double(e.epoch), $0) } } } }
        let svg = SVGChart.lineCharts(title: "TinyConv on MNIST: per-epoch curves", panels: metrics.map(\.0),
                                      series: runs.map(\.0), points: points)
        try AtomicFile.write(svg, to: output)
        print("wrote \(output)")
        if let markdown {
            var lines: [String] = []
            for (name, epochs) in runs {
                lines += ["", "**\(name)**", "",
                          "| epoch | loss | train acc | val acc | test acc | seconds | images/s |",
                          "|---:|---:|---:|---:|---:|---:|---:|"]
                for e in epochs {
                    let val = e.validationAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a"
                    lines.append(String(format: "| %d | %.4f | %.2f%% | %@ | %.2f%% | %.1f | %.0f |", e.epoch, e.loss,
                                        100 * e.trainAccuracy, val, 100 * e.testAccuracy, e.seconds, e.imagesPerSecond))
                }
            }
            try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: markdown)
            print("wrote \(markdown)")
        }
    }
}

enum BenchInput {
    static func load(_ path: String) throws -> BenchReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot be read") }
        do { return try JSONDecoder().decode(BenchReport.self, from: data) } catch {
            throw ValidationError("\(path): not a bench --json file (\(error))")
        }
    }
}
