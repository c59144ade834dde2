import Foundation
import TinyConv

/// A layer kind this exporter has no ONNX mapping for.
public struct ONNXExportError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "onnx export: \(message)" }
}

/// Turns a trained network into an ONNX model (opset 13): the inference graph (dropout
/// removed, ReLUs and pools in place, NHWC flatten explicit), weights as initializers,
/// and the spec and training metadata as metadata properties.
///
/// Input `input`: float N x 1 x 28 x 28 (NCHW), pixels / 255 as TinyConv trains on.
/// Outputs: `logits` (N x classes) and `probabilities` (their softmax).
public enum ONNXExporter {
    public static let opset: Int64 = 13
    public static let irVersion: Int64 = 8

    public static func model(_ network: Network, config: TrainingConfig, progress: TrainingProgress) throws -> Data {
        var g = ONNXGraphBuilder(name: "tinyconv", input: "input")
        let inShape = network.inputShape
        g.graph.input = [.floatTensor("input", batched: [inShape.channels, inShape.height, inShape.width])]
        for layer in network.resolved {
            guard let unit = layer.unit as? any ONNXLayer else {
                throw ONNXExportError(message: "layer \(layer.name) (\(layer.unit.token)) is of a kind with no ONNX mapping")
            }
            var weights: [String: [Float]] = [:]
            for t in network.tensors where t.layer.index == layer.index {
                weights[t.tensor.name] = Array(UnsafeBufferPointer(start: network.parameters.pointer + t.offset, count: t.tensor.count))
            }
            try unit.export(layer, weights: weights, into: &g)
        }
        g.flattenNHWC(name: "output")  // a net ending without a dense layer cannot be specified, but stay safe
        g.node("Identity", [g.current], output: "logits", name: "output")
        g.node("Softmax", ["logits"], output: "probabilities", name: "output", attributes: [.int("axis", 1)])
        g.graph.output = [.floatTensor("logits", batched: [network.classes]), .floatTensor("probabilities", batched: [network.classes])]
        g.graph.docString = "TinyConv \(network.spec.description): input N x 1 x 28 x 28 float (pixels / 255, NCHW); outputs logits and softmax probabilities"

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
            ("tinyconv.input", "N x 1 x 28 x 28 float32, NCHW, pixel / 255"),
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
        let network = try Network(spec: try NetworkSpec.parse(c.config.spec), seed: c.config.seed)
        try Checkpoint.load(path, into: network)
        try AtomicFile.write(try model(network, config: c.config, progress: c.progress), to: output)
    }
}
