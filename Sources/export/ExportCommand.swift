import ArgumentParser
import EngineOptions
import Foundation
import ONNXExport
import TinyConv

@main
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a TinyConv checkpoint as an ONNX model (opset 13).",
        discussion: """
            The model takes `input`, float N x 1 x 28 x 28 (NCHW, pixels / 255), and gives `logits` and \
            `probabilities` (softmax). Dropout is removed; the spec and training metadata are in the \
            model's metadata properties. See docs/onnx.md.
            """)

    @Argument(help: "The checkpoint (.safetensors) written by train.") var checkpoint: String
    @Option(name: [.short, .long], help: "Where to write the model (default: the checkpoint's name with .onnx).") var output: String?
    @Flag(name: .customLong("allow-format-1"), help: "Read a format-1 checkpoint, whose checksum leaves its tensor table unverified; this release only.")
    var allowFormat1 = false

    func run() throws {
        try checkEnvironment()
        let out = output ?? (checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(12)) + ".onnx" : checkpoint + ".onnx")
        try checkFiles(inputs: [("the checkpoint", checkpoint)], outputs: [("-o", out)])
        Checkpoint.acceptsFormat1 = allowFormat1
        do {
            for note in try Checkpoint.readContents(checkpoint).notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            try ONNXExporter.export(checkpoint: checkpoint, to: out)
        } catch {
            FileHandle.standardError.write(Data("export: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print("wrote \(out)")
        try checkStandardOutput("export")
    }
}
