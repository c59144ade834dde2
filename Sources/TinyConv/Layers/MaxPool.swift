/// Max pooling 2x2, stride 2 (an odd trailing row or column is dropped). Token `pool`.
/// Its backward also applies the ReLU backward of the layer before it when the plan says so.
public struct MaxPool: LayerUnit, Equatable {
    public init() {}
    public static let namePrefix = "pool"
    public static let tokenForm = "pool"
    public static func parse(_ token: String, at: String) throws -> (any LayerUnit)? { token == "pool" ? MaxPool() : nil }
    public var token: String { "pool" }

    public var needsSpatialInput: Bool { true }
    public func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { try input.pooled2x2(at: at) }
    public func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] {
        [InferenceOp("MaxPool", attributes: [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])])]
    }
    public var absorbsPreviousReLUBackward: Bool { true }

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
        Stage(layer, kernel: try MaxPoolKernel(.init(layer, batch: capacity), name: layer.name),
              reluMask: decisions.appliesPreviousReLUBackward)
    }

    final class Stage: PerImageStage {
        let label: String
        let layers: ClosedRange<Int>
        let kernel: MaxPoolKernel
        let reluMask: Bool
        let inputFloats, outputFloats: Int
        init(_ layer: ResolvedLayer, kernel: MaxPoolKernel, reluMask: Bool) {
            (label, layers, self.kernel, self.reluMask) = (layer.name, layer.index...layer.index, kernel, reluMask)
            (inputFloats, outputFloats) = (layer.input.count, layer.output.count)
        }
        // y [n][H/2][W/2][C] = max over each 2x2 window of x [n][H][W][C]
        func forward(_ c: StageContext) { kernel.forward(batch: c.count, x: c.x, y: c.y) }
        func backward(_ c: StageContext) {
            guard let dx = c.dx else { return }
            kernel.backward(batch: c.count, x: c.x, y: c.y, dy: c.dy, dx: dx, reluMask: reluMask)
        }
    }
}

extension TensorShape {
    /// The output of a 2x2 stride-2 pooling (floor), or SpecError for an input under 2x2.
    func pooled2x2(at: String) throws -> TensorShape {
        guard height >= 2, width >= 2 else { throw SpecError(message: "\(at): 2x2 pooling needs at least a 2x2 input") }
        return TensorShape(height / 2, width / 2, channels)
    }
}

extension PoolShape {
    /// The pooling shape of a layer at a batch size.
    init(_ layer: ResolvedLayer, batch: Int) {
        self.init(batch: batch, height: layer.input.height, width: layer.input.width, channels: layer.input.channels)
    }
}
