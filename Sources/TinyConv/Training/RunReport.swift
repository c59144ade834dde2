import Foundation

/// The --json output of a training run (schema in docs/train-json.md).
public struct RunReport: Codable {
    public var tool = "tinyconv-train"
    public var schemaVersion = 1
    public var config: TrainingConfig
    public var parameters: Int
    public var weights: Int
    public var isa: String
    /// The plan as run: stages and their kernel algorithms (the same bits whatever they are).
    public var plan: [PlanStageRecord]?
    public var epochs: [EpochRecord]
    public var bestValidationEpoch: Int?
    public var testAccuracyAtBestValidation: Double?
    public var finalTestAccuracy: Double?

    public init(config: TrainingConfig, network: Network, plan: ExecutionPlan? = nil, history: [EpochRecord], best: EpochRecord?) {
        self.config = config
        parameters = network.parameterCount
        weights = network.weightCount
        isa = ISA.active.description
        self.plan = plan?.records
        epochs = history
        bestValidationEpoch = best?.epoch
        testAccuracyAtBestValidation = best?.testAccuracy
        finalTestAccuracy = history.last?.testAccuracy
    }

    public func write(to path: String) throws {
        try JSONFile.write(self, to: path)
    }
}
