import Foundation
import TinyConv

/// Turns a trained network into an ONNX model (opset 13): the inference graph (dropout
/// removed, ReLUs and pools in place, NHWC flatten explicit), weights as initializers,
/// and the spec and training metadata as metadata properties.
///
/// Input `input`: float N x C x H x W (NCHW) in the network's input shape, as TinyConv trains on
/// (byte pixels / 255, float32 data as it is).
/// Outputs: `logits` (N x classes) and `probabilities` (their softmax).
public enum ONNXExporter {
    public static let opset: Int64 = 13
    public static let irVersion: Int64 = 8

    public static func model(_ network: Network, config: TrainingConfig, progress: TrainingProgress) throws -> Data {
        var g = ONNXGraphBuilder(name: "tinyconv", input: "input")
        let inShape = network.inputShape
        g.graph.input = [.floatTensor("input", batched: [inShape.channels, inShape.height, inShape.width])]
        var ops: [(layer: String, op: InferenceOp)] = []
        for layer in network.resolved {
            var tensors: [String: [Float]] = [:]
            for t in network.tensors where t.layer.index == layer.index {
                tensors[t.tensor.name] = Array(UnsafeBufferPointer(start: network.parameters.pointer + t.offset, count: t.tensor.count))
            }
            ops += layer.unit.inferenceOps(layer, tensors: tensors).map { (layer.name, $0) }
        }
        for (layer, op) in InferenceOp.foldingBatchNormalization(ops) { g.append([op], layer: layer) }
        g.flattenNHWC(name: "output")  // a net ending without a dense layer cannot be specified, but stay safe
        g.node("Identity", [g.current], output: "logits", name: "output")
        g.node("Softmax", ["logits"], output: "probabilities", name: "output", attributes: [.int("axis", 1)])
        g.graph.output = [.floatTensor("logits", batched: [network.classes]), .floatTensor("probabilities", batched: [network.classes])]
        let inputText = "N x \(inShape.channels) x \(inShape.height) x \(inShape.width) float32, NCHW (byte pixels / 255, float32 data as it is)"
        g.graph.docString = "TinyConv \(network.spec.description): input \(inputText); outputs logits and softmax probabilities"

        var m = Onnx_ModelProto()
        m.irVersion = irVersion
        m.producerName = "TinyConv"
        m.producerVersion = "1"
        m.domain = "tinyconv"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Self.opset
        m.opsetImport = [opset]
        m.graph = g.graph
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata: [(String, String)] = [
            ("tinyconv.spec", network.spec.description),
            ("tinyconv.model", config.model),
            ("tinyconv.config", String(decoding: try encoder.encode(config), as: UTF8.self)),
            ("tinyconv.epochs_trained", String(progress.epoch)),
            ("tinyconv.test_accuracy", progress.history.last.map { String($0.testAccuracy) } ?? ""),
            ("tinyconv.input", inputText),
            ("tinyconv.outputs", "logits [N, classes]; probabilities = softmax(logits)"),
        ]
        m.metadataProps = metadata.map { kv in
            var e = Onnx_StringStringEntryProto()
            e.key = kv.0
            e.value = kv.1
            return e
        }
        return try m.serializedData()
    }

    /// Reads a checkpoint and writes its ONNX model to `output`, whole or not at all.
    public static func export(checkpoint path: String, to output: String) throws {
        let c = try Checkpoint.readContents(path)
        let network = try Network(spec: try c.config.networkSpec(), seed: c.config.seed)
        try Checkpoint.load(path, into: network)
        try AtomicFile.write(try model(network, config: c.config, progress: c.progress), to: output)
    }
}
