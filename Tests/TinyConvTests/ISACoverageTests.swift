import Foundation
import Testing
@testable import TinyConv

/// The kernel sweeps run once per ISA in `ISA.supported`: on a CPU without AVX-512 they
/// would pass without ever running the AVX-512 kernels. CI states the set it expects in
/// TINYCONV_EXPECT_ISA (scripts/test.sh derives it from the CPU's own flags); this test
/// prints the covered set and fails when the two differ.
@Suite("ISA coverage of the kernel sweeps")
struct ISACoverageTests {
    @Test("the sweeps cover every ISA the runner expects")
    func coverage() {
        let covered = ISA.supported.map(\.description)
        let missing = ISA.allCases.map(\.description).filter { !covered.contains($0) }
        print("kernel sweeps cover ISAs: \(covered.joined(separator: ", "))"
              + (missing.isEmpty ? "" : "; NOT covered (this CPU lacks them, so none of their kernels ran): \(missing.joined(separator: ", "))"))
        guard let expected = ProcessInfo.processInfo.environment["TINYCONV_EXPECT_ISA"], !expected.isEmpty else { return }
        let want = expected.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in want { #expect(ISA(name: name) != nil, "TINYCONV_EXPECT_ISA names '\(name)', not an ISA") }
        #expect(Set(covered) == Set(want), "TINYCONV_EXPECT_ISA=\(expected) but the sweeps cover \(covered.joined(separator: ","))")
    }
}
