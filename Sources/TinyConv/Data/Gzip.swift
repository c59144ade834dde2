import Foundation
import CZlib

/// gzip decoding through the system zlib, with a cap on the output size so a corrupt
/// or hostile header cannot make us allocate without bound. A file of several gzip members
/// (concatenated .gz files, which gzip itself reads as one) is read whole.
public enum Gzip {
    public static func isGzip(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

    public static func decompress(_ data: Data, path: String, limit: Int) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataFileError(path: path, fault: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        // The gzip trailer's ISIZE (uncompressed size mod 2^32) sizes the output up front,
        // so it is not grown by doubling (which could briefly hold twice the data).
        if data.count >= 18 {
            let t = data.suffix(4).map { Int($0) }
            let isize = t[0] | t[1] << 8 | t[2] << 16 | t[3] << 24
            if isize <= limit { out.reserveCapacity(isize) }
        }
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(raw.count)
            repeat {
                try buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    if status != Z_OK && status != Z_STREAM_END {
                        let reason = status == Z_BUF_ERROR ? "the gzip stream is truncated" : "corrupt gzip stream (zlib error \(status))"
                        throw DataFileError(path: path, fault: reason)
                    }
                    out.append(b.baseAddress!, count: chunk - Int(stream.avail_out))
                }
                if out.count > limit {
                    throw DataFileError(path: path, fault: "decompresses to more than \(limit) bytes")
                }
                if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw DataFileError(path: path, fault: "the gzip stream is truncated")
                }
                if status == Z_STREAM_END && stream.avail_in > 0 {  // another member follows, or junk
                    let next = stream.next_in!
                    guard stream.avail_in >= 2, next[0] == 0x1f, next[1] == 0x8b else {
                        throw DataFileError(path: path, fault: "\(stream.avail_in) bytes after the gzip stream that are not another gzip member")
                    }
                    guard inflateReset(&stream) == Z_OK else { throw DataFileError(path: path, fault: "zlib could not restart") }
                    status = Z_OK
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}
