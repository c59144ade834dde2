/// Average pooling 2x2, stride 2 (an odd trailing row or column is dropped), as the
/// original LeNet-5 subsampled (without its trainable scale). Token `avgpool`.
public struct AvgPool: LayerUnit, Equatable {
    public init() {}
    public static let namePrefix = "avgpool"
    public static let tokenForm = "avgpool"
    public static func parse(_ token: String, at: String) throws -> (any LayerUnit)? { token == "avgpool" ? AvgPool() : nil }
    public var token: String { "avgpool" }

    public var needsSpatialInput: Bool { true }
    public func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { try input.pooled2x2(at: at) }
    public func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] {
        [InferenceOp("AveragePool", attributes: [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])])]
    }

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
        Stage(layer, kernel: try AvgPoolKernel(.init(layer, batch: capacity), name: layer.name))
    }

    final class Stage: PerImageStage {
        let label: String
        let layers: ClosedRange<Int>
        let kernel: AvgPoolKernel
        let inputFloats, outputFloats: Int
        init(_ layer: ResolvedLayer, kernel: AvgPoolKernel) {
            (label, layers, self.kernel) = (layer.name, layer.index...layer.index, kernel)
            (inputFloats, outputFloats) = (layer.input.count, layer.output.count)
        }
        // y [n][H/2][W/2][C] = mean of each 2x2 window of x [n][H][W][C]
        func forward(_ c: StageContext) { kernel.forward(batch: c.count, x: c.x, y: c.y) }
        func backward(_ c: StageContext) {
            guard let dx = c.dx else { return }
            kernel.backward(batch: c.count, dy: c.dy, dx: dx)
        }
    }
}
