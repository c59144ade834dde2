import Foundation

/// A grid of independent training runs: every combination of the axes' values, each run a
/// `train` invocation with its own seed, checkpoint and JSON in its own folder. Axes and fixed
/// flags come from `sweep`'s flags or a small JSON file:
///   {"model": ["lenet5", "custom"], "seed": [1, 2, 3], "lr": [0.01, 0.05], "epochs": 10,
///    "train": ["--limit", "10000"]}
public struct SweepGrid: Codable, Equatable, Sendable {
    public var model: [String] = ["lenet5"]
    public var seed: [UInt64] = [1]
    public var lr: [Double]? = nil
    public var batchSize: [Int]? = nil
    public var optimizer: [String]? = nil
    public var schedule: [String]? = nil
    public var epochs: Int = 10
    /// Flags every run gets (data folder, limits, ...), passed to train as they are.
    public var train: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey { case model, seed, lr, batchSize = "batch-size", optimizer, schedule, epochs, train }

    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        // a key the grid does not know would be an axis silently not swept
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        let known = Set(["model", "seed", "lr", "batch-size", "optimizer", "schedule", "epochs", "train"])
        if let unknown = try d.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).filter({ !known.contains($0) }).sorted().first {
            throw SweepError("unknown key '\(unknown)' (a grid has \(known.sorted().joined(separator: ", ")))")
        }
        model = try c.decodeIfPresent([String].self, forKey: .model) ?? model
        seed = try c.decodeIfPresent([UInt64].self, forKey: .seed) ?? seed
        lr = try c.decodeIfPresent([Double].self, forKey: .lr)
        batchSize = try c.decodeIfPresent([Int].self, forKey: .batchSize)
        optimizer = try c.decodeIfPresent([String].self, forKey: .optimizer)
        schedule = try c.decodeIfPresent([String].self, forKey: .schedule)
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? epochs
        train = try c.decodeIfPresent([String].self, forKey: .train) ?? train
    }

    /// The report's comparison: its three models and the Custom net with 1x1 before pooling,
    /// 10 epochs each, at five seeds.
    public static var report: SweepGrid {
        var g = SweepGrid()
        g.model = ["lenet5", "regularized-lenet5", "custom", "custom-1x1-then-pool"]
        g.seed = [1, 2, 3, 4, 5]
        g.epochs = 10
        return g
    }

    /// Flags a sweep sets itself for each run (a fixed flag among them would contradict it).
    static let owned = ["--model", "--seed", "--lr", "--batch-size", "--optimizer", "--schedule", "--epochs", "--threads",
                        "--checkpoint", "--json", "--resume", "--evaluate", "--initial-checkpoint"]

    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw SweepError(what) } }
        try check(!model.isEmpty && !seed.isEmpty, "a sweep needs at least one model and one seed")
        try check((1...100_000).contains(epochs), "epochs must be in 1...100000, got \(epochs)")
        for axis in [lr?.count, batchSize?.count, optimizer?.count, schedule?.count] { try check(axis != 0, "an axis in the grid is empty") }
        try check(Set(model).count == model.count && Set(seed).count == seed.count, "an axis repeats a value")
        if let bad = train.first(where: { f in Self.owned.contains { f == $0 || f.hasPrefix($0 + "=") } }) {
            throw SweepError("the fixed train flags may not contain \(bad): the sweep sets it per run")
        }
        try check(runs.count <= 10_000, "\(runs.count) runs: a sweep has at most 10,000")
    }

    /// Every run of the grid, in a fixed order (models, then the other axes, seeds innermost).
    public var runs: [SweepRun] {
        var out: [SweepRun] = []
        for m in model {
            for l in lr.map({ $0.map(Optional.some) }) ?? [nil] {
                for b in batchSize.map({ $0.map(Optional.some) }) ?? [nil] {
                    for o in optimizer.map({ $0.map(Optional.some) }) ?? [nil] {
                        for s in schedule.map({ $0.map(Optional.some) }) ?? [nil] {
                            for seed in seed {
                                out.append(SweepRun(model: m, seed: seed, lr: l, batchSize: b, optimizer: o, schedule: s,
                                                    epochs: epochs, fixed: train))
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

public struct SweepError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// One run of a sweep: its train flags, its folder name, and where it stands.
public struct SweepRun: Equatable, Sendable {
    public var model: String
    public var seed: UInt64
    public var lr: Double?
    public var batchSize: Int?
    public var optimizer: String?
    public var schedule: String?
    public var epochs: Int
    public var fixed: [String]

    /// Everything but the seed: the runs a summary row averages over.
    public var configuration: String {
        var parts = [model]
        if let lr { parts.append("lr \(lr)") }
        if let batchSize { parts.append("batch \(batchSize)") }
        if let optimizer { parts.append(optimizer) }
        if let schedule { parts.append("schedule \(schedule)") }
        return parts.joined(separator: ", ")
    }

    /// A folder name from the run's values; a spec string (commas, colons) becomes a short hash.
    public var name: String {
        var parts = [Self.safe(model)]
        if let lr { parts.append("lr\(lr)") }
        if let batchSize { parts.append("b\(batchSize)") }
        if let optimizer { parts.append(Self.safe(optimizer)) }
        if let schedule { parts.append(Self.safe(schedule)) }
        parts.append("seed\(seed)")
        return parts.joined(separator: "_")
    }

    static func safe(_ s: String) -> String {
        let ok = s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        if ok && s.count <= 40 { return s }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "spec-" + String(h, radix: 16).prefix(10)
    }

    /// The train flags of a fresh run (the folder's files and thread count added by the caller).
    public var flags: [String] {
        var f = ["--model", model, "--seed", String(seed), "--epochs", String(epochs)]
        if let lr { f += ["--lr", String(lr)] }
        if let batchSize { f += ["--batch-size", String(batchSize)] }
        if let optimizer { f += ["--optimizer", optimizer] }
        if let schedule { f += ["--schedule", schedule] }
        return f + fixed
    }
}
