import CZlib
import Foundation

/// The tuner's memory, as FFTW keeps wisdom: per CPU identity, per layer shape, the choice
/// that measured fastest. One JSON file shared by `train`, `bench` and MPI rank 0, under the
/// user's cache folder ($TINYCONV_WISDOM, else $XDG_CACHE_HOME/tinyconv/wisdom.json, else
/// ~/.cache/tinyconv/wisdom.json). Written whole or not at all (AtomicFile) under an flock, as
/// a merge with what is on disk, so concurrent runs lose nothing but a race on the same key.
///
/// A file that does not parse, has another format or fails its checksum is damaged: ignored
/// with one line, and set aside as `wisdom.json.damaged` (never deleted) when the next write
/// replaces it. Entries of other CPUs are kept and never applied here. Since every choice
/// gives the same bits, wrong wisdom could only cost speed, never change a result.
public final class Wisdom: @unchecked Sendable {
    public static let format = "tinyconv-wisdom-1"
    public let path: String
    public let identity: String
    /// This CPU's entries: layer key -> choice text.
    public private(set) var entries: [String: String] = [:]
    /// Messages for the user (a damaged or unreadable file), one line each.
    public private(set) var notes: [String] = []
    private var damaged = false
    /// The path is no file we may read or replace (a folder, FIFO, device): tuning goes on
    /// without it and `save` writes nothing. A cache never stops a run.
    private var unusable = false
    private var added: [String: String] = [:]

    struct File: Codable {
        var format: String
        var checksum: String
        var machines: [String: [String: String]]
    }

    /// The default location, or nil when neither $HOME nor $XDG_CACHE_HOME is set.
    public static var defaultPath: String? {
        let env = ProcessInfo.processInfo.environment
        if let p = try? EnvironmentSettings.wisdomPath() { return p }  // commands check it first
        if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") { return x + "/tinyconv/wisdom.json" }
        if let h = env["HOME"], !h.isEmpty { return h + "/.cache/tinyconv/wisdom.json" }
        return nil
    }

    /// Loads what the file holds for this CPU (nothing if it does not exist or is damaged).
    public init(path: String, identity: CPUIdentity) {
        self.path = path
        self.identity = identity.description
        guard let machines = read(noting: true) else { return }
        entries = machines[self.identity] ?? [:]
    }

    public subscript(key: String) -> String? { entries[key] }

    /// Records a choice (written by `save`).
    public func record(_ key: String, _ value: String) {
        entries[key] = value
        added[key] = value
    }

    static func checksum(_ machines: [String: [String: String]]) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let data = (try? e.encode(machines)) ?? Data()
        let crc = data.withUnsafeBytes { raw in
            crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count))
        }
        return String(format: "crc32:%08x", UInt32(crc))
    }

    /// The machines section of the file on disk; nil (with a note) when it is damaged or
    /// unreadable, nil without one when there is no file.
    private func read(noting: Bool) -> [String: [String: String]]? {
        func note(_ s: String) { if noting { notes.append(s) } }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }  // no file yet (or a dangling link: written anew)
        guard (st.st_mode & S_IFMT) == S_IFREG else {  // never opened: a FIFO would block the read
            unusable = true
            note("wisdom path \(path) is not a regular file (a folder, FIFO or device): tuning without it, nothing will be saved")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            note("wisdom file \(path) cannot be read; tuning without it")
            return nil
        }
        guard let file = try? JSONDecoder().decode(File.self, from: data), file.format == Self.format else {
            damaged = true
            note("wisdom file \(path) is damaged or of another format; ignored (it is kept as \(path).damaged when new wisdom is written)")
            return nil
        }
        guard file.checksum == Self.checksum(file.machines) else {
            damaged = true
            note("wisdom file \(path) fails its checksum (damaged); ignored (it is kept as \(path).damaged when new wisdom is written)")
            return nil
        }
        if file.machines[identity] == nil && !file.machines.isEmpty {
            note("wisdom file \(path) holds choices for other CPUs only, none for this one (\(identity))")
        }
        return file.machines
    }

    /// Merges what this process measured into the file on disk. Throws AtomicFile's errors (the
    /// tuner turns them into a note: a cache never stops a run).
    public func save() throws {
        guard !added.isEmpty, !unusable else { return }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lock = open(path + ".lock", O_RDWR | O_CREAT, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { flock(lock, LOCK_UN); close(lock) } }
        damaged = false
        var machines = read(noting: false) ?? [:]
        if damaged { rename(path, path + ".damaged") }  // set aside, never destroyed
        machines[identity, default: [:]].merge(added) { _, new in new }
        let file = File(format: Self.format, checksum: Self.checksum(machines), machines: machines)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(file), to: path)
        added = [:]
    }
}
