import Foundation
import Testing
@testable import ONNXExport
@testable import TinyConv

/// The exporter's own contract (the numerical check against ONNX Runtime runs in
/// scripts/test.sh, which has the Python packages).
@Suite("ONNX export")
struct ONNXExportTests {
    /// A layer kind the exporter has never heard of, as a user might add one: its unit says how
    /// it appears in an inference graph, and the exporter needs nothing else.
    struct Identity: LayerUnit {
        static let namePrefix = "identity"
        static let tokenForm = "identity"
        static func parse(_ token: String, at: String) throws -> (any LayerUnit)? { token == "identity" ? Identity() : nil }
        var token: String { "identity" }
        func outputShape(_ input: TensorShape, at: String) throws -> TensorShape { input }
        func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
            try Dropout(rate: 0).makeStage(layer, capacity: capacity, decisions: decisions)
        }
        func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] { [InferenceOp("Identity")] }
    }

    @Test("a new layer kind brings its own ONNX mapping: the exporter knows no kind")
    func newKind() throws {
        let spec = NetworkSpec(layers: [Conv2D(kernel: 3, filters: 4), Identity(), Dense(units: 10)])
        let net = try Network(spec: spec, seed: 1)
        let m = try Onnx_ModelProto(serializedBytes: try ONNXExporter.model(net, config: TrainingConfig(), progress: TrainingProgress()))
        #expect(m.graph.node.map(\.opType) == ["Conv", "Relu", "Identity", "Transpose", "Flatten", "Gemm", "Identity", "Softmax"])
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

    @Test("batch norm is folded into the conv or dense before it: no BatchNormalization node, W' = W s, b' = (b - mean) s + beta")
    func batchNormFolded() throws {
        let net = try Network(spec: try NetworkSpec.parse(BatchNormTests.spec), seed: 4)
        var rng = TestRNG(3)
        for t in net.tensors where t.layer.name.hasPrefix("bn") {  // statistics and affine away from 0 / 1
            for i in 0..<t.tensor.count { net.parameters[t.offset + i] = t.tensor.name == "running_var" ? abs(rng.float()) + 0.2 : rng.float() }
        }
        let m = try Onnx_ModelProto(serializedBytes: try ONNXExporter.model(net, config: TrainingConfig(), progress: TrainingProgress()))
        #expect(m.graph.node.map(\.opType) == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Gemm",
                                               "Relu", "Gemm", "Identity", "Softmax"])
        #expect(!m.graph.initializer.contains { $0.name.hasPrefix("bn") })
        func tensor(_ layer: String, _ name: String) -> [Float] {
            let t = net.tensors.first { $0.layer.name == layer && $0.tensor.name == name }!
            return Array(UnsafeBufferPointer(start: net.parameters.pointer + t.offset, count: t.tensor.count))
        }
        func initializer(_ name: String) throws -> [Float] {
            let t = try #require(m.graph.initializer.first { $0.name == name })
            return t.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let (gamma, beta) = (tensor("bn1", "weight"), tensor("bn1", "bias"))
        let (mean, variance) = (tensor("bn1", "running_mean"), tensor("bn1", "running_var"))
        let w = tensor("conv1", "weight"), b = tensor("conv1", "bias")  // HWIO [3][3][1][5]
        let fw = try initializer("conv1.weight"), fb = try initializer("conv1.bias")  // OIHW [5][1][3][3]
        for co in 0..<5 {
            let s = Double(gamma[co]) / (Double(variance[co]) + 1e-5).squareRoot()
            #expect(abs(Double(fb[co]) - ((Double(b[co]) - Double(mean[co])) * s + Double(beta[co]))) < 1e-6)
            for tap in 0..<9 { #expect(abs(Double(fw[co * 9 + tap]) - Double(w[tap * 5 + co]) * s) < 1e-6 * max(1, abs(s))) }
        }
    }
}
