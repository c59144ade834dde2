/// A sequential network as data: the layers in order, the input shape and the L2
/// weight penalty. Built from a spec string (see docs/model-spec.md) or the zoo.
///
/// Rules: ReLU follows every conv and every dense layer except the last dense layer,
/// whose logits feed softmax cross-entropy; a flatten is implied before the first
/// dense layer (NHWC order).
public struct NetworkSpec: Hashable, Sendable, CustomStringConvertible {
    public enum Padding: String, Sendable { case valid, same }

    public enum Layer: Hashable, Sendable {
        case conv(kernel: Int, filters: Int, padding: Padding)
        case maxPool
        case dense(units: Int)
        case dropout(rate: Float)

        /// The spec token that parses back to this layer.
        public var token: String {
            switch self {
            case let .conv(k, f, p): return "conv\(k)x\(k)x\(f)" + (p == .same ? ":same" : "")
            case .maxPool: return "pool"
            case let .dense(u): return "fc\(u)"
            case let .dropout(r): return "dropout\(r)"
            }
        }
    }

    public var layers: [Layer]
    public var l2: Float
    public var input: TensorShape
    public var classes: Int

    public init(layers: [Layer], l2: Float = 0, input: TensorShape = TensorShape(28, 28, 1), classes: Int = 10) {
        self.layers = layers
        self.l2 = l2
        self.input = input
        self.classes = classes
    }

    /// Canonical spec text: parses back to an equal spec.
    public var description: String {
        (layers.map(\.token) + (l2 > 0 ? ["l2:\(l2)"] : [])).joined(separator: ",")
    }
}

/// Height x width x channels of one sample (NHWC without the N).
public struct TensorShape: Hashable, Sendable, CustomStringConvertible, Codable {
    public var height, width, channels: Int
    public init(_ height: Int, _ width: Int, _ channels: Int) {
        (self.height, self.width, self.channels) = (height, width, channels)
    }
    public var count: Int { height * width * channels }
    public var description: String { "\(height)x\(width)x\(channels)" }
}
