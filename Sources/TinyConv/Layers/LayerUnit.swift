/// A layer kind: one type per kind (Conv2D, MaxPool, AvgPool, Dense, Dropout), each in
/// its own file, owning its spec token, shapes, parameter tensors, FLOPs, the plan stage
/// that calls its kernels and how it appears in an inference graph (ONNX). Adding a kind:
/// its file, its kernel (one line in the C kernel list, its body, its twin), its tests and
/// one line in `LayerRegistry.kinds`.
public protocol LayerUnit: Sendable, CustomStringConvertible {
    /// Layer names are the prefix plus a count per kind: conv1, pool2, fc3.
    static var namePrefix: String { get }
    /// What a token of this kind looks like, for the "is not a layer" error.
    static var tokenForm: String { get }
    /// nil when the token is not of this kind; throws SpecError when it is but is malformed.
    static func parse(_ token: String, at: String) throws -> (any LayerUnit)?
    /// The token that parses back to an equal layer.
    var token: String { get }
    /// True for kinds that need an H x W x C input (so cannot follow a dense layer).
    var needsSpatialInput: Bool { get }
    /// Output shape for one sample, or SpecError (`at` names the layer for the message).
    func outputShape(_ input: TensorShape, at: String) throws -> TensorShape
    /// ReLU fused after the layer (conv: always; dense: unless it is the output layer).
    func fusesReLU(isOutputLayer: Bool) -> Bool
    /// Parameter tensors, in storage order (weights first).
    func parameters(input: TensorShape, output: TensorShape) -> [ParameterTensor]
    /// Forward multiply-adds per sample.
    func macsPerSample(input: TensorShape, output: TensorShape) -> Int
    /// The layer normalizes the one before it and takes over its ReLU (batch norm: conv -> bn
    /// -> ReLU, so the ReLU follows the normalization, as in PyTorch nets); it must follow a
    /// conv or dense layer.
    var takesPreviousReLU: Bool { get }
    /// The layer can apply the backward of a ReLU fused into the layer before it (max pool:
    /// the gradient goes only where the window's max is positive), saving a pass.
    var absorbsPreviousReLUBackward: Bool { get }
    /// This layer's stage for shards of up to `capacity` samples; kernel shapes are checked here.
    func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage
    /// One stage computing this layer and the next, when this kind has a fused kernel for
    /// the pair at these shapes (conv + max pool); nil otherwise.
    func makeFusedStage(_ layer: ResolvedLayer, next: ResolvedLayer, capacity: Int, algorithm: ConvAlgorithm) throws -> (any PlanStage)?
    /// The conv shape of this layer's GEMM kernels at a batch size (a dense layer is the 1x1 conv
    /// over batch x 1 x 1 x inputs), for kinds whose kernels take a ConvAlgorithm; nil otherwise.
    func kernelShape(_ layer: ResolvedLayer, batch: Int) -> ConvShape?
    /// The layer in an inference graph (ONNX), given its trained tensors by name ("weight",
    /// "bias", ...): the operators in order, [] for the identity at inference (dropout).
    func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp]
}

extension LayerUnit {
    public var description: String { token }
    public var needsSpatialInput: Bool { false }
    public func fusesReLU(isOutputLayer: Bool) -> Bool { false }
    public func parameters(input: TensorShape, output: TensorShape) -> [ParameterTensor] { [] }
    public func macsPerSample(input: TensorShape, output: TensorShape) -> Int { 0 }
    public var absorbsPreviousReLUBackward: Bool { false }
    public var takesPreviousReLU: Bool { false }
    public func makeFusedStage(_ layer: ResolvedLayer, next: ResolvedLayer, capacity: Int, algorithm: ConvAlgorithm) throws -> (any PlanStage)? { nil }
    public func kernelShape(_ layer: ResolvedLayer, batch: Int) -> ConvShape? { nil }
}

/// Every layer kind a spec may use, in the order the parser tries them.
public enum LayerRegistry {
    public static let kinds: [any LayerUnit.Type] = [Conv2D.self, MaxPool.self, AvgPool.self, Dense.self, Dropout.self, BatchNorm.self]

    /// The layer a token describes, or a SpecError naming the token.
    static func parse(_ token: String, at: String) throws -> any LayerUnit {
        for kind in kinds {
            if let unit = try kind.parse(token, at: at) { return unit }
        }
        throw SpecError(message: "\(at) is not a layer (\((kinds.map { $0.tokenForm } + ["l2:LAMBDA"]).joined(separator: ", ")))")
    }
}

/// One parameter tensor of a layer: its name within the layer, shape, initialization,
/// and whether the L2 penalty applies (weights, as Keras' kernel_regularizer; not biases).
public struct ParameterTensor: Sendable, Equatable {
    public enum Initializer: Sendable, Equatable {
        /// Keras' default: uniform in +-sqrt(6 / (fanIn + fanOut)).
        case glorotUniform(fanIn: Int, fanOut: Int)
        case zeros
        case ones
    }
    public let name: String
    public let shape: [Int]
    public let initializer: Initializer
    public let regularized: Bool
    /// False for state a layer keeps but no optimizer moves (batch norm's running statistics):
    /// its gradient is always zero and the update skips it.
    public let trainable: Bool
    public var count: Int { shape.reduce(1, *) }
    /// The same tensor kept at its initial values: no gradient step, no decay.
    public var frozen: ParameterTensor { ParameterTensor(name, shape: shape, initializer: initializer, regularized: false, trainable: false) }

    public init(_ name: String, shape: [Int], initializer: Initializer, regularized: Bool, trainable: Bool = true) {
        (self.name, self.shape, self.initializer, self.regularized, self.trainable) = (name, shape, initializer, regularized, trainable)
    }

    /// A weight tensor with Glorot-uniform init and L2, and its zero-initialized bias.
    static func weightAndBias(_ shape: [Int], fanIn: Int, fanOut: Int, outputs: Int) -> [ParameterTensor] {
        [ParameterTensor("weight", shape: shape, initializer: .glorotUniform(fanIn: fanIn, fanOut: fanOut), regularized: true),
         ParameterTensor("bias", shape: [outputs], initializer: .zeros, regularized: false)]
    }
}

/// One layer of a spec with its shapes worked out for a single sample.
public struct ResolvedLayer: Sendable {
    public let index: Int            // position in the network
    public let name: String          // conv1, pool1, fc1, dropout1, ...
    public let unit: any LayerUnit
    public let input: TensorShape
    public let output: TensorShape
    public let relu: Bool            // ReLU fused after this layer
    public let parameters: [ParameterTensor]

    public var kind: String { type(of: unit).namePrefix }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    /// Weights (tensors the L2 penalty applies to) and biases.
    public var weightCount: Int { parameters.filter(\.regularized).reduce(0) { $0 + $1.count } }
    public var biasCount: Int { parameterCount - weightCount }
    /// Forward multiply-adds per sample.
    public var macsPerSample: Int { unit.macsPerSample(input: input, output: output) }
    /// FLOPs per sample: forward 2 x MACs; backward 2 x MACs for the parameter gradient and
    /// 2 x MACs for the input gradient, which the first layer does not compute.
    public var flopsPerSample: (forward: Double, backward: Double) {
        let f = 2.0 * Double(macsPerSample)
        return (f, index == 0 ? f : 2 * f)
    }
}
