import Foundation
import Testing
@testable import TinyConv

/// Files the engine writes: whole or not at all, never over a device or folder, through
/// symbolic links, cleaning up after writes that were killed.
@Suite("Output files and small run rules")
struct OutputFileTests {
    func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyconv-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a symbolic link is followed: its target is replaced, the link stays")
    func symlink() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("old", to: dir + "/target.json")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.json", withDestinationPath: "target.json")
        try AtomicFile.write("new", to: dir + "/link.json")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.json") == "target.json")
        #expect(try String(contentsOfFile: dir + "/target.json", encoding: .utf8) == "new")
    }

    @Test("devices, FIFOs and folders are refused, nothing is replaced")
    func nonRegular() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        for target in ["/dev/null", dir + "/fifo", dir] {
            #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write("x", to: target) }
        }
        var st = stat()
        #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.checkWritable(dir + "/missing/out.json") }
    }

    @Test("temporary files of a killed writer are removed by the next write; a live writer's are kept")
    func staleTemporaries() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // a pid that cannot be running (above Linux's pid_max), and our own parent's, which is
        let dead = dir + "/.out.json.tmp-99999999", live = dir + "/.out.json.tmp-\(getppid())"
        FileManager.default.createFile(atPath: dead, contents: Data("partial".utf8))
        FileManager.default.createFile(atPath: live, contents: Data("busy".utf8))
        try AtomicFile.write("{}", to: dir + "/out.json")
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test("without a validation set the best epoch is the last one")
    func bestEpochWithoutValidation() throws {
        let data = syntheticData(count: 64, seed: 5)
        var c = TrainingConfig()
        c.epochs = 3
        c.threads = 1
        c.validation = 0
        let net = try Network(spec: try ModelZoo.spec("lenet5"), seed: 1)
        let t = try Trainer(config: c, network: net, train: data, validation: nil, test: data.slice(0..<16))
        try t.run()
        #expect(t.progress.history.count == 3)
        #expect(t.bestEpoch?.epoch == 3)
    }
}
