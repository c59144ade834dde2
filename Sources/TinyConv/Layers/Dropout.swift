/// Inverted dropout, token `dropoutR` (rate R in [0, 1)). The mask of sample s, element e
/// in step t is a pure function of (seed, stream(t, layer), s * features + e), so it is
/// the same whatever shard or thread computes it. Identity at evaluation.
public struct Dropout: LayerUnit, Equatable {
    public let rate: Float
    public init(rate: Float) { self.rate = rate }

    public static let namePrefix = "dropout"
    public static let tokenForm = "dropoutR"
    public static func parse(_ token: String, at: String) throws -> (any LayerUnit)? {
        guard token.hasPrefix("dropout") else { return nil }
        guard let r = Float(token.dropFirst(7)), r >= 0, r < 1 else {
            throw SpecError(message: "\(at): expected dropoutRATE with rate in [0, 1), e.g. dropout0.3")
        }
        return Dropout(rate: r)
    }
    public var token: String { "dropout\(rate)" }

    public func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { input }
    /// Inference: the identity, no operator.
    public func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] { [] }

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
        Stage(layer, rate: rate)
    }

    final class Stage: PerImageStage {
        let label: String
        let layers: ClosedRange<Int>
        let rate: Float
        let features: Int
        let layerIndex: UInt64
        init(_ layer: ResolvedLayer, rate: Float) {
            (label, layers, self.rate) = (layer.name, layer.index...layer.index, rate)
            features = layer.input.count
            layerIndex = UInt64(layer.index)
        }
        var maskBytesPerSample: Int { features }
        var inputFloats: Int { features }
        var outputFloats: Int { features }

        func forward(_ c: StageContext) {
            let count = c.count * features
            if !c.training || rate == 0 {
                c.y.update(from: c.x, count: count)
                return
            }
            let stream = c.step &* 64 &+ layerIndex
            DropoutKernel.forward(count: count, rate: rate, seed: c.seed, stream: stream, first: UInt64(c.firstSample * features),
                                  x: c.x, y: c.y, mask: c.mask)
        }
        func backward(_ c: StageContext) {
            guard let dx = c.dx else { return }
            let count = c.count * features
            if rate == 0 { dx.update(from: c.dy, count: count); return }
            DropoutKernel.backward(count: count, rate: rate, mask: c.mask, dy: c.dy, dx: dx)
        }
    }
}
