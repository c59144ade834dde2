import Foundation
import Testing
@testable import ONNXExport
@testable import TinyConv

/// The exporter's own contract (the numerical check against ONNX Runtime runs in
/// scripts/test.sh, which has the Python packages).
@Suite("ONNX export")
struct ONNXExportTests {
    /// A layer kind the exporter does not know: the identity, as a user might add one.
    struct Identity: LayerUnit {
        static let namePrefix = "identity"
        static let tokenForm = "identity"
        static func parse(_ token: String, at: String) throws -> (any LayerUnit)? { token == "identity" ? Identity() : nil }
        var token: String { "identity" }
        func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { input }
        func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
            try Dropout(rate: 0).makeStage(layer, capacity: capacity, decisions: decisions)
        }
    }

    @Test("every registered layer kind has an ONNX mapping")
    func everyKind() {
        for kind in LayerRegistry.kinds { #expect(kind is any ONNXLayer.Type, "\(kind.namePrefix) has no ONNX mapping") }
    }

    @Test("a kind with no mapping is a one-line error naming the layer")
    func unknownKind() throws {
        let spec = NetworkSpec(layers: [Conv2D(kernel: 3, filters: 4), Identity(), Dense(units: 10)])
        let net = try Network(spec: spec, seed: 1)
        #expect(throws: ONNXExportError.self) { try ONNXExporter.model(net, config: TrainingConfig(), progress: TrainingProgress()) }
        do {
            _ = try ONNXExporter.model(net, config: TrainingConfig(), progress: TrainingProgress())
        } catch {
            #expect("\(error)" == "onnx export: layer identity1 (identity) is of a kind with no ONNX mapping")
        }
    }

    @Test("the graph: NCHW input, conv weights in OIHW, explicit NHWC flatten, no dropout node, metadata")
    func graph() throws {
        let net = try Network(spec: try ModelZoo.spec("regularized-lenet5"), seed: 4)
        let data = try ONNXExporter.model(net, config: TrainingConfig(), progress: TrainingProgress())
        let m = try Onnx_ModelProto(serializedBytes: data)
        #expect(m.opsetImport.first?.version == 13)
        let ops = m.graph.node.map(\.opType)
        #expect(ops == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Gemm", "Relu", "Gemm",
                        "Relu", "Gemm", "Identity", "Softmax"])
        #expect(m.graph.input.first?.type.tensorType.shape.dim.map(\.dimValue) == [0, 1, 28, 28])
        let w = try #require(m.graph.initializer.first { $0.name == "conv1.weight" })
        #expect(w.dims == [6, 1, 5, 5])
        // OIHW[co][ci][ky][kx] == HWIO[ky][kx][ci][co]: spot-check (co 4, ky 2, kx 3)
        let onnx = w.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(onnx[(4 * 1 + 0) * 25 + 2 * 5 + 3] == net.parameters[(2 * 5 + 3) * 6 + 4])
        let meta = Dictionary(uniqueKeysWithValues: m.metadataProps.map { ($0.key, $0.value) })
        #expect(meta["tinyconv.spec"] == net.spec.description)
    }
}
