import CZlib
import Foundation

/// Checkpoints in the safetensors format: 8-byte little-endian header length, a JSON
/// header (tensor name -> dtype, shape, data_offsets; "__metadata__" -> strings), then
/// raw little-endian tensors. Readable by the Python `safetensors` package and PyTorch.
/// Holds every layer's weights and biases, their momentum buffers, and in metadata the
/// model spec, the run's configuration and its progress (the whole RNG state), and a CRC-32
/// over those three strings and every tensor byte, checked on load with the file's exact
/// length: a flipped bit or appended bytes are a damaged checkpoint, not a silent change.
public enum Checkpoint {
    public static let format = "tinyconv-checkpoint-1"

    public struct Contents {
        public var config: TrainingConfig
        public var progress: TrainingProgress
    }

    /// Tensor names and shapes for a network, in file order: per layer, its tensors, then
    /// their momentum buffers (conv1.weight, conv1.bias, conv1.weight.momentum, ...).
    static func tensors(_ network: Network) -> [(name: String, shape: [Int], offset: Int, count: Int, momentum: Bool)] {
        var out: [(String, [Int], Int, Int, Bool)] = []
        for layer in network.resolved {
            let own = network.tensors.filter { $0.layer.index == layer.index }
            for momentum in [false, true] {
                for t in own {
                    out.append((t.name + (momentum ? ".momentum" : ""), t.tensor.shape, t.offset, t.tensor.count, momentum))
                }
            }
        }
        return out
    }

    public static func write(_ path: String, network: Network, config: TrainingConfig, progress: TrainingProgress) throws {
        let list = tensors(network)
        var header: [String: Any] = [:]
        var offset = 0
        var body = Data(capacity: 4 * list.reduce(0) { $0 + $1.count })
        for t in list {
            let src = (t.momentum ? network.velocity : network.parameters).pointer + t.offset
            for j in 0..<t.count { withUnsafeBytes(of: src[j].bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        }
        for t in list {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]]
            offset += 4 * t.count
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let configText = String(decoding: try encoder.encode(config), as: UTF8.self)
        let progressText = String(decoding: try encoder.encode(progress), as: UTF8.self)
        let spec = network.spec.description
        header["__metadata__"] = [
            "format": format,
            "spec": spec,
            "config": configText,
            "progress": progressText,
            "checksum": checksum(spec: spec, config: configText, progress: progressText, tensors: body),
        ]
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }  // pad so tensors start 8-byte aligned
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        try AtomicFile.write(file, to: path)
    }

    /// "crc32:XXXXXXXX" over the metadata strings that matter and the tensor bytes.
    static func checksum(spec: String, config: String, progress: String, tensors: Data) -> String {
        var crc = crc32(0, nil, 0)
        for part in [Data((spec + "\n" + config + "\n" + progress + "\n").utf8), tensors] {
            part.withUnsafeBytes { raw in
                var p = raw.bindMemory(to: UInt8.self).baseAddress, left = raw.count
                while left > 0 {
                    let n = min(left, 1 << 30)
                    crc = crc32(crc, p, uInt(n))
                    p = p! + n
                    left -= n
                }
            }
        }
        return String(format: "crc32:%08x", UInt32(crc))
    }

    static func fail(_ path: String, _ fault: String) -> DataFileError { DataFileError(path: path, fault: "checkpoint: \(fault)") }

    /// Reads the header only: configuration and progress (to build the right network).
    public static func readContents(_ path: String) throws -> Contents {
        let (header, _, _) = try readHeader(path)
        return try contents(header, path: path)
    }

    static func readHeader(_ path: String) throws -> ([String: Any], Data, Int) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw fail(path, "no such file") }
        guard !isDir.boolValue else { throw fail(path, "is a folder") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail(path, "cannot be read") }
        return try parseHeader(data, path: path)
    }

    /// Checks and parses a checkpoint's bytes (a fuzz target drives this with anything):
    /// the header, its TinyConv metadata, and every tensor's entry against the model it names.
    public static func parse(_ data: Data, path: String) throws -> Contents {
        let (header, _, _) = try parseHeader(data, path: path)
        let c = try contents(header, path: path)
        let network = try Network(spec: try NetworkSpec.parse(c.config.spec), seed: c.config.seed)
        _ = try load(data, path: path, into: network)
        return c
    }

    static func parseHeader(_ data: Data, path: String) throws -> ([String: Any], Data, Int) {
        guard data.count >= 8 else { throw fail(path, "truncated (\(data.count) bytes, no header)") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n >= 2, n <= UInt64(data.count - 8), n <= 100_000_000 else {
            throw fail(path, "header length \(n) does not fit a \(data.count)-byte file (truncated or not safetensors)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw fail(path, "the header is not a JSON object (damaged or not safetensors)")
        }
        return (header, data, 8 + Int(n))
    }

    static func contents(_ header: [String: Any], path: String) throws -> Contents {
        guard let meta = header["__metadata__"] as? [String: String], meta["format"] == format else {
            throw fail(path, "no TinyConv metadata (format \(format) expected)")
        }
        let decoder = JSONDecoder()
        guard let c = meta["config"], let config = try? decoder.decode(TrainingConfig.self, from: Data(c.utf8)),
              let p = meta["progress"], let progress = try? decoder.decode(TrainingProgress.self, from: Data(p.utf8)) else {
            throw fail(path, "damaged configuration or progress metadata")
        }
        return Contents(config: config, progress: progress)
    }

    /// Loads parameters and momentum into `network` (which must have the checkpoint's
    /// spec) and returns the configuration and progress.
    @discardableResult
    public static func load(_ path: String, into network: Network) throws -> Contents {
        let (header, data, start) = try readHeader(path)
        return try load(header: header, data: data, start: start, path: path, into: network)
    }

    static func load(_ data: Data, path: String, into network: Network) throws -> Contents {
        let (header, data, start) = try parseHeader(data, path: path)
        return try load(header: header, data: data, start: start, path: path, into: network)
    }

    static func load(header: [String: Any], data: Data, start: Int, path: String, into network: Network) throws -> Contents {
        let c = try contents(header, path: path)
        let spec = (header["__metadata__"] as? [String: String])?["spec"] ?? ""
        guard spec == network.spec.description else {
            throw fail(path, "written for model '\(spec)', not '\(network.spec.description)'")
        }
        let body = data.count - start
        let list = tensors(network)
        let expected = 4 * list.reduce(0) { $0 + $1.count }
        guard body == expected else {
            throw fail(path, body < expected ? "truncated: \(body) tensor bytes, the model needs \(expected)"
                                             : "\(body - expected) bytes after the last tensor (damaged or appended to)")
        }
        let meta = header["__metadata__"] as? [String: String] ?? [:]
        if let stored = meta["checksum"] {  // checkpoints from before the checksum load without one
            let actual = checksum(spec: meta["spec"] ?? "", config: meta["config"] ?? "", progress: meta["progress"] ?? "",
                                  tensors: data.subdata(in: start..<data.count))
            guard stored == actual else { throw fail(path, "checksum \(actual) does not match the stored \(stored) (damaged checkpoint)") }
        }
        for t in list {
            guard let entry = header[t.name] as? [String: Any] else { throw fail(path, "tensor \(t.name) is missing") }
            guard entry["dtype"] as? String == "F32" else { throw fail(path, "tensor \(t.name) is not F32") }
            guard let shape = entry["shape"] as? [Int], shape == t.shape else {
                throw fail(path, "tensor \(t.name) has shape \(entry["shape"] ?? "none"), the model needs \(t.shape)")
            }
            guard let off = entry["data_offsets"] as? [Int], off.count == 2, off[0] >= 0, off[1] - off[0] == 4 * t.count else {
                throw fail(path, "tensor \(t.name) has bad data offsets")
            }
            guard off[1] <= body else { throw fail(path, "truncated: tensor \(t.name) ends at \(off[1]) of \(body) data bytes") }
            let dst = (t.momentum ? network.velocity : network.parameters).pointer + t.offset
            data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + start + off[0]
                for j in 0..<t.count {
                    var bits: UInt32 = 0
                    memcpy(&bits, p + 4 * j, 4)
                    dst[j] = Float(bitPattern: UInt32(littleEndian: bits))
                }
            }
        }
        for t in list {
            let values = UnsafeBufferPointer(start: (t.momentum ? network.velocity : network.parameters).pointer + t.offset, count: t.count)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw fail(path, "tensor \(t.name) element \(bad) is not finite (damaged checkpoint)")
            }
        }
        return c
    }
}
