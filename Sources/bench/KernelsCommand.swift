import ArgumentParser
import Foundation
import BenchHarness
import EngineOptions
import TinyConv

/// `bench kernels`: every model layer's kernels, single thread, as GFLOP/s and % of the
/// measured single-core peak on the ISA in use.
struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Time each kernel at the models' layer shapes (single thread).")

    @Option(parsing: .unconditional, help: "Batch size, 1...\(TrainingConfig.maxBatchSize).") var batchSize = 32
    @OptionGroup var isaOption: ISAOption
    @Option(parsing: .unconditional, help: "Timed repeats per kernel (the median is reported), at least 1.") var repeats = 7
    @Option(help: "Only cases whose name contains this text.") var filter: String?
    @Option(help: "Write the table as Markdown to this file.") var markdown: String?
    @Flag(help: "One plan stage per layer: time conv and pool apart instead of the fused conv + pool stage.")
    var noFusion = false
    @Option(help: "Kernel choices: auto (wisdom, measured where missing), off (the shape rules), fresh (measure again).")
    var tune: KernelTuner.Mode = .auto

    func validate() throws {
        guard (1...TrainingConfig.maxBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1...\(TrainingConfig.maxBatchSize), got \(batchSize)")
        }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be in 1...1000, got \(repeats)") }
    }

    func run() throws {
        try isaOption.apply()
        try checkFiles(outputs: [("--markdown", markdown)])
        var peaks = PeakProbe.Figures(threads: 1)
        print(String(format: "ISA %@, measured single-core peak at the start %.1f GFLOP/s, batch %d", ISA.active.description,
                     peaks.singleCore, batchSize))
        var rows = ["| kernel | direction | µs per call | GFLOP/s | % of peak | ISA |", "|---|---|---:|---:|---:|---|"]
        let tuner = KernelTuner(mode: tune)
        for note in tuner.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let cases = try KernelCase.modelLayers(batch: batchSize, fuseLayers: !noFusion) { network in
            let (choices, report) = try tuner.choices(for: network, capacity: batchSize, fuseLayers: !noFusion)
            if tune != .off { print(report.summary) }
            return choices
        }
        let selected = cases.filter { c in filter.map { c.name.contains($0) } ?? true }
        if let filter, selected.isEmpty { throw ValidationError("--filter \(filter) matches no kernel (names look like 'lenet5/conv2 ... forward')") }
        let timed = selected.map { ($0, $0.time(repeats: repeats)) }
        peaks.refine()  // the best of the probes before and after (docs/bench-json.md)
        let peak = peaks.singleCore
        print(String(format: "single-core peak, best of the probes at the start and end: %.1f GFLOP/s", peak))
        for (c, seconds) in timed {
            let g = c.flops / seconds / 1e9
            // memory-bound stages (pooling, dropout) have no FLOPs: their time is the figure
            let line = c.name.padding(toLength: 70, withPad: " ", startingAt: 0)
                + String(format: " %9.2f µs %8.1f GFLOP/s %5.1f%%", seconds * 1e6, g, 100 * g / peak)
            print(line)
            let label = c.name.replacingOccurrences(of: " \(c.direction.rawValue)", with: "")
            rows.append(String(format: "| %@ | %@ | %.2f | %.1f | %.1f | %@ |", label, c.direction.rawValue, seconds * 1e6, g, 100 * g / peak,
                               ISA.active.description))
        }
        if let markdown {
            try AtomicFile.write((rows + [""]).joined(separator: "\n"), to: markdown)
        }
        try checkStandardOutput("bench")
    }
}
