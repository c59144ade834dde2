import ArgumentParser
import Foundation
import EngineOptions
import TinyConv

/// `bench tune`: times every candidate of every conv and dense layer of the models on this
/// machine (single thread, the real shard shapes) and prints, per layer and direction, each
/// candidate's time and the choice, then whether each conv + pool runs fused. The choices are
/// remembered in the wisdom file, as `--tune fresh` does.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune", abstract: "Measure every kernel candidate of the models' layers on this CPU and print the choices.")

    @Option(help: "Model name or spec (repeatable; default: lenet5, custom, custom-1x1-then-pool).") var model: [String] = []
    @Option(parsing: .unconditional, help: "Samples per micro-shard, 1...\(TrainingConfig.maxBatchSize) (default: 8).") var shardSize = 8
    @OptionGroup var isaOption: ISAOption
    @Option(parsing: .unconditional, help: "Timed samples per candidate (the best is kept), 1...100.") var rounds = 5
    @Flag(help: "Tune for plans without fused conv + pool stages.") var noFusion = false
    @Flag(help: "Neither read nor write the wisdom file.") var noWisdom = false

    func validate() throws {
        guard (1...TrainingConfig.maxBatchSize).contains(shardSize) else {
            throw ValidationError("--shard-size must be in 1...\(TrainingConfig.maxBatchSize), got \(shardSize)")
        }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100, got \(rounds)") }
    }

    func run() throws {
        try isaOption.apply()
        let names = model.isEmpty ? ["lenet5", "custom", "custom-1x1-then-pool"] : model
        let specs: [(String, NetworkSpec)]
        do { specs = try names.map { ($0, try ModelZoo.spec($0)) } } catch let e as SpecError { throw ValidationError(e.description) }
        let tuner = KernelTuner(mode: .fresh, wisdomPath: noWisdom ? nil : Wisdom.defaultPath)
        tuner.rounds = rounds
        for note in tuner.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        print("TinyConv bench tune: \(tuner.cpu), shards of \(shardSize); µs per shard call, best of \(rounds)")
        for (name, spec) in specs {
            let network = try Network(spec: spec, seed: 1)
            let (_, report) = try tuner.choices(for: network, capacity: shardSize, fuseLayers: !noFusion)
            for l in report.layers { print(describe(model: name, l)) }
            print(report.summary)
        }
        try checkStandardOutput("bench")
    }

    func describe(model: String, _ l: KernelTuner.LayerReport) -> String {
        var out = ["", "\(model)/\(l.layer)  [\(l.key)]"]
        for d in l.directions {
            let rule = d.candidates.first { $0.choice == .rule }?.seconds ?? .nan
            let chosen = d.candidates.first { $0.choice == d.chosen }?.seconds ?? .nan
            let ruleName = name(l.rule[d.direction], d.direction)
            out.append(String(format: "  %@: rule %@ %.1f µs -> %@ %.1f µs (%.2fx)", d.direction.description, ruleName, rule * 1e6,
                              d.chosen == .rule ? ruleName : name(d.chosen, d.direction), chosen * 1e6, rule / chosen))
            let rows = d.candidates.filter { $0.choice != .rule }.sorted { $0.seconds < $1.seconds }
                .map { String(format: "%@ %.1f", name($0.choice, d.direction), $0.seconds * 1e6) }
            for i in stride(from: 0, to: rows.count, by: 5) { out.append("    " + rows[i..<min(i + 5, rows.count)].joined(separator: " | ")) }
        }
        if let f = l.fusedSeconds, let u = l.unfusedSeconds {
            out.append(String(format: "  conv + pool: fused %.1f µs, apart %.1f µs -> %@", f * 1e6, u * 1e6,
                              (l.choice.fused ?? true) ? "fused" : "apart"))
        }
        return out.joined(separator: "\n")
    }

    /// A choice for people: the variant named for its direction, the tile, the blocking.
    func name(_ c: KernelChoice, _ d: ConvAlgorithm.Direction) -> String {
        let v = c.variant == .alt ? d.altName : KernelChoice.Variant.names[c.variant.rawValue]
        return [v, c.tile?.description, c.blocking.map { "kc\($0.kc)/nc\($0.nc)/mc\($0.mc)" }].compactMap { $0 }.joined(separator: " ")
    }
}
