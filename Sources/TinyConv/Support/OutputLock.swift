import Foundation

/// One writer per output. A run takes an exclusive lock on each file or folder it will write
/// (train's checkpoint, sweep's folder) before any work, and holds it until the process ends; a
/// second run naming the same output is refused with the first one's pid, instead of both
/// succeeding and the last write winning. The lock is an flock on a hidden file beside the output
/// (`.NAME.lock`, or `.lock` inside a folder) that holds the owner's pid: an flock dies with its
/// process, so a crashed or killed run never blocks the next one, and the lock file (like the
/// wisdom file's) stays behind, harmless.
public enum OutputLock {
    public struct Held: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Descriptors of the locks this process holds, by lock-file path (kept open until exit).
    nonisolated(unsafe) private static var held: [String: Int32] = [:]
    private static let guardLock = NSLock()

    /// The lock file for an output: beside a file (after following symbolic links, so two names
    /// of one file share it), inside a folder.
    public static func lockPath(for path: String, folder: Bool) -> String {
        if folder { return URL(fileURLWithPath: path).standardizedFileURL.path + "/.lock" }
        let target = URL(fileURLWithPath: AtomicFile.destination(path)).standardizedFileURL
        let dir = target.deletingLastPathComponent().resolvingSymlinksInPath().path
        return dir + "/." + target.lastPathComponent + ".lock"
    }

    /// Takes the lock for `path` (`flag` names it in the message), or throws naming the holder.
    /// Taking a lock this process holds already is a no-op.
    public static func acquire(_ path: String, flag: String, folder: Bool = false) throws {
        let lock = lockPath(for: path, folder: folder)
        guardLock.lock()
        defer { guardLock.unlock() }
        if held[lock] != nil { return }
        let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Held(message: "\(flag) \(path): cannot create its lock file \(lock): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = readOwner(fd)
            close(fd)
            throw Held(message: "\(flag) \(path) is being written by another run\(owner.map { " (pid \($0))" } ?? ""): refusing to write it too (wait for it, or give another path)")
        }
        // the owner's pid, for the message a second run prints
        _ = ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        held[lock] = fd
    }

    private static func readOwner(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, 31, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
