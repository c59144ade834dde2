/// How a layer appears in an inference graph (the ONNX export), described by its own kind: the
/// operators applied in order to the running tensor (N x C x H x W while it is an image), each
/// with its attributes and its constant inputs in ONNX's layouts. The exporter turns these into
/// nodes and initializers without knowing any layer kind, so a new kind brings its mapping
/// with it.
public struct InferenceOp: Sendable {
    public enum Attribute: Sendable {
        case ints(String, [Int])
        case int(String, Int)
        case float(String, Float)
    }
    public struct Constant: Sendable {
        /// Unique within the graph, e.g. conv1.weight.
        public var name: String
        public var dims: [Int]
        public var values: [Float]
        public init(_ name: String, dims: [Int], values: [Float]) { (self.name, self.dims, self.values) = (name, dims, values) }
    }
    /// The ONNX operator: Conv, Relu, MaxPool, Gemm, ...
    public var op: String
    public var constants: [Constant]
    public var attributes: [Attribute]
    /// Flatten the running image into N x features in TinyConv's NHWC order first (a dense
    /// layer's weights are laid out for it).
    public var flattenFirst: Bool

    public init(_ op: String, constants: [Constant] = [], attributes: [Attribute] = [], flattenFirst: Bool = false) {
        (self.op, self.constants, self.attributes, self.flattenFirst) = (op, constants, attributes, flattenFirst)
    }

    /// The ReLU TinyConv fuses after a layer, as its own operator (none when the layer has none).
    public static func relu(_ layer: ResolvedLayer) -> [InferenceOp] { layer.relu ? [InferenceOp("Relu")] : [] }
}
