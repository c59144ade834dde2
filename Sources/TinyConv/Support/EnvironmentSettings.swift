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

    /// The OpenMP runtime's variables: libomp reads them when the openmp backend first runs and
    /// aborts the process on some bad values (OMP_NUM_THREADS=-3: exit 134 and a backtrace). Each
    /// is checked against what the OpenMP specification lets it be; the engine's own --threads and
    /// TINYCONV_OMP_BLOCKTIME decide what TinyConv runs, whatever these say.
    static func validateOpenMP() throws {
        func check(_ name: String, _ takes: String, _ ok: (String) -> Bool) throws {
            guard let v = try value(name) else { return }
            guard ok(v.trimmingCharacters(in: .whitespaces).lowercased()) else { throw Invalid(message: "\(name)=\(v) must be \(takes)") }
        }
        func count(_ s: Substring, min: Int) -> Bool { Int(s.trimmingCharacters(in: .whitespaces)).map { $0 >= min && $0 <= 1 << 20 } ?? false }
        let booleans = ["true", "false", "1", "0", "yes", "no", "on", "off"]
        try check("OMP_NUM_THREADS", "a positive whole number of threads, or a comma-separated list of them") {
            $0.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { count($0, min: 1) }
        }
        try check("OMP_THREAD_LIMIT", "a positive whole number") { count(Substring($0), min: 1) }
        try check("OMP_MAX_ACTIVE_LEVELS", "a whole number, 0 or more") { count(Substring($0), min: 0) }
        for name in ["OMP_DYNAMIC", "OMP_NESTED", "OMP_CANCELLATION", "OMP_DISPLAY_AFFINITY"] {
            try check(name, "true or false") { booleans.contains($0) }
        }
        try check("OMP_DISPLAY_ENV", "true, false or verbose") { booleans.contains($0) || $0 == "verbose" }
        try check("OMP_WAIT_POLICY", "active or passive") { ["active", "passive"].contains($0) }
        try check("OMP_STACKSIZE", "a positive size, a number with an optional B, K, M or G suffix") { v in
            let digits = v.last.map { "bkmg".contains($0) } == true ? String(v.dropLast()) : v
            return count(Substring(digits), min: 1)
        }
        try check("OMP_PROC_BIND", "true, false, or a comma-separated list of primary, master, close and spread") { v in
            booleans.contains(v) || v.split(separator: ",", omittingEmptySubsequences: false)
                .allSatisfy { ["primary", "master", "close", "spread"].contains($0.trimmingCharacters(in: .whitespaces)) }
        }
        try check("OMP_SCHEDULE", "[monotonic:|nonmonotonic:]static|dynamic|guided|auto[,CHUNK]") { v in
            var s = Substring(v)
            for m in ["monotonic:", "nonmonotonic:"] where s.hasPrefix(m) { s = s.dropFirst(m.count) }
            let parts = s.split(separator: ",", omittingEmptySubsequences: false)
            return (1...2).contains(parts.count) && ["static", "dynamic", "guided", "auto"].contains(String(parts[0]).trimmingCharacters(in: .whitespaces))
                && (parts.count == 1 || count(parts[1], min: 1))
        }
        try check("KMP_BLOCKTIME", "a whole number of milliseconds (or with us/ms), or infinite") { v in
            v == "infinite" || count(Substring(v.hasSuffix("ms") || v.hasSuffix("us") ? String(v.dropLast(2)) : v), min: 0)
        }
    }

    /// Open MPI's variables the engine relies on under mpirun: the job's size, this rank and
    /// the ranks on this host (sweep divides the cores by it).
    static func validateMPI() throws {
        let size = try value("OMPI_COMM_WORLD_SIZE")
        let n = size.flatMap { Int($0) }
        if let size, !(n.map { $0 >= 1 } ?? false) { throw Invalid(message: "OMPI_COMM_WORLD_SIZE=\(size) must be a positive whole number (set by mpirun)") }
        if let r = try value("OMPI_COMM_WORLD_RANK"), !(Int(r).map { $0 >= 0 && $0 < (n ?? Int.max) } ?? false) {
            throw Invalid(message: "OMPI_COMM_WORLD_RANK=\(r) must be a whole number below the job's size\(n.map { " (\($0))" } ?? "") (set by mpirun)")
        }
        if let l = try value("OMPI_COMM_WORLD_LOCAL_SIZE"), !(Int(l).map { $0 >= 1 } ?? false) {
            throw Invalid(message: "OMPI_COMM_WORLD_LOCAL_SIZE=\(l) must be a positive whole number (set by mpirun)")
        }
    }

    /// Checks every TINYCONV_* variable the engine reads, and the OpenMP and MPI ones it relies on.
    public static func validate() throws {
        try validateOpenMP()
        try validateMPI()
        _ = try mpiTimeout()
        _ = try spinNanos()
        _ = try ompBlocktime()
        _ = try dataFolder()
        _ = try wisdomPath()
        _ = try isa()
    }
}
