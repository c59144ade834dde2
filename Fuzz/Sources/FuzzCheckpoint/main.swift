import Foundation
import TinyConv

// Any bytes as a checkpoint: parsed, its model built and its tensors loaded and checked,
// or a one-line error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    _ = try? Checkpoint.parse(Data(bytes: bytes, count: count), path: "fuzz.safetensors")
    return 0
}
