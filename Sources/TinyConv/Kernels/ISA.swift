import CKernels

/// The SIMD instruction set the C kernels run on. Chosen at run time from the CPU
/// (CPUID); `TINYCONV_ISA=generic|avx2|avx512` or `ISA.force(_:)` overrides it.
public enum ISA: Int, CaseIterable, Sendable, CustomStringConvertible {
    case generic = 0, avx2 = 1, avx512 = 2

    var c: tc_isa { tc_isa(rawValue: UInt32(rawValue)) }

    /// The widest ISA this CPU has.
    public static var detected: ISA { ISA(rawValue: Int(tc_isa_detect().rawValue))! }
    /// The ISA kernels use now.
    public static var active: ISA { ISA(rawValue: Int(tc_isa_active().rawValue))! }
    /// Every ISA this CPU can run, narrowest first.
    public static var supported: [ISA] { allCases.filter { $0.rawValue <= detected.rawValue } }

    /// Forces an ISA; returns false if the CPU lacks it. Call between steps, not during.
    @discardableResult
    public static func force(_ isa: ISA) -> Bool { tc_isa_set(isa.c) == 0 }
    /// Back to the environment / detected choice.
    public static func reset() { tc_isa_reset() }
    /// Forces an ISA for kernels called on this thread only (wins over `force`).
    @discardableResult
    public static func forceOnThisThread(_ isa: ISA) -> Bool { tc_isa_set_for_thread(isa.c) == 0 }
    public static func resetThisThread() { tc_isa_reset_for_thread() }

    public var description: String { String(cString: tc_isa_name(c)) }
    public var vectorFloats: Int { Int(tc_isa_vector_floats(c)) }

    public init?(name: String) {
        guard let v = ISA.allCases.first(where: { $0.description == name }) else { return nil }
        self = v
    }
}
