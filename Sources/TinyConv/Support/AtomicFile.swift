import Foundation

/// Files the engine writes are written whole or not at all: write a temporary file
/// in the same folder, fsync it, rename it over the target, fsync the folder.
///
/// The target must be a regular file or not exist: a device, FIFO or folder is refused
/// (renaming over /dev/null would replace the device node). A symbolic link is followed,
/// so its target is updated and the link stays. Temporary files this tool left behind
/// (a write killed mid-way) are removed on the next write to the same folder.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String, reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// The path a write to `path` replaces: a symbolic link's final target, else the path.
    public static func destination(_ path: String) -> String {
        var url = URL(fileURLWithPath: path)
        var hops = 0
        while hops < 32, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: url.path) {
            url = URL(fileURLWithPath: target, relativeTo: url.deletingLastPathComponent()).standardizedFileURL
            hops += 1
        }
        return url.path
    }

    /// Throws unless `path` can be written: its folder exists and is writable, and the path
    /// is a regular file or absent. Commands call this before long work starts.
    public static func checkWritable(_ path: String) throws {
        let target = destination(path)
        let dir = URL(fileURLWithPath: target).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw WriteError(path: path, reason: "the folder \(dir) does not exist")
        }
        guard access(dir, W_OK) == 0 else { throw WriteError(path: path, reason: "the folder \(dir) is not writable") }
        var st = stat()
        if lstat(target, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw WriteError(path: path, reason: "it is not a regular file (a folder, device or FIFO), refusing to replace it")
            }
        }
    }

    public static func write(_ data: Data, to path: String) throws {
        try checkWritable(path)
        let target = destination(path)
        let url = URL(fileURLWithPath: target)
        let dir = url.deletingLastPathComponent().path
        removeStaleTemporaries(in: dir, for: url.lastPathComponent)
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var ok = true
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { ok = false; break }
                off += n
            }
        }
        let err = errno
        if ok && fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else {
            unlink(tmp)
            throw WriteError(path: path, reason: String(cString: strerror(err)))
        }
        guard rename(tmp, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw WriteError(path: path, reason: reason)
        }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Deletes `.NAME.tmp-PID` files whose writer process no longer exists.
    static func removeStaleTemporaries(in dir: String, for name: String) {
        let prefix = "." + name + ".tmp-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + entry) }
        }
    }
}
