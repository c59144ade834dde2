import Foundation
import TinyConv

// Any bytes as an IDX file of rank 1, 3 or 4, bytes or float32: a one-line error or a tensor,
// never a crash; a tensor holds as many elements as its dimensions say, float32 ones finite.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let data = Data(bytes: bytes, count: count)
    for ranks in [[1], [3, 4]] {
        if let t = try? IDXReader.parse(data, path: "fuzz.idx", ranks: ranks) {
            let elements = t.floats?.count ?? t.bytes.count
            precondition(t.dimensions.reduce(1, *) == elements, "IDX tensor size disagrees with its dimensions")
            precondition(t.floats == nil || t.bytes.isEmpty, "an IDX tensor is bytes or floats, not both")
            precondition(t.floats?.allSatisfy(\.isFinite) ?? true, "a float32 IDX tensor holds a non-finite number")
        }
    }
    return 0
}
