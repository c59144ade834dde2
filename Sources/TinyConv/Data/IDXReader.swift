import Foundation

/// Reads IDX files (the MNIST format): magic 0x0000, element type 0x08 (unsigned bytes) or
/// 0x0D (float32, big-endian as the format fixes), rank, big-endian UInt32 dimensions, then
/// the data. Gzipped files are inflated first. Everything is checked before anything large
/// is allocated.
public enum IDXReader {
    /// Largest file (after decompression) we accept: far above MNIST's 47 MB.
    public static let maximumBytes = 1 << 30

    public struct Tensor: Sendable {
        public let dimensions: [Int]
        /// The elements of a type 0x08 file (nil for float32).
        public let bytes: [UInt8]
        /// The elements of a type 0x0D file, in host order (nil for bytes).
        public let floats: [Float]?
        public var isFloat: Bool { floats != nil }
    }

    /// `rank` or any of `ranks` (images: 3 for N x H x W, 4 for N x H x W x C).
    public static func read(path: String, rank: Int) throws -> Tensor { try read(path: path, ranks: [rank]) }

    public static func read(path: String, ranks: [Int]) throws -> Tensor {
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
        return try parse(data, path: path, ranks: ranks)
    }

    public static func parse(_ data: Data, path: String, rank: Int) throws -> Tensor { try parse(data, path: path, ranks: [rank]) }

    public static func parse(_ data: Data, path: String, ranks: [Int]) throws -> Tensor {
        let bytes = data.startIndex == 0 ? data : Data(data)  // subscripts below count from 0
        if bytes.isEmpty { throw DataFileError(path: path, fault: "empty file") }
        guard bytes.count >= 4 else { throw DataFileError(path: path, fault: "truncated header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataFileError(path: path, fault: String(format: "wrong magic number 0x%02x%02x%02x%02x (not an IDX file)", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 || bytes[2] == 0x0D else {
            throw DataFileError(path: path, fault: String(format: "element type 0x%02x is neither unsigned bytes (0x08) nor float32 (0x0d)", bytes[2]))
        }
        let elementBytes = bytes[2] == 0x08 ? 1 : 4
        let r = Int(bytes[3])
        guard ranks.contains(r) else {
            throw DataFileError(path: path, fault: "rank \(r), expected \(ranks.map(String.init).joined(separator: " or "))")
        }
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
            guard !overflow, p <= maximumBytes / elementBytes else {
                throw DataFileError(path: path, fault: "dimensions \(dims + [d]) describe more than \(maximumBytes) bytes")
            }
            product = p
            dims.append(d)
        }
        let body = bytes.count - headerSize, size = product * elementBytes
        guard body >= size else {
            throw DataFileError(path: path, fault: "truncated body: header declares \(size) bytes, file has \(body)")
        }
        guard body == size else {
            throw DataFileError(path: path, fault: "\(body - size) bytes after the declared data")
        }
        if elementBytes == 1 { return Tensor(dimensions: dims, bytes: [UInt8](bytes[headerSize...]), floats: nil) }
        var floats = [Float](repeating: 0, count: product)
        bytes.withUnsafeBytes { raw in
            for i in 0..<product {
                var bits: UInt32 = 0
                memcpy(&bits, raw.baseAddress! + headerSize + 4 * i, 4)
                floats[i] = Float(bitPattern: UInt32(bigEndian: bits))
            }
        }
        if let bad = floats.firstIndex(where: { !$0.isFinite }) {
            throw DataFileError(path: path, fault: "element \(bad) is not a finite number")
        }
        return Tensor(dimensions: dims, bytes: [], floats: floats)
    }
}
