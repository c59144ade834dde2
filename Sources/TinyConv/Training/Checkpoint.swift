import CZlib
import Foundation

/// Checkpoints in the safetensors format: 8-byte little-endian header length, a JSON
/// header (tensor name -> dtype, shape, data_offsets; "__metadata__" -> strings), then
/// raw little-endian tensors. Readable by the Python `safetensors` package and PyTorch.
/// Holds every layer's weights and biases, the optimizer's state (momentum; AdamW also its
/// second moments, `.second`), and in metadata the
/// model spec, the run's configuration, its progress (the whole RNG state), what it was
/// trained on (the data files' sizes and CRC-32s) and a CRC-32 over the whole file.
///
/// A checkpoint is believed only when all of it checks, integrity before content: the
/// structure (each tensor F32, offsets in range, contiguous, covering the body exactly: a
/// truncated file says so), the checksum over every byte (header and tensor table included),
/// then the content (the model it names, every tensor's name and shape, finite values, progress a
/// run could have made). A file without a checksum is refused.
public enum Checkpoint {
    public static let format = "tinyconv-checkpoint-2"
    /// Written before the checksum covered the header (its checksum covers the spec,
    /// configuration, progress and tensor bytes, not the tensor table): refused unless
    /// `acceptsFormat1` (the commands' `--allow-format-1`, one release of grace), then read with a
    /// note. A file labelled format 1 that carries a field only format 2 writes (`data`) is a
    /// relabelled format-2 file and is refused either way (docs/trust.md).
    static let formatV1 = "tinyconv-checkpoint-1"
    /// Whether format-1 files are read at all (set once by a command from `--allow-format-1`).
    nonisolated(unsafe) public static var acceptsFormat1 = false
    static let placeholder = "crc32:00000000"

    public struct Contents {
        public var config: TrainingConfig
        public var progress: TrainingProgress
        /// The data files the run was trained on (nil in checkpoints of format 1).
        public var data: DataIdentity?
        /// Lines for the user (a format-1 file's unverified header).
        public var notes: [String] = []
    }

    /// Tensor names and shapes for a network, in file order: per layer, its tensors, then
    /// their momentum buffers (conv1.weight, conv1.bias, conv1.weight.momentum, ...), then with
    /// AdamW their second moments (conv1.weight.second, ...). `buffer` says which of the
    /// network's buffers each comes from.
    static func tensors(_ network: Network, optimizer: OptimizerSettings.Kind)
        -> [(name: String, shape: [Int], offset: Int, count: Int, buffer: FloatBuffer)] {
        var out: [(String, [Int], Int, Int, FloatBuffer)] = []
        let buffers: [(String, FloatBuffer)] = [("", network.parameters), (".momentum", network.velocity)]
            + (optimizer == .adamw ? [(".second", network.secondMoment)] : [])
        for layer in network.resolved {
            let own = network.tensors.filter { $0.layer.index == layer.index }
            for (suffix, buffer) in buffers {
                for t in own { out.append((t.name + suffix, t.tensor.shape, t.offset, t.tensor.count, buffer)) }
            }
        }
        return out
    }

    public static func write(_ path: String, network: Network, config: TrainingConfig, progress: TrainingProgress,
                             data: DataIdentity? = nil) throws {
        let list = tensors(network, optimizer: config.optimizer.kind)
        var header: [String: Any] = [:]
        var offset = 0
        var body = Data(capacity: 4 * list.reduce(0) { $0 + $1.count })
        for t in list {
            let src = t.buffer.pointer + t.offset
            for j in 0..<t.count { withUnsafeBytes(of: src[j].bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        }
        for t in list {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]]
            offset += 4 * t.count
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        header["__metadata__"] = [
            "format": format,
            "spec": network.spec.description,
            "config": String(decoding: try encoder.encode(config), as: UTF8.self),
            "progress": String(decoding: try encoder.encode(progress), as: UTF8.self),
            "data": try data.map { String(decoding: try encoder.encode($0), as: UTF8.self) } ?? "",
            "checksum": placeholder,
        ]
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }  // pad so tensors start 8-byte aligned
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        let at = try checksumRange(file, headerEnd: 8 + json.count)
        let sum = crc(file)
        file.replaceSubrange(at, with: Data(sum.utf8))
        try AtomicFile.write(file, to: path)
    }

    static func crc(_ data: Data) -> String {
        var c = crc32(0, nil, 0)
        data.withUnsafeBytes { raw in
            var p = raw.bindMemory(to: UInt8.self).baseAddress, left = raw.count
            while left > 0 {
                let n = min(left, 1 << 30)
                c = crc32(c, p, uInt(n))
                p = p! + n
                left -= n
            }
        }
        return String(format: "crc32:%08x", UInt32(c))
    }

    /// Where the checksum's value sits in the header: the one `"checksum":"crc32:XXXXXXXX"`
    /// (JSON keys are unescaped quotes; quotes inside metadata strings are escaped).
    static func checksumRange(_ file: Data, headerEnd: Int) throws -> Range<Int> {
        let key = Data("\"checksum\":\"crc32:".utf8)
        guard let r = file.range(of: key, in: 8..<headerEnd) else { throw CheckpointFault("has no checksum") }
        guard file.range(of: key, in: r.upperBound..<headerEnd) == nil else { throw CheckpointFault("has two checksums") }
        let value = (r.upperBound - 6)..<(r.upperBound + 8)  // "crc32:" + 8 hex digits
        guard value.upperBound < headerEnd, file[value.upperBound] == UInt8(ascii: "\"") else {
            throw CheckpointFault("has a malformed checksum")
        }
        return value
    }

    struct CheckpointFault: Error { let fault: String; init(_ f: String) { fault = f } }
    static func fail(_ path: String, _ fault: String) -> DataFileError { DataFileError(path: path, fault: "checkpoint: \(fault)") }

    /// A checked checkpoint's header and bytes: integrity and structure verified, content not yet.
    struct Verified {
        let header: [String: Any]
        let meta: [String: String]
        let data: Data
        let start: Int
        /// Tensor name -> (byte offset in the body, byte count), in file order.
        let tensors: [String: (Int, Int)]
        let shapes: [String: [Int]]
        var notes: [String] = []
    }

    /// Reads the file, verifies it and returns its configuration, progress and data identity
    /// (the model it names is checked when it is loaded into a network).
    public static func readContents(_ path: String) throws -> Contents {
        try contents(verify(try read(path), path: path), path: path)
    }

    static func read(_ path: String) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw fail(path, DataFileError.missing(path).fault)
        }
        guard !isDir.boolValue else { throw fail(path, "is a folder") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail(path, DataFileError.missing(path).fault) }
        return data
    }

    /// Checks and parses a checkpoint's bytes (a fuzz target drives this with anything):
    /// integrity, structure, metadata, and every tensor against the model it names.
    public static func parse(_ data: Data, path: String) throws -> Contents {
        let v = try verify(data, path: path)
        let c = try contents(v, path: path)
        let network = try Network(spec: try c.config.networkSpec(), seed: c.config.seed)
        return try load(v, path: path, into: network)
    }

    static func verify(_ data: Data, path: String) throws -> Verified {
        // 1. the safetensors frame
        guard data.count >= 8 else { throw fail(path, "truncated (\(data.count) bytes, no header)") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n >= 2, n <= UInt64(data.count - 8), n <= 100_000_000 else {
            throw fail(path, "header length \(n) does not fit a \(data.count)-byte file (truncated or not safetensors)")
        }
        let start = 8 + Int(n)
        guard let obj = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<start)), let header = obj as? [String: Any] else {
            throw fail(path, "the header is not a JSON object (damaged or not safetensors)")
        }
        guard let meta = header["__metadata__"] as? [String: String], let fmt = meta["format"], [format, formatV1].contains(fmt) else {
            throw fail(path, "no TinyConv metadata (format \(format) expected)")
        }
        // 2. structure: F32 tensors whose offsets tile the body exactly, in file order (a truncated
        // or appended-to file is told apart from a flipped bit)
        let body = data.count - start
        var entries: [(name: String, begin: Int, end: Int, shape: [Int])] = []
        for (name, value) in header where name != "__metadata__" {
            guard let e = value as? [String: Any] else { throw fail(path, "tensor \(name) has no entry") }
            guard e["dtype"] as? String == "F32" else { throw fail(path, "tensor \(name) is not F32") }
            guard let shape = e["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }), shape.count <= 8 else {
                throw fail(path, "tensor \(name) has a bad shape")
            }
            guard let off = e["data_offsets"] as? [Int], off.count == 2, off[0] >= 0, off[1] >= off[0] else {
                throw fail(path, "tensor \(name) has bad data offsets")
            }
            guard off[1] <= body else { throw fail(path, "truncated: tensor \(name) ends at \(off[1]) of \(body) data bytes") }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
            }
            guard !overflow, off[1] - off[0] == 4 * count else {
                throw fail(path, "tensor \(name): \(off[1] - off[0]) bytes for shape \(shape)")
            }
            entries.append((name, off[0], off[1], shape))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var next = 0
        for e in entries {
            guard e.begin == next else {
                throw fail(path, e.begin < next ? "tensor \(e.name) overlaps the tensor before it (data offsets \(e.begin)...\(e.end))"
                                                : "a gap of \(e.begin - next) bytes before tensor \(e.name)")
            }
            next = e.end
        }
        guard next == body else {
            throw fail(path, next < body ? "\(body - next) bytes after the last tensor (damaged or appended to)"
                                         : "truncated: \(body) tensor bytes, the table needs \(next)")
        }
        // 3. integrity, before anything the file says is believed
        var notes: [String] = []
        if fmt == format {
            let at: Range<Int>
            do { at = try checksumRange(data, headerEnd: start) } catch let e as CheckpointFault {
                throw fail(path, "\(e.fault): it cannot be verified (damaged), refusing it")
            }
            let stored = String(decoding: data[at], as: UTF8.self)
            var zeroed = data
            zeroed.replaceSubrange(at, with: Data(placeholder.utf8))
            let actual = crc(zeroed)
            guard stored == actual else { throw fail(path, "checksum \(actual) does not match the stored \(stored) (damaged checkpoint)") }
        } else {
            guard meta["data"] == nil else {
                throw fail(path, "says it is format 1 but carries format 2's data-files field: a relabelled format-2 file (tampered or damaged), refusing it")
            }
            guard acceptsFormat1 else {
                throw fail(path, "is a format-1 checkpoint, whose checksum does not cover its tensor table: refused (--allow-format-1 reads it, this release only; what the run writes is format 2)")
            }
            guard let stored = meta["checksum"] else {
                throw fail(path, "has no checksum: it cannot be verified (damaged, or written before checksums), refusing it")
            }
            var crcData = Data(((meta["spec"] ?? "") + "\n" + (meta["config"] ?? "") + "\n" + (meta["progress"] ?? "") + "\n").utf8)
            crcData.append(data.subdata(in: start..<data.count))
            guard stored == crc(crcData) else {
                throw fail(path, "checksum \(crc(crcData)) does not match the stored \(stored) (damaged checkpoint)")
            }
            notes.append("\(path): a format-1 checkpoint: its checksum does not cover the tensor table, which was checked for structure only")
        }
        return Verified(header: header, meta: meta, data: data, start: start,
                        tensors: Dictionary(uniqueKeysWithValues: entries.map { ($0.name, ($0.begin, $0.end - $0.begin)) }),
                        shapes: Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.shape) }), notes: notes)
    }

    static func contents(_ v: Verified, path: String) throws -> Contents {
        let decoder = JSONDecoder()
        guard let c = v.meta["config"], let config = try? decoder.decode(TrainingConfig.self, from: Data(c.utf8)),
              let p = v.meta["progress"], let progress = try? decoder.decode(TrainingProgress.self, from: Data(p.utf8)) else {
            throw fail(path, "damaged configuration or progress metadata")
        }
        var data: DataIdentity? = nil
        if let d = v.meta["data"], !d.isEmpty {
            guard let parsed = try? decoder.decode(DataIdentity.self, from: Data(d.utf8)) else { throw fail(path, "damaged data metadata") }
            data = parsed
        }
        do { try config.validate() } catch let e as TrainingConfig.Invalid {
            throw fail(path, "field \(e.field) \(e.requirement) (damaged checkpoint)")
        }
        try progress.validate(config: config, checkpoint: path)
        // the model it names must fit its own input and classes (a spec error here is the file's, not a flag's)
        do { _ = try config.networkSpec() } catch let e as SpecError {
            throw fail(path, "its model does not fit its own input \(config.input) and \(config.classes) classes: \(e) (damaged checkpoint)")
        }
        return Contents(config: config, progress: progress, data: data, notes: v.notes)
    }

    /// Verifies the file, then loads parameters and momentum into `network` (which must have
    /// the checkpoint's spec) and returns the configuration, progress and data identity.
    @discardableResult
    public static func load(_ path: String, into network: Network) throws -> Contents {
        let v = try verify(try read(path), path: path)
        return try load(v, path: path, into: network)
    }

    static func load(_ v: Verified, path: String, into network: Network) throws -> Contents {
        let c = try contents(v, path: path)
        let spec = v.meta["spec"] ?? ""
        guard spec == network.spec.description else {
            throw fail(path, "written for model '\(spec)', not '\(network.spec.description)'")
        }
        let list = tensors(network, optimizer: c.config.optimizer.kind)
        guard v.tensors.count == list.count else {
            throw fail(path, "holds \(v.tensors.count) tensors, the model has \(list.count)")
        }
        for t in list {
            guard let (off, bytes) = v.tensors[t.name] else { throw fail(path, "tensor \(t.name) is missing") }
            guard v.shapes[t.name] == t.shape, bytes == 4 * t.count else {
                throw fail(path, "tensor \(t.name) has shape \(v.shapes[t.name] ?? []), the model needs \(t.shape)")
            }
            let dst = t.buffer.pointer + t.offset
            v.data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + v.start + off
                for j in 0..<t.count {
                    var bits: UInt32 = 0
                    memcpy(&bits, p + 4 * j, 4)
                    dst[j] = Float(bitPattern: UInt32(littleEndian: bits))
                }
            }
        }
        for t in list {
            let values = UnsafeBufferPointer(start: t.buffer.pointer + t.offset, count: t.count)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw fail(path, "tensor \(t.name) element \(bad) is not finite (damaged checkpoint)")
            }
        }
        return c
    }
}

/// What a run was trained on: the data files' names, sizes and CRC-32s. A checkpoint records
/// it; `--resume` refuses other data unless told (`--allow-other-data`).
public struct DataIdentity: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var crc32: String
    }
    public var files: [File]

    /// The files as they are on disk now.
    public init(paths: [String]) throws {
        files = try paths.map { path in
            guard let data = FileManager.default.contents(atPath: path) else { throw DataFileError.missing(path) }
            return File(name: (path as NSString).lastPathComponent, bytes: data.count, crc32: Checkpoint.crc(data))
        }
    }

    /// What differs from another identity, for a message ("train-images-idx3-ubyte.gz: 9912422
    /// bytes crc32:... here, 1000 bytes crc32:... in the checkpoint").
    public func difference(from recorded: DataIdentity) -> String? {
        for f in files {
            guard let r = recorded.files.first(where: { $0.name == f.name }) else { return "\(f.name) is not in the checkpoint's data" }
            if r != f { return "\(f.name): \(f.bytes) bytes \(f.crc32) here, \(r.bytes) bytes \(r.crc32) when trained" }
        }
        if let extra = recorded.files.first(where: { r in !files.contains { $0.name == r.name } }) {
            return "\(extra.name) was trained on but is not here"
        }
        return nil
    }
}
