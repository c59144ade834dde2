/// Fully connected layer over the flattened NHWC input; ReLU fused unless it is the
/// output layer. Token `fcN`. Parameters: weight [in][out], bias [out].
public struct Dense: LayerUnit, Equatable {
    public let units: Int
    public init(units: Int) { self.units = units }

    public static let namePrefix = "fc"
    public static let tokenForm = "fcN"
    public static func parse(_ token: String, at: String) throws -> (any LayerUnit)? {
        guard token.hasPrefix("fc") else { return nil }
        guard let u = Int(token.dropFirst(2)), (1...65536).contains(u) else {
            throw SpecError(message: "\(at): expected fcUNITS with 1...65536 units, e.g. fc120")
        }
        return Dense(units: u)
    }
    public var token: String { "fc\(units)" }

    public func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { TensorShape(1, 1, units) }
    public func fusesReLU(isOutputLayer: Bool) -> Bool { !isOutputLayer }
    public func parameters(input: TensorShape, output: TensorShape) -> [ParameterTensor] {
        ParameterTensor.weightAndBias([input.count, units], fanIn: input.count, fanOut: units, outputs: units)
    }
    public func macsPerSample(input: TensorShape, output: TensorShape) -> Int { input.count * units }

    public func shape(_ layer: ResolvedLayer, batch: Int) -> DenseShape {
        DenseShape(batch: batch, inputs: layer.input.count, outputs: units)
    }

    public func kernelShape(_ layer: ResolvedLayer, batch: Int) -> ConvShape? { shape(layer, batch: batch).asConv }

    // Gemm: Y = X [N][in] * W [in][out] + b, W as trained (transB = 0), X flattened in NHWC order
    public func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] {
        [InferenceOp("Gemm", constants: [.init("\(layer.name).weight", dims: [layer.input.count, units], values: tensors["weight"]!),
                                         .init("\(layer.name).bias", dims: [units], values: tensors["bias"]!)],
                     flattenFirst: true)] + InferenceOp.relu(layer)
    }

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
        LinearStage(layer, kernel: try DenseKernel(shape(layer, batch: capacity), algorithm: decisions.algorithm, name: layer.name),
                    decisions: decisions)
    }
}
