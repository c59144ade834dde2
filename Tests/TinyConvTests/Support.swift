import CKernels
import Foundation
@testable import TinyConv

/// Deterministic test data (splitmix64), uniform in [-1, 1).
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
    mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in float() } }
    /// Small integers in -4...4: products and sums of them stay far below 2^24, so fp32
    /// arithmetic on them is exact in any order and a fast kernel must equal its twin to the bit.
    mutating func integers(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Int(next() % 9) - 4) } }
}

/// A fixed seed from a shape's numbers (never `hashValue`, which Swift randomizes per process).
func fixedSeed(_ parts: Int...) -> UInt64 {
    parts.reduce(0x5EED as UInt64) { ($0 ^ UInt64(bitPattern: Int64($1))) &* 0x100_0000_01b3 }
}

/// The first index where two arrays differ in their bits, or nil.
func firstBitDifference(_ a: [Float], _ b: [Float]) -> Int? {
    precondition(a.count == b.count)
    return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
}

/// Runs body once per ISA this CPU supports, with that ISA forced on this thread
/// (tests run concurrently; a process-wide override would leak into other tests).
/// Which ISAs that is, and whether it is what the runner expects, is checked and printed
/// by ISACoverageTests (TINYCONV_EXPECT_ISA).
func forEachISA(_ body: (ISA) throws -> Void) rethrows {
    defer { ISA.resetThisThread() }
    for isa in ISA.supported {
        ISA.forceOnThisThread(isa)
        try body(isa)
    }
}

/// The fp32 reassociation bound for a sum of `terms` products whose absolute values
/// add up to `magnitude`: a few ulps per sqrt(terms) (blocked/vector/FMA summation
/// orders against an exactly rounded double reference).
func reassociationTolerance(terms: Int, magnitude: Float) -> Float {
    Float.ulpOfOne * (8 + 2 * Float(terms).squareRoot()) * magnitude + Float.leastNormalMagnitude
}

struct Mismatch: CustomStringConvertible {
    let index: Int, got: Float, want: Float, tol: Float
    var description: String { "index \(index): got \(got), want \(want), tolerance \(tol)" }
}

/// First element where fast and reference differ by more than the bound.
func firstMismatch(_ fast: [Float], _ ref: [Float], magnitude: [Float], terms: Int) -> Mismatch? {
    precondition(fast.count == ref.count && ref.count == magnitude.count)
    for i in 0..<fast.count {
        let tol = reassociationTolerance(terms: terms, magnitude: magnitude[i])
        if !(abs(fast[i] - ref[i]) <= tol) { return Mismatch(index: i, got: fast[i], want: ref[i], tol: tol) }
    }
    return nil
}

extension Array where Element == Float {
    var absolute: [Float] { map { abs($0) } }
}

/// Layer shapes of the report's models at a batch size, named "model/layer".
func modelLayerShapes(batch: Int) throws -> [(name: String, layer: ResolvedLayer)] {
    var out: [(String, ResolvedLayer)] = []
    for (name, text) in ModelZoo.named where name != "regularized-lenet5" {
        for layer in try NetworkSpec.parse(text).resolve() { out.append(("\(name)/\(layer.name)", layer)) }
    }
    return out
}
