/// A data file that cannot be used, with the file and the fault in one line.
public struct DataFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let fault: String
    public var description: String { "\(path): \(fault)" }
}
