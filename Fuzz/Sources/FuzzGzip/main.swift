import Foundation
import TinyConv

// Any bytes through the gzip layer with a small output cap: data or a one-line error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let data = Data(bytes: bytes, count: count)
    if let out = try? Gzip.decompress(data, path: "fuzz.gz", limit: 1 << 20) {
        precondition(out.count <= 1 << 20, "gzip output past its limit")
    }
    return 0
}
