/// Everything that defines a training run (written to --json and into checkpoints).
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var model: String = "lenet5"      // zoo name or spec string, as the user gave it
    public var spec: String = ModelZoo.lenet5  // canonical spec text
    public var epochs = 10
    public var batchSize = 32
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    public var seed: UInt64 = 1
    public var threads = 1
    public var shardSize = 8
    public var scheduler: SchedulerBackend = .dispatch
    public var validation = 5000
    public var limit: Int? = nil
    public var optimizer = OptimizerSettings()
    /// LearningRateSchedule text: constant, step:EPOCHS:GAMMA or cosine[:WARMUP].
    public var schedule = "constant"
    /// The data's image shape and class count, which the network was built for.
    public var input = TensorShape(28, 28, 1)
    public var classes = 10
    public init() {}

    /// The network this configuration describes (its spec on its input and classes).
    public func networkSpec() throws -> NetworkSpec { try NetworkSpec.parse(spec, input: input, classes: classes) }

    enum CodingKeys: String, CodingKey {
        case model, spec, epochs, batchSize, learningRate, momentum, seed, threads, shardSize, scheduler, validation, limit
        case optimizer, schedule, input, classes
    }

    /// Fields added later (optimizer, schedule) default when absent, so older checkpoints read.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        spec = try c.decode(String.self, forKey: .spec)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        momentum = try c.decode(Float.self, forKey: .momentum)
        seed = try c.decode(UInt64.self, forKey: .seed)
        threads = try c.decode(Int.self, forKey: .threads)
        shardSize = try c.decode(Int.self, forKey: .shardSize)
        scheduler = try c.decode(SchedulerBackend.self, forKey: .scheduler)
        validation = try c.decode(Int.self, forKey: .validation)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        optimizer = try c.decodeIfPresent(OptimizerSettings.self, forKey: .optimizer) ?? OptimizerSettings()
        schedule = try c.decodeIfPresent(String.self, forKey: .schedule) ?? "constant"
        input = try c.decodeIfPresent(TensorShape.self, forKey: .input) ?? TensorShape(28, 28, 1)
        classes = try c.decodeIfPresent(Int.self, forKey: .classes) ?? 10
    }

    public var learningRateSchedule: LearningRateSchedule { (try? LearningRateSchedule(parsing: schedule)) ?? .constant }

    /// Each shard keeps a full gradient buffer: 4096 / 8 shards x 61k floats is already 125 MB.
    public static let maxBatchSize = 4096
    public static let maxThreads = 1024

    /// A field out of range: `field` is the property name (the CLI maps it to its flag, a
    /// checkpoint reader to "checkpoint X: field Y").
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let field: String
        public let requirement: String
        public var description: String { "\(field) \(requirement)" }
    }

    /// Checks every field; the first one out of range is thrown.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ requirement: String) throws {
            if !ok { throw Invalid(field: field, requirement: requirement) }
        }
        try check((1...100_000).contains(epochs), "epochs", "must be in 1...100000")
        try check((1...Self.maxBatchSize).contains(batchSize), "batchSize", "must be in 1...\(Self.maxBatchSize)")
        try check(learningRate.isFinite && learningRate > 0, "learningRate", "must be a positive number")
        try check(momentum.isFinite && momentum >= 0 && momentum < 1, "momentum", "must be in [0, 1)")
        try check((1...Self.maxThreads).contains(threads), "threads", "must be in 1...\(Self.maxThreads)")
        try check((1...Self.maxBatchSize).contains(shardSize), "shardSize", "must be in 1...\(Self.maxBatchSize)")
        try check(validation >= 0, "validation", "must be 0 or more")
        try check(limit.map { $0 >= 1 } ?? true, "limit", "must be at least 1")
        try check(input.height >= 1 && input.width >= 1 && (1...64).contains(input.channels) && input.count <= 1 << 24,
                  "input", "must be an image shape of at most 2^24 values and 64 channels")
        try check((2...256).contains(classes), "classes", "must be in 2...256")
        try optimizer.validate()
        _ = try LearningRateSchedule(parsing: schedule)
    }

    /// A schedule that would not do what it says in a run of `epochs` epochs (a warm-up that
    /// never ends, a step that never comes), as a flag requirement; nil when it takes effect.
    /// Checked for the run about to train, not for a checkpoint's record of one.
    public var scheduleWithoutEffect: Invalid? {
        switch learningRateSchedule {
        case let .cosine(w) where w >= epochs:
            return Invalid(field: "schedule", requirement: "\(schedule) warms up over \(w) epoch(s), the whole run is \(epochs): the rate would never reach its peak nor decay (a warm-up shorter than --epochs)")
        case let .step(e, _) where e >= epochs:
            return Invalid(field: "schedule", requirement: "\(schedule) first changes the rate after epoch \(e), the run ends after \(epochs): it would never take effect (step:EPOCHS below --epochs, or constant)")
        default: return nil
        }
    }
}

/// Figures of one finished epoch.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// Where a run is: completed epochs, the next step within the current epoch and the
/// running sums of the current epoch. With the seed this is the whole RNG state: the
/// shuffles and dropout masks are counter-based functions of (seed, epoch, step).
public struct TrainingProgress: Codable, Sendable, Equatable {
    public var epoch = 0
    public var step = 0
    public var lossSum = 0.0
    public var correct = 0
    public var seen = 0
    public var seconds = 0.0
    public var history: [EpochRecord] = []
    public init() {}

    /// Checks what a progress read from a checkpoint must say whatever data it ran on: a
    /// count or a history that cannot be is a damaged (or edited) checkpoint (also for
    /// `--evaluate` and `export`, which report the epoch).
    public func validate(config: TrainingConfig, checkpoint path: String) throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw DataFileError(path: path, fault: "checkpoint: progress \(what) (damaged checkpoint)") }
        }
        try check(epoch >= 0 && epoch <= config.epochs, "says \(epoch) epochs done of \(config.epochs)")
        try check(history.count == epoch, "says \(epoch) epochs done but records \(history.count)")
        try check(history.enumerated().allSatisfy { $0.element.epoch == $0.offset + 1 }, "history is out of order")
        try check(history.allSatisfy { [$0.loss, $0.trainAccuracy, $0.testAccuracy, $0.testLoss, $0.seconds].allSatisfy(\.isFinite) },
                  "history holds a figure that is not a finite number")
        try check(step >= 0 && seen >= 0 && correct >= 0 && correct <= seen, "has \(correct) correct of \(seen) seen at step \(step)")
        try check(lossSum.isFinite && lossSum >= 0 && seconds.isFinite && seconds >= 0, "has a loss sum or time that is not a finite, non-negative number")
    }

    /// The same, and that it describes a run of `config` over a training set of `trainCount`
    /// images (for `--resume`). `step` equals the steps per epoch when the epoch's training
    /// finished but its evaluation was stopped: a resume evaluates and goes on.
    public func validate(config: TrainingConfig, trainCount: Int, checkpoint path: String) throws {
        try validate(config: config, checkpoint: path)
        let steps = (trainCount + config.batchSize - 1) / config.batchSize
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw DataFileError(path: path, fault: "checkpoint: progress \(what) (damaged checkpoint, or other data than it was trained on)") }
        }
        try check(step <= steps, "step \(step) is outside 0...\(steps) for \(trainCount) images in batches of \(config.batchSize)")
        try check(seen == min(step * config.batchSize, trainCount), "has \(seen) images seen at step \(step), expected \(min(step * config.batchSize, trainCount))")
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
