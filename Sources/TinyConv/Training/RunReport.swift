import Foundation

/// The --json output of a training run (schema in docs/train-json.md).
public struct RunReport: Codable {
    public var tool = "tinyconv-train"
    public var schemaVersion = 1
    public var config: TrainingConfig
    public var parameters: Int
    public var weights: Int
    public var isa: String
    public var epochs: [EpochRecord]
    public var bestValidationEpoch: Int?
    public var testAccuracyAtBestValidation: Double?
    public var finalTestAccuracy: Double?

    public init(config: TrainingConfig, network: Network, history: [EpochRecord], best: EpochRecord?) {
        self.config = config
        parameters = network.parameterCount
        weights = network.weightCount
        isa = ISA.active.description
        epochs = history
        bestValidationEpoch = best?.epoch
        testAccuracyAtBestValidation = best?.testAccuracy
        finalTestAccuracy = history.last?.testAccuracy
    }

    public func write(to path: String) throws {
        try JSONFile.write(self, to: path)
    }
}
