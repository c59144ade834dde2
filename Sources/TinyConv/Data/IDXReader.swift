import Foundation

/// Reads IDX files (the MNIST format): magic 0x0000, type 0x08 (unsigned bytes), rank,
/// big-endian UInt32 dimensions, then the data. Gzipped files are inflated first.
/// Everything is checked before anything large is allocated.
public enum IDXReader {
    /// Largest file (after decompression) we accept: far above MNIST's 47 MB.
    public static let maximumBytes = 1 << 30

    public struct Tensor: Sendable {
        public let dimensions: [Int]
        public let bytes: [UInt8]
    }

    public static func read(path: String, rank: Int) throws -> Tensor {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw DataFileError.missing(path) }
        if isDir.boolValue { throw DataFileError(path: path, fault: "is a folder, expected an IDX file") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > maximumBytes {
            throw DataFileError(path: path, fault: "file of \(size) bytes is larger than the \(maximumBytes)-byte limit")
        }
        // Keep only one full-size buffer alive at a time: the compressed bytes are dropped
        // as soon as they are inflated, and parse copies the body out exactly once.
        let data: Data = try {
            guard let raw = FileManager.default.contents(atPath: path) else { throw DataFileError.missing(path) }
            return Gzip.isGzip(raw) ? try Gzip.decompress(raw, path: path, limit: maximumBytes) : raw
        }()
        return try parse(data, path: path, rank: rank)
    }

    public static func parse(_ data: Data, path: String, rank: Int) throws -> Tensor {
        let bytes = data.startIndex == 0 ? data : Data(data)  // subscripts below count from 0
        if bytes.isEmpty { throw DataFileError(path: path, fault: "empty file") }
        guard bytes.count >= 4 else { throw DataFileError(path: path, fault: "truncated header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataFileError(path: path, fault: String(format: "wrong magic number 0x%02x%02x%02x%02x (not an IDX file)", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else {
            throw DataFileError(path: path, fault: String(format: "element type 0x%02x is not unsigned bytes (0x08)", bytes[2]))
        }
        let r = Int(bytes[3])
        guard r == rank else { throw DataFileError(path: path, fault: "rank \(r), expected \(rank)") }
        let headerSize = 4 + 4 * r
        guard bytes.count >= headerSize else {
            throw DataFileError(path: path, fault: "truncated header (\(bytes.count) of \(headerSize) bytes)")
        }
        var dims: [Int] = []
        var product = 1
        for i in 0..<r {
            let o = 4 + 4 * i
            let d = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            guard d > 0 else { throw DataFileError(path: path, fault: "dimension \(i) is zero") }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maximumBytes else {
                throw DataFileError(path: path, fault: "dimensions \(dims + [d]) describe more than \(maximumBytes) bytes")
            }
            product = p
            dims.append(d)
        }
        let body = bytes.count - headerSize
        guard body >= product else {
            throw DataFileError(path: path, fault: "truncated body: header declares \(product) bytes, file has \(body)")
        }
        guard body == product else {
            throw DataFileError(path: path, fault: "\(body - product) bytes after the declared data")
        }
        return Tensor(dimensions: dims, bytes: [UInt8](bytes[headerSize...]))
    }
}
