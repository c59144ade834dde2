import Foundation
import Testing
@testable import TinyConv

/// Each malformed IDX case gets a one-line error naming the file and the fault.
@Suite("IDX reader and MNIST loader")
struct IDXReaderTests {
    static func idx(dims: [UInt32], body: [UInt8], magic: [UInt8]? = nil) -> Data {
        var d = Data(magic ?? [0, 0, 8, UInt8(dims.count)])
        for v in dims { d.append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)]) }
        d.append(contentsOf: body)
        return d
    }

    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "tinyconv-idx-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func gzip(_ data: Data, in dir: String) throws -> Data {
        let raw = dir + "/g.bin"
        try data.write(to: URL(fileURLWithPath: raw))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-kf", raw]
        try p.run()
        p.waitUntilExit()
        return try Data(contentsOf: URL(fileURLWithPath: raw + ".gz"))
    }

    @Test("a gzip file of several members (concatenated .gz) is read whole; junk after the stream is an error")
    func multiMemberGzip() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let whole = Self.idx(dims: [3, 2, 2], body: Array(0..<12))
        let g1 = try Self.gzip(whole.prefix(10), in: dir), g2 = try Self.gzip(whole.suffix(from: 10), in: dir)
        let path = dir + "/two.idx.gz"
        try (g1 + g2).write(to: URL(fileURLWithPath: path))
        let t = try IDXReader.read(path: path, rank: 3)
        #expect(t.dimensions == [3, 2, 2] && t.bytes == Array(0..<12))
        #expect(error(g1 + Data([1, 2, 3]), name: "junk.gz", dir: dir).contains("not another gzip member"))
    }

    @Test("a missing file, a symbolic link loop and an empty path are told apart")
    func missingReasons() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/a", withDestinationPath: dir + "/b")
        try FileManager.default.createSymbolicLink(atPath: dir + "/b", withDestinationPath: dir + "/a")
        #expect(error(nil, name: "a", dir: dir).contains("symbolic link loop"))
        #expect(error(nil, name: "none", dir: dir).contains("no such file"))
        #expect(DataFileError.missing("").fault == "the path is empty")
    }

    @Test("no output may name an input or another output, after links and by inode")
    func fileRoles() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ckpt = dir + "/r.safetensors"
        try Data([1]).write(to: URL(fileURLWithPath: ckpt))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.json", withDestinationPath: ckpt)
        try FileManager.default.linkItem(atPath: ckpt, toPath: dir + "/hard.json")
        func conflict(_ inputs: [(String, String)], _ outputs: [(String, String)], allowed: [(String, String)] = []) -> String {
            var r = FileRoles()
            (r.inputs, r.outputs, r.allowedSame) = (inputs, outputs, allowed)
            do { try r.check(); return "ok" } catch { return "\(error)" }
        }
        #expect(conflict([("--resume", ckpt)], [("--json", ckpt)]).contains("--json \(ckpt) names the file --resume"))
        #expect(conflict([("--resume", ckpt)], [("--json", dir + "/link.json")]).contains("names the file --resume"))
        #expect(conflict([("--resume", ckpt)], [("--json", dir + "/hard.json")]).contains("names the file --resume"))
        #expect(conflict([("--resume", ckpt)], [("--json", dir + "/./r.safetensors")]).contains("names the file --resume"))
        #expect(conflict([], [("--json", dir + "/x"), ("--csv", dir + "/x")]).contains("name the same file"))
        #expect(conflict([("--resume", ckpt)], [("--checkpoint", ckpt)], allowed: [("--checkpoint", "--resume")]) == "ok")
        #expect(conflict([], [("--json", dir + "/")]).contains("names a folder"))
        #expect(conflict([], [("--json", "")]).contains("empty"))
        #expect(conflict([], [("--json", dir + "/no-such-folder/x.json")]).contains("does not exist"))
    }

    func error(_ data: Data?, rank: Int = 3, name: String = "f.idx", dir: String = tempDir()) -> String {
        let path = dir + "/" + name
        if let data { try! data.write(to: URL(fileURLWithPath: path)) }
        do {
            _ = try IDXReader.read(path: path, rank: rank)
            return "no error"
        } catch let e as DataFileError {
            #expect(e.path == path)
            #expect(!e.description.contains("\n"))
            return e.fault
        } catch { return "\(error)" }
    }

    @Test("a well-formed file, raw and gzipped")
    func wellFormed() throws {
        let dir = Self.tempDir()
        let data = Self.idx(dims: [2, 2, 3], body: Array(0..<12))
        for (name, bytes) in [("a.idx", data), ("a.idx.gz", try Self.gzip(data, in: dir))] {
            let path = dir + "/" + name
            try bytes.write(to: URL(fileURLWithPath: path))
            let t = try IDXReader.read(path: path, rank: 3)
            #expect(t.dimensions == [2, 2, 3])
            #expect(t.bytes == Array(0..<12))
        }
    }

    @Test("float32 files: the fuzzer's one-element file, and a rank-4 image set, read as floats")
    func float32Files() throws {
        let one = try IDXReader.parse(Data([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x2a, 0x2e, 0x02, 0x03]), path: "f.idx", ranks: [1])
        #expect(one.dimensions == [1] && one.bytes.isEmpty && one.floats == [Float(bitPattern: 0x2a2e_0203)])
        var four = Data([0, 0, 0x0d, 4])
        for d in [2, 2, 3, 2] as [UInt32] { withUnsafeBytes(of: d.bigEndian) { four.append(contentsOf: $0) } }
        for i in 0..<24 { withUnsafeBytes(of: (Float(i) * 0.25).bitPattern.bigEndian) { four.append(contentsOf: $0) } }
        let t = try IDXReader.parse(four, path: "f.idx", ranks: [3, 4])
        #expect(t.dimensions == [2, 2, 3, 2] && t.floats == (0..<24).map { Float($0) * 0.25 })
    }
    @Test("empty file") func empty() { #expect(error(Data()) == "empty file") }
    @Test("truncated header") func truncatedHeader() {
        #expect(error(Data([0, 0, 8])).hasPrefix("truncated header"))
        #expect(error(Data([0, 0, 8, 3, 0, 0])).hasPrefix("truncated header"))
    }
    @Test("truncated body") func truncatedBody() {
        #expect(error(Self.idx(dims: [2, 2, 3], body: Array(0..<11))) == "truncated body: header declares 12 bytes, file has 11")
    }
    @Test("wrong magic") func wrongMagic() {
        #expect(error(Self.idx(dims: [1, 1, 1], body: [0], magic: [0x1f, 0x8c, 8, 3])).hasPrefix("wrong magic number"))
        #expect(error(Self.idx(dims: [1, 1, 1], body: [0], magic: [0, 0, 0x0b, 3])).contains("neither unsigned bytes (0x08) nor float32"))
        // float32 elements are 4 bytes each: a one-byte body is truncated
        #expect(error(Self.idx(dims: [1, 1, 1], body: [0], magic: [0, 0, 0x0d, 3])) == "truncated body: header declares 4 bytes, file has 1")
        #expect(error(Self.idx(dims: [1, 1], body: [0]), rank: 3) == "rank 2, expected 3")
    }
    @Test("dimension product that overflows") func overflow() {
        #expect(error(Self.idx(dims: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], body: [1])).contains("describe more than"))
    }
    @Test("declared count larger than the file") func countTooLarge() {
        #expect(error(Self.idx(dims: [60000, 28, 28], body: Array(repeating: 0, count: 784 * 3))).hasPrefix("truncated body"))
    }
    @Test("trailing bytes") func trailing() {
        #expect(error(Self.idx(dims: [1, 1, 2], body: [1, 2, 3])) == "1 bytes after the declared data")
    }
    @Test("corrupt gzip stream") func corruptGzip() throws {
        let dir = Self.tempDir()
        var gz = try Self.gzip(Self.idx(dims: [4, 8, 8], body: Array(repeating: 7, count: 256)), in: dir)
        let truncated = gz.prefix(gz.count / 2)
        #expect(error(Data(truncated), name: "t.gz", dir: dir).contains("truncated"))
        for i in 12..<min(gz.count - 8, 30) { gz[i] ^= 0x5a }
        let msg = error(gz, name: "c.gz", dir: dir)
        #expect(msg.contains("corrupt gzip") || msg.contains("truncated"), "\(msg)")
    }
    @Test("missing file and a folder in its place") func missing() {
        let dir = Self.tempDir()
        #expect(error(nil, name: "nope.idx", dir: dir) == "no such file")
        try! FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        #expect(error(nil, name: "sub", dir: dir) == "is a folder, expected an IDX file")
    }

    @Test("label out of range, count mismatch, missing data folder")
    func mnistPairs() throws {
        let dir = Self.tempDir()
        try Self.idx(dims: [3, 28, 28], body: Array(repeating: 1, count: 3 * 784)).write(to: URL(fileURLWithPath: dir + "/train-images-idx3-ubyte"))
        try Self.idx(dims: [3], body: [1, 12, 3]).write(to: URL(fileURLWithPath: dir + "/train-labels-idx1-ubyte"))
        do { _ = try MNIST.pair(images: dir + "/train-images-idx3-ubyte", labels: dir + "/train-labels-idx1-ubyte", classes: 10); Issue.record("no error") }
        catch let e as DataFileError { #expect(e.fault == "label 12 at index 1 is outside 0..<10 (10 classes expected: a damaged label, or data of another set)") }
        try Self.idx(dims: [2], body: [1, 2]).write(to: URL(fileURLWithPath: dir + "/train-labels-idx1-ubyte"))
        do { _ = try MNIST.pair(images: dir + "/train-images-idx3-ubyte", labels: dir + "/train-labels-idx1-ubyte", classes: 10); Issue.record("no error") }
        catch let e as DataFileError { #expect(e.fault.hasPrefix("2 labels for 3 images")) }
        do { _ = try MNIST.load(folder: dir + "/absent"); Issue.record("no error") }
        catch let e as DataFileError { #expect(e.fault.hasPrefix("no such data folder")) }
    }
}
