import Foundation
import TinyConv

// Any bytes as an IDX file of rank 1 or 3: a one-line error or a tensor, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let data = Data(bytes: bytes, count: count)
    for rank in [1, 3] {
        if let t = try? IDXReader.parse(data, path: "fuzz.idx", rank: rank) {
            precondition(t.dimensions.reduce(1, *) == t.bytes.count, "IDX tensor size disagrees with its dimensions")
        }
    }
    return 0
}
