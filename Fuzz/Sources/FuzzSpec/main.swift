import Foundation
import TinyConv

// Any text as a model spec: a network whose canonical text parses back to itself, or a
// SpecError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: min(count, 4096)), as: UTF8.self)
    if let spec = try? NetworkSpec.parse(text) {
        let again = try? NetworkSpec.parse(spec.description)
        precondition(again == spec, "spec '\(spec)' does not round-trip")
    }
    return 0
}
