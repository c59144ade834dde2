import Foundation

/// Batch normalization after a conv or dense layer, token `bn`, as PyTorch's BatchNorm2d /
/// BatchNorm1d (eps 1e-5, momentum 0.1): in training each channel is normalized by the mean and
/// (biased) variance of the whole minibatch, not of a shard, then scaled by `weight` and shifted
/// by `bias`; the running mean and (unbiased) variance are updated once per step and used in
/// evaluation. The layer before it hands it its ReLU (conv -> bn -> ReLU). Parameters:
/// weight [C] (ones), bias [C] (zeros), running_mean [C], running_var [C] (not trained).
///
/// The minibatch statistics need every shard: the scheduler runs this stage's partial sums on
/// every shard, reduces them over shards in a fixed tree (and across MPI ranks), then lets the
/// shards normalize (`BatchStatisticsStage`), so the bits are the same at any thread count,
/// backend and rank count. Two-pass: the mean first, then the squared deviations from it.
public struct BatchNorm: LayerUnit, Equatable {
    public static let epsilon: Float = 1e-5
    public static let momentum: Float = 0.1
    public init() {}

    public static let namePrefix = "bn"
    public static let tokenForm = "bn"
    public static func parse(_ token: String, at: String) throws -> (any LayerUnit)? { token == "bn" ? BatchNorm() : nil }
    public var token: String { "bn" }

    public var takesPreviousReLU: Bool { true }
    public func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { input }
    public func parameters(input: TensorShape, output: TensorShape) -> [ParameterTensor] {
        let c = input.channels
        return [ParameterTensor("weight", shape: [c], initializer: .ones, regularized: false),
                ParameterTensor("bias", shape: [c], initializer: .zeros, regularized: false),
                ParameterTensor("running_mean", shape: [c], initializer: .zeros, regularized: false, trainable: false),
                ParameterTensor("running_var", shape: [c], initializer: .ones, regularized: false, trainable: false)]
    }

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
        Stage(layer, reluBackwardDoneByNext: decisions.reluBackwardDoneByNext)
    }

    /// Inference: a per-channel affine, y = (x - running_mean) / sqrt(running_var + eps) * weight
    /// + bias (the exporter folds it into the conv or dense before it), then the ReLU.
    public func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] {
        let c = layer.input.channels, n = layer.name
        return [InferenceOp("BatchNormalization", constants: [
            .init("\(n).weight", dims: [c], values: tensors["weight"]!), .init("\(n).bias", dims: [c], values: tensors["bias"]!),
            .init("\(n).running_mean", dims: [c], values: tensors["running_mean"]!),
            .init("\(n).running_var", dims: [c], values: tensors["running_var"]!)],
            attributes: [.float("epsilon", Self.epsilon)])] + InferenceOp.relu(layer)
    }

    /// The stage: statistics of the current step live here (written in the scheduler's serial
    /// reductions, read by every shard after them).
    final class Stage: BatchStatisticsStage, @unchecked Sendable {
        let label: String
        let layers: ClosedRange<Int>
        let channels, positions: Int
        let relu, reluBackwardDoneByNext: Bool
        let mean, invStd, scale, g1, g2: UnsafeMutablePointer<Float>
        var totalRows = 1

        init(_ layer: ResolvedLayer, reluBackwardDoneByNext: Bool) {
            (label, layers) = (layer.name, layer.index...layer.index)
            channels = layer.input.channels
            positions = layer.input.height * layer.input.width
            relu = layer.relu
            self.reluBackwardDoneByNext = reluBackwardDoneByNext
            let c = channels
            (mean, invStd, scale, g1, g2) = (.allocate(capacity: c), .allocate(capacity: c), .allocate(capacity: c),
                                             .allocate(capacity: c), .allocate(capacity: c))
            for p in [mean, invStd, scale, g1, g2] { p.initialize(repeating: 0, count: c) }
        }
        deinit { for p in [mean, invStd, scale, g1, g2] { p.deallocate() } }

        var scratchFloats: Int { 3 * channels }  // evaluation's mean, scale, inv_std per shard
        var statisticsFloats: Int { 2 * channels }
        var forwardPhases: Int { 2 }

        // parameters: weight, bias, running_mean, running_var, C floats each
        func weight(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p }
        func bias(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p + channels }
        func runningMean(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p + 2 * channels }
        func runningVar(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p + 3 * channels }

        func forwardPartial(_ phase: Int, _ c: StageContext, partial: UnsafeMutablePointer<Float>) {
            let rows = c.count * positions
            if phase == 0 { BatchNormKernel.sums(rows: rows, channels: channels, x: c.x, into: partial) }
            else { BatchNormKernel.squares(rows: rows, channels: channels, x: c.x, mean: mean, into: partial) }
        }

        // totals: the minibatch's sums (phase 0) or squared deviations (phase 1); samples: its size
        func finishForwardPhase(_ phase: Int, totals: UnsafePointer<Float>, samples: Int, parameters: UnsafeMutablePointer<Float>) {
            let n = samples * positions
            totalRows = n
            if phase == 0 {
                for ch in 0..<channels { mean[ch] = totals[ch] / Float(n) }
                return
            }
            let w = weight(parameters), rm = runningMean(parameters), rv = runningVar(parameters)
            let m = BatchNorm.momentum, unbiased = Float(n) / Float(max(n - 1, 1))
            for ch in 0..<channels {
                let variance = totals[ch] / Float(n)
                invStd[ch] = 1 / (variance + BatchNorm.epsilon).squareRoot()
                scale[ch] = w[ch] * invStd[ch]
                rm[ch] = (1 - m) * rm[ch] + m * mean[ch]
                rv[ch] = (1 - m) * rv[ch] + m * (variance * unbiased)
            }
        }

        // y [n][H][W][C] = normalized x, ReLU'd if the layer before handed its ReLU over
        func forward(_ c: StageContext) {
            let rows = c.count * positions
            if c.training {
                BatchNormKernel.normalize(rows: rows, channels: channels, x: c.x, mean: mean, scale: scale, shift: bias(c.parameters),
                                          relu: relu, y: c.y)
                return
            }
            // evaluation: the running statistics, in this shard's scratch (workers run concurrently)
            let m = c.scratch, k = c.scratch + channels
            let w = weight(c.parameters), rm = runningMean(c.parameters), rv = runningVar(c.parameters)
            for ch in 0..<channels {
                m[ch] = rm[ch]
                k[ch] = w[ch] / (rv[ch] + BatchNorm.epsilon).squareRoot()
            }
            BatchNormKernel.normalize(rows: rows, channels: channels, x: c.x, mean: m, scale: k, shift: bias(c.parameters),
                                      relu: relu, y: c.y)
        }

        func backwardPartial(_ c: StageContext, partial: UnsafeMutablePointer<Float>) {
            let rows = c.count * positions
            if relu && !reluBackwardDoneByNext {  // through the ReLU, in place
                ReLUKernel.backward(count: rows * channels, y: c.y, dy: c.dy, dx: c.dy)
            }
            BatchNormKernel.backwardSums(rows: rows, channels: channels, x: c.x, mean: mean, invStd: invStd, dy: c.dy,
                                         g1: partial, g2: partial + channels)
            // this shard's parameter gradients: dweight = g2, dbias = g1; the running statistics none
            weight(c.gradients).update(from: partial + channels, count: channels)
            bias(c.gradients).update(from: partial, count: channels)
            runningMean(c.gradients).update(repeating: 0, count: 2 * channels)
        }

        func finishBackward(totals: UnsafePointer<Float>) {
            g1.update(from: totals, count: channels)
            g2.update(from: totals + channels, count: channels)
        }

        func backward(_ c: StageContext) {
            guard let dx = c.dx else { return }
            BatchNormKernel.backwardData(rows: c.count * positions, channels: channels, x: c.x, mean: mean, invStd: invStd,
                                         k: scale, g1: g1, g2: g2, totalRows: totalRows, dy: c.dy, dx: dx)
        }
    }
}
