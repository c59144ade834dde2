import Foundation

/// A data file that cannot be used, with the file and the fault in one line.
public struct DataFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let fault: String
    public init(path: String, fault: String) { (self.path, self.fault) = (path, fault) }
    public var description: String { "\(path): \(fault)" }
}

extension DataFileError {
    /// Why an input path cannot be opened: no such file, a symbolic link loop, or what the
    /// system says (permission denied, ...).
    public static func missing(_ path: String) -> DataFileError {
        var st = stat()
        if path.isEmpty { return DataFileError(path: "\"\"", fault: "the path is empty") }
        if stat(path, &st) != 0 {
            let reason = errno == ENOENT ? "no such file" : errno == ELOOP ? "a symbolic link loop"
                : String(cString: strerror(errno)).lowercased()
            return DataFileError(path: path, fault: reason)
        }
        return DataFileError(path: path, fault: "cannot be read")
    }
}
