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

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, fusion: StageFusion) throws -> any PlanStage {
        Stage(layer, kernel: try DenseKernel(shape(layer, batch: capacity), name: layer.name), fusion: fusion)
    }

    final class Stage: SplitBackwardStage {
        let label: String
        let layers: ClosedRange<Int>
        let kernel: DenseKernel
        let relu: Bool
        let weightCount: Int
        let fusion: StageFusion

        init(_ layer: ResolvedLayer, kernel: DenseKernel, fusion: StageFusion) {
            (label, layers, self.kernel, self.fusion) = (layer.name, layer.index...layer.index, kernel, fusion)
            relu = layer.relu
            weightCount = layer.weightCount
        }
        var scratchFloats: Int { kernel.workspaceFloats }

        // y [n][out] = relu?(x [n][in] * w + b)
        func forward(_ c: StageContext) {
            kernel.forward(batch: c.count, x: c.x, weights: c.parameters, bias: c.parameters + weightCount, y: c.y, relu: relu,
                           workspace: c.scratch)
        }
        func backward(_ c: StageContext) {
            if relu && !fusion.reluBackwardDoneByNext {
                ReLUKernel.backward(count: c.count * kernel.shape.outputs, y: c.y, dy: c.dy, dx: c.dy)
            }
            backwardParameters(c)
            backwardData(c)
        }
        func backwardParameters(_ c: StageContext) {
            kernel.backwardWeights(batch: c.count, x: c.x, dy: c.dy, dw: c.gradients, db: c.gradients + weightCount,
                                   accumulate: false, workspace: c.scratch)
        }
        func backwardData(_ c: StageContext) {
            if let dx = c.dx { kernel.backwardData(batch: c.count, dy: c.dy, weights: c.parameters, dx: dx, workspace: c.scratch) }
        }
    }
}
