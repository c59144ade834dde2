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
    public init() {}
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
}

public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
