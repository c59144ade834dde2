import CZlib
import Foundation
import Testing
@testable import TinyConv

/// Format 1 (a checksum that leaves the tensor table unverified) is refused unless asked for,
/// and a format-2 file relabelled as format 1 is refused always (issue 25, class 1).
@Suite("Checkpoint format downgrade", .serialized)
struct CheckpointFormatTests {
    /// A trained LeNet-5 checkpoint's bytes.
    static func checkpoint() throws -> Data {
        let t = try makeTrainer("lenet5", threads: 1, data: syntheticData(count: 40, seed: 6))
        try t.run()
        let path = NSTemporaryDirectory() + "format-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.write(path, network: t.network, config: t.config, progress: t.progress, data: nil)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// The file relabelled as format 1 with format 1's checksum recomputed (what an attacker or an
    /// old writer would produce); `dropData` removes format 2's data-files field; `swap` exchanges
    /// the data offsets of conv1.weight.momentum and conv1.weight (same size) first.
    static func relabel(_ data: Data, dropData: Bool, swap: Bool) throws -> Data {
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        let body = data.subdata(in: (8 + n)..<data.count)
        var meta = header["__metadata__"] as! [String: String]
        meta["format"] = "tinyconv-checkpoint-1"
        if dropData { meta["data"] = nil }
        if swap {
            var a = header["conv1.weight"] as! [String: Any], b = header["conv1.weight.momentum"] as! [String: Any]
            (a["data_offsets"], b["data_offsets"]) = (b["data_offsets"], a["data_offsets"])
            (header["conv1.weight"], header["conv1.weight.momentum"]) = (a, b)
        }
        var crcData = Data((meta["spec"]! + "\n" + meta["config"]! + "\n" + meta["progress"]! + "\n").utf8)
        crcData.append(body)
        meta["checksum"] = Checkpoint.crc(crcData)
        header["__metadata__"] = meta
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    @Test("relabelled format-2 files are refused, swapped tensors or not, even with --allow-format-1")
    func relabelled() throws {
        let original = try Self.checkpoint()
        _ = try Checkpoint.parse(original, path: "ok.safetensors")
        for swap in [false, true] {
            let forged = try Self.relabel(original, dropData: false, swap: swap)
            for allow in [false, true] {
                Checkpoint.acceptsFormat1 = allow
                defer { Checkpoint.acceptsFormat1 = false }
                let m = message { _ = try Checkpoint.parse(forged, path: "forged.safetensors") }
                #expect(m.contains("a relabelled format-2 file"), "swap \(swap), allow \(allow): \(m)")
            }
        }
    }

    @Test("a format-1 file is refused by default and read with a note under --allow-format-1")
    func formatOne() throws {
        let v1 = try Self.relabel(try Self.checkpoint(), dropData: true, swap: false)
        let refused = message { _ = try Checkpoint.parse(v1, path: "old.safetensors") }
        #expect(refused.contains("is a format-1 checkpoint") && refused.contains("--allow-format-1"), "\(refused)")
        Checkpoint.acceptsFormat1 = true
        defer { Checkpoint.acceptsFormat1 = false }
        let c = try Checkpoint.parse(v1, path: "old.safetensors")
        #expect(c.notes.count == 1 && c.notes[0].contains("format-1"), "\(c.notes)")
    }
}
