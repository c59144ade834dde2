/// A sequential network as data: the layers in order, the input shape and the L2
/// weight penalty. Built from a spec string (see docs/model-spec.md) or the zoo.
///
/// Rules: each layer kind says whether a ReLU follows it (conv: always; dense: unless it
/// is the output layer, whose logits feed softmax cross-entropy); a flatten is implied
/// before the first dense layer (NHWC order).
public struct NetworkSpec: Hashable, Sendable, CustomStringConvertible {
    public var layers: [any LayerUnit]
    public var l2: Float
    public var input: TensorShape
    public var classes: Int

    public init(layers: [any LayerUnit], l2: Float = 0, input: TensorShape = TensorShape(28, 28, 1), classes: Int = 10) {
        self.layers = layers
        self.l2 = l2
        self.input = input
        self.classes = classes
    }

    /// Canonical spec text: parses back to an equal spec.
    public var description: String {
        (layers.map(\.token) + (l2 > 0 ? ["l2:\(l2)"] : [])).joined(separator: ",")
    }

    // Two specs are equal when their canonical texts (and input and classes) are.
    public static func == (a: NetworkSpec, b: NetworkSpec) -> Bool {
        a.description == b.description && a.input == b.input && a.classes == b.classes
    }
    public func hash(into h: inout Hasher) {
        h.combine(description)
        h.combine(input)
        h.combine(classes)
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
