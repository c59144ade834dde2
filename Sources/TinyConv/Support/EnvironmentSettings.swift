import Foundation

/// The TINYCONV_* environment variables, read and checked in one place: a value a variable
/// does not take is a one-line error naming the variable and what it takes, as a bad flag is,
/// never a silent default. Every command calls `validate()` before it does anything.
public enum EnvironmentSettings {
    public struct Invalid: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    static var env: [String: String] { ProcessInfo.processInfo.environment }

    static func value(_ name: String) throws -> String? {
        guard let v = env[name] else { return nil }
        guard !v.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Invalid(message: "\(name) is set but empty (unset it for the default)")
        }
        return v
    }

    /// TINYCONV_MPI_TIMEOUT: seconds a rank waits for the others, finite, in (0, 86400]; default 20.
    public static func mpiTimeout() throws -> Double {
        guard let v = try value("TINYCONV_MPI_TIMEOUT") else { return 20 }
        guard let s = Double(v), s.isFinite, s > 0, s <= 86_400 else {
            throw Invalid(message: "TINYCONV_MPI_TIMEOUT=\(v) must be a number of seconds in (0, 86400] (default 20)")
        }
        return s
    }

    /// TINYCONV_SPIN_NS: nanoseconds an idle Dispatch worker spins before sleeping, 0...1e9; default 100000.
    public static func spinNanos() throws -> UInt64 {
        guard let v = try value("TINYCONV_SPIN_NS") else { return 100_000 }
        guard let n = UInt64(v), n <= 1_000_000_000 else {
            throw Invalid(message: "TINYCONV_SPIN_NS=\(v) must be a whole number of nanoseconds in 0...1000000000 (default 100000)")
        }
        return n
    }

    /// TINYCONV_OMP_BLOCKTIME: libomp's blocktime in ms, 0...10000; default 0 (read by the OpenMP shim).
    public static func ompBlocktime() throws -> Int {
        guard let v = try value("TINYCONV_OMP_BLOCKTIME") else { return 0 }
        guard let n = Int(v), (0...10_000).contains(n) else {
            throw Invalid(message: "TINYCONV_OMP_BLOCKTIME=\(v) must be a whole number of milliseconds in 0...10000 (default 0)")
        }
        return n
    }

    /// TINYCONV_DATA: the MNIST folder, when set.
    public static func dataFolder() throws -> String? { try value("TINYCONV_DATA") }

    /// TINYCONV_WISDOM: the wisdom file, when set.
    public static func wisdomPath() throws -> String? { try value("TINYCONV_WISDOM") }

    /// TINYCONV_ISA: an ISA this CPU has, when set.
    public static func isa() throws -> ISA? {
        guard let v = try value("TINYCONV_ISA") else { return nil }
        guard let isa = ISA(name: v) else { throw Invalid(message: "TINYCONV_ISA=\(v) is not an ISA (generic, avx2, avx512)") }
        guard ISA.supported.contains(isa) else {
            throw Invalid(message: "TINYCONV_ISA=\(v): this CPU cannot run it (it can run \(ISA.supported.map(\.description).joined(separator: ", ")))")
        }
        return isa
    }

    /// Checks every TINYCONV_* variable the engine reads.
    public static func validate() throws {
        _ = try mpiTimeout()
        _ = try spinNanos()
        _ = try ompBlocktime()
        _ = try dataFolder()
        _ = try wisdomPath()
        _ = try isa()
    }
}
