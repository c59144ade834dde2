import ArgumentParser
@preconcurrency import Glibc
import Foundation
import TinyConv

extension ISA: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.description) }
}

extension SchedulerBackend: ExpressibleByArgument {}
extension KernelTuner.Mode: ExpressibleByArgument {}
extension OptimizerSettings.Kind: ExpressibleByArgument {}
extension GradientExchange: ExpressibleByArgument {}

/// The ISA choice, shared by every command that runs kernels: `--isa`, else
/// TINYCONV_ISA, else the widest the CPU has. A bad name or an ISA the CPU lacks is a
/// one-line error whichever way it came.
public struct ISAOption: ParsableArguments {
    public init() {}
    @Option(help: "ISA to force: generic, avx2, avx512 (default: $TINYCONV_ISA, else the widest this CPU has).")
    public var isa: ISA?

    /// Checks every TINYCONV_* variable, then forces the chosen ISA for the process; call
    /// before any kernel runs.
    public func apply() throws {
        try checkEnvironment()
        if let isa {
            guard ISA.force(isa) else { throw ValidationError("--isa \(isa): this CPU cannot run it (it can run \(Self.supported))") }
            return
        }
        if let chosen = try EnvironmentSettings.isa() { ISA.force(chosen) }
    }
    static var supported: String { ISA.supported.map(\.description).joined(separator: ", ") }
}

/// Every command's first check: the TINYCONV_* variables (EnvironmentSettings), as a
/// ValidationError (exit 64, one line) when one is not what it takes.
public func checkEnvironment() throws {
    do { try EnvironmentSettings.validate() } catch let e as EnvironmentSettings.Invalid { throw ValidationError(e.message) }
}

/// How a run spreads over the machine and what fixes its arithmetic: options shared by
/// `train` and `bench`. Every field is optional so `train --resume` keeps what the
/// checkpoint says unless a flag is given; the defaults are TrainingConfig's.
public struct EngineOptions: ParsableArguments {
    public init() {}
    static let defaults = TrainingConfig()
    public static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    @Option(parsing: .unconditional, help: "Minibatch size, 1...\(TrainingConfig.maxBatchSize) (default: \(defaults.batchSize)).")
    public var batchSize: Int?
    @Option(parsing: .unconditional, help: "Worker threads, 1...\(TrainingConfig.maxThreads) (default: the cores this process may use, here \(defaultThreads)).")
    public var threads: Int?
    @Option(help: "dispatch (whole shards per worker) or openmp (one parallel region per layer, framework style) (default: \(defaults.scheduler.rawValue)).")
    public var scheduler: SchedulerBackend?
    @Option(parsing: .unconditional, help: "Samples per micro-shard, 1...\(TrainingConfig.maxBatchSize): fixes the arithmetic, so results are identical at any thread count (default: \(defaults.shardSize)).")
    public var shardSize: Int?
    @Option(parsing: .unconditional, help: "Random seed: weights, shuffles, dropout (default: \(defaults.seed)).")
    public var seed: UInt64?
    @OptionGroup public var isaOption: ISAOption
    @Option(help: "Kernel choices (tiles, blocking, direct or GEMM, fused or not): auto (measured on first use on this CPU, then remembered in the wisdom file), off (the fixed shape rules), fresh (measure again). Results are the same bits either way.")
    public var tune: KernelTuner.Mode?
    @Option(help: "Under mpirun, how ranks combine gradients: tree (each rank sums its part of the reduction tree; traffic does not grow with the batch) or gather (every rank receives every shard's gradients). The same bits either way (default: tree).")
    public var exchange: GradientExchange?

    public func validate() throws {
        if let b = batchSize, !(1...TrainingConfig.maxBatchSize).contains(b) {
            throw ValidationError("--batch-size must be in 1...\(TrainingConfig.maxBatchSize), got \(b)")
        }
        if let t = threads, !(1...TrainingConfig.maxThreads).contains(t) {
            throw ValidationError("--threads must be in 1...\(TrainingConfig.maxThreads), got \(t)")
        }
        if let s = shardSize, !(1...TrainingConfig.maxBatchSize).contains(s) {
            throw ValidationError("--shard-size must be in 1...\(TrainingConfig.maxBatchSize), got \(s)")
        }
    }

    /// Writes the given flags into a configuration (the others keep its values).
    public func apply(to c: inout TrainingConfig) {
        if let batchSize { c.batchSize = batchSize }
        if let threads { c.threads = threads }
        if let scheduler { c.scheduler = scheduler }
        if let shardSize { c.shardSize = shardSize }
        if let seed { c.seed = seed }
    }

    /// The configuration these flags describe on top of the defaults (threads: all cores).
    public var resolved: TrainingConfig {
        var c = TrainingConfig()
        c.threads = Self.defaultThreads
        apply(to: &c)
        return c
    }
}

/// The flag a TrainingConfig field is set by, for error messages.
public func flagName(_ field: String) -> String {
    let map = ["learningRate": "--lr", "batchSize": "--batch-size", "shardSize": "--shard-size", "weightDecay": "--weight-decay"]
    return map[field] ?? "--\(field)"
}

extension EngineOptions {
    /// The plan choices `--tune` asks for: rank 0 (or a lone process) tunes and prints one line
    /// (and any wisdom-file note); under mpirun the other ranks receive rank 0's choices.
    public func planChoices(for network: Network, shardSize: Int, fuseLayers: Bool = true,
                            agreement: (any PlanAgreement)?) throws -> (PlanChoices, KernelTuner.Report?) {
        let mode = tune ?? .auto
        guard mode != .off else { return (.rules, nil) }
        let tuner = KernelTuner(mode: mode)
        if agreement?.isRoot ?? true {
            for note in tuner.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
        let (choices, report) = try tuner.agreedChoices(for: network, capacity: shardSize, fuseLayers: fuseLayers, agreement: agreement)
        if let report { print(report.summary) }
        return (choices, report)
    }
}

/// A flag's value as a 32-bit float, refusing what a Float cannot hold: `--lr 1e39` overflows,
/// `--lr 1e-50` underflows to 0, and a value below `below` that rounds up to it (`--momentum
/// 0.99999999` is 1 as a Float) says so, instead of a misleading range error later.
public func float32(_ flag: String, _ value: Double, below: Double? = nil) throws -> Float {
    guard value.isFinite else { throw ValidationError("\(flag) \(value) is not a finite number") }
    let f = Float(value)
    if f.isInfinite { throw ValidationError("\(flag) \(value) overflows a 32-bit float (largest \(Float.greatestFiniteMagnitude))") }
    if value != 0 && f == 0 {
        throw ValidationError("\(flag) \(value) underflows a 32-bit float to 0 (smallest \(Float.leastNonzeroMagnitude))")
    }
    if let below, value < below, Double(f) >= below {
        throw ValidationError("\(flag) \(value) rounds to \(f) as a 32-bit float; it must be below \(below)")
    }
    return f
}

/// Ends a command whose standard output could not be written (a full disk, `> /dev/full`, a
/// closed pipe): one line on stderr and exit 1, not a silent exit 0.
public func checkStandardOutput(_ tool: String) throws {
    fflush(stdout)
    if ferror(stdout) != 0 {
        FileHandle.standardError.write(Data("\(tool): error: cannot write to standard output\n".utf8))
        throw ExitCode(1)
    }
}

/// A command's file roles checked before it does any work (FileRoles): no output may be an
/// input or another output, every output writable, no path empty, a folder or a link loop.
/// outputs: (flag, path or nil when not given).
public func checkFiles(inputs: [(String, String)] = [], outputs: [(String, String?)], allowedSame: [(String, String)] = []) throws {
    var roles = FileRoles()
    roles.inputs = inputs
    roles.outputs = outputs.compactMap { f, p in p.map { (f, $0) } }
    roles.allowedSame = allowedSame
    do { try roles.check() } catch let e as FileRoles.Conflict { throw ValidationError(e.message) }
}
