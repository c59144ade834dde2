import Foundation

/// Which update rule a run uses and its constants: SGD with momentum (Keras's, with the spec's
/// L2 on the loss), or AdamW as PyTorch defines it (decoupled weight decay on the weights; the
/// spec's L2, if any, still adds 2 lambda w to the gradient first).
public struct OptimizerSettings: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case sgd, adamw }
    public var kind: Kind = .sgd
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// AdamW's decoupled decay (PyTorch's default 0.01), applied to weights, not biases.
    public var weightDecay: Float = 0.01
    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ requirement: String) throws {
            if !ok { throw TrainingConfig.Invalid(field: field, requirement: requirement) }
        }
        try check(beta1.isFinite && beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1)")
        try check(beta2.isFinite && beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1)")
        try check(epsilon.isFinite && epsilon > 0, "epsilon", "must be a positive number")
        try check(weightDecay.isFinite && weightDecay >= 0, "weightDecay", "must be 0 or more")
    }
}

/// The learning rate over a run, per step t = epoch * stepsPerEpoch + step (from 0):
/// - `constant`: lr;
/// - `step:E:G`: lr * G^floor(epoch / E) (every E epochs the rate is multiplied by G);
/// - `cosine[:W]`: a linear warm-up over the first W epochs (lr * (t + 1) / warmup steps), then
///   lr * (1 + cos(pi * (t - warmup) / (total - warmup))) / 2 down to 0 at the last step of the
///   configured epochs (PyTorch's CosineAnnealingLR with eta_min 0, stepped per batch).
/// A pure function of (t, configuration): a resumed run continues the same curve.
public enum LearningRateSchedule: Equatable, Sendable, CustomStringConvertible {
    case constant
    case step(epochs: Int, gamma: Double)
    case cosine(warmupEpochs: Int)

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "constant" where parts.count == 1: self = .constant
        case "step" where parts.count == 3:
            guard let e = Int(parts[1]), e >= 1, let g = Double(parts[2]), g.isFinite, g > 0 else {
                throw TrainingConfig.Invalid(field: "schedule", requirement: "step:EPOCHS:GAMMA needs EPOCHS >= 1 and GAMMA > 0, got \(text)")
            }
            self = .step(epochs: e, gamma: g)
        case "cosine" where parts.count <= 2:
            let w = parts.count == 2 ? Int(parts[1]) : 0
            guard let w, w >= 0 else {
                throw TrainingConfig.Invalid(field: "schedule", requirement: "cosine[:WARMUP] needs WARMUP epochs >= 0, got \(text)")
            }
            self = .cosine(warmupEpochs: w)
        default:
            throw TrainingConfig.Invalid(field: "schedule", requirement: "must be constant, step:EPOCHS:GAMMA or cosine[:WARMUP], got \(text)")
        }
    }

    public var description: String {
        switch self {
        case .constant: return "constant"
        case let .step(e, g): return "step:\(e):\(g)"
        case let .cosine(w): return w > 0 ? "cosine:\(w)" : "cosine"
        }
    }

    /// The rate at global step t of a run of `epochs` epochs of `stepsPerEpoch` steps.
    public func rate(_ lr: Float, step t: Int, stepsPerEpoch: Int, epochs: Int) -> Float {
        switch self {
        case .constant:
            return lr
        case let .step(e, g):
            return Float(Double(lr) * pow(g, Double(t / max(stepsPerEpoch, 1) / e)))
        case let .cosine(w):
            let total = max(epochs * stepsPerEpoch, 1), warmup = min(w * stepsPerEpoch, total - 1)
            if t < warmup { return Float(Double(lr) * Double(t + 1) / Double(warmup)) }
            let progress = Double(t - warmup) / Double(max(total - warmup, 1))
            return Float(Double(lr) * 0.5 * (1 + cos(Double.pi * min(progress, 1))))
        }
    }
}
