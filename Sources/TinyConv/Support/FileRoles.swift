import Foundation

/// The files a command reads and the files it writes, checked before any work starts: no
/// output may be one of the inputs or another output (after following symbolic links, and by
/// device and inode where the file exists, so a hard link or `./x` vs `x` is caught too), every
/// output must be writable, and a path must not be empty, end in `/` or be a symbolic link loop.
/// So `--json` cannot replace the checkpoint being resumed, nor `--checkpoint` a data file.
public struct FileRoles {
    public struct Conflict: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// (flag, path) pairs.
    public var inputs: [(String, String)] = []
    public var outputs: [(String, String)] = []
    /// (output flag, input flag) pairs that may name the same file (train's --checkpoint may
    /// continue the very file --resume read).
    public var allowedSame: [(String, String)] = []

    public init() {}

    /// What a path resolves to: its final target path, and (device, inode) when it exists.
    struct Identity: Equatable {
        let path: String
        let file: [UInt64]?
    }

    static func identity(_ path: String) -> Identity {
        let target = AtomicFile.destination(path)
        let resolved = URL(fileURLWithPath: target).standardizedFileURL.path
        // the folder's real path, so /tmp/x and /private/tmp/x or a linked folder agree
        let dir = URL(fileURLWithPath: resolved).deletingLastPathComponent().path
        let name = URL(fileURLWithPath: resolved).lastPathComponent
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let real = realpath(dir, &buf) != nil ? String(cString: buf) + "/" + name : resolved
        var st = stat()
        let file = stat(target, &st) == 0 ? [UInt64(st.st_dev), UInt64(st.st_ino)] : nil
        return Identity(path: real, file: file)
    }

    /// Why a path given to `flag` cannot be used at all (empty, a folder by its trailing slash,
    /// a symbolic link loop), or nil.
    public static func pathProblem(_ flag: String, _ path: String) -> String? {
        if path.isEmpty { return "\(flag): the path is empty" }
        if path.hasSuffix("/") { return "\(flag) \(path): names a folder (it ends in /); give a file name" }
        var st = stat()
        if stat(path, &st) != 0 && errno == ELOOP { return "\(flag) \(path): a symbolic link loop" }
        return nil
    }

    /// Throws a Conflict naming both flags for the first clash, or the first unusable path.
    public func check() throws {
        for (flag, path) in inputs + outputs {
            if let p = Self.pathProblem(flag, path) { throw Conflict(message: p) }
        }
        for (flag, path) in outputs {
            do { try AtomicFile.checkWritable(path) } catch let e as AtomicFile.WriteError { throw Conflict(message: "\(flag): \(e)") }
        }
        let ids = outputs.map { ($0.0, $0.1, Self.identity($0.1)) }
        let inIds = inputs.map { ($0.0, $0.1, Self.identity($0.1)) }
        func same(_ a: Identity, _ b: Identity) -> Bool { a.path == b.path || (a.file != nil && a.file == b.file) }
        for (i, (flag, path, id)) in ids.enumerated() {
            for (flag2, path2, id2) in ids[(i + 1)...] where same(id, id2) {
                throw Conflict(message: "\(flag) \(path) and \(flag2) \(path2) name the same file: one would overwrite the other")
            }
            for (inFlag, inPath, inId) in inIds where same(id, inId) {
                if allowedSame.contains(where: { $0.0 == flag && $0.1 == inFlag }) { continue }
                throw Conflict(message: "\(flag) \(path) names the file \(inFlag) \(inPath) reads: writing it would destroy the input")
            }
        }
    }
}
