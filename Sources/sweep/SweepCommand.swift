import ArgumentParser
import BenchHarness
import Distributed
import EngineOptions
@preconcurrency import Glibc
import Foundation
import Sweep
import TinyConv

@main
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train a grid of independent runs (models x seeds x learning rates x ...) over local cores or MPI ranks.",
        discussion: """
        Each run is a `train` process with its own folder under --out (checkpoint, JSON, log). Run again with the same \
        --out to continue a stopped sweep: finished runs are kept, stopped ones resume from their checkpoints. Under \
        mpirun, rank r takes runs r, r+P, ...; alone, --jobs runs at a time. At the end: summary.md, summary.json and \
        curves.svg in --out. Flags after -- go to every run (e.g. -- --limit 10000 --validation 1000).
        """)

    @Option(help: "Model names or specs (repeatable).") var model: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "Seeds (repeatable; A-B for a range).") var seed: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "Learning rates (repeatable).") var lr: [Double] = []
    @Option(parsing: .unconditionalSingleValue, help: "Batch sizes (repeatable).") var batchSize: [Int] = []
    @Option(help: "Optimizers, sgd or adamw (repeatable).") var optimizer: [String] = []
    @Option(help: "Learning-rate schedules (repeatable).") var schedule: [String] = []
    @Option(parsing: .unconditional, help: "Epochs per run (default: 10).") var epochs: Int?
    @Option(help: "The grid as a JSON file instead of the flags above (docs/sweep.md).") var grid: String?
    @Flag(help: "The report's comparison: lenet5, regularized-lenet5, custom and custom-1x1-then-pool, 10 epochs, seeds 1-5.")
    var report = false
    @Option(help: "The sweep's folder: one subfolder per run, the summary beside them.") var out: String
    @Option(help: "The data folder every run reads (as train --data).") var data: String?
    @Option(parsing: .unconditional, help: "Runs at a time in this process (default: the cores this process may use / --threads).")
    var jobs: Int?
    @Option(parsing: .unconditional, help: "Threads per run (default: 1; the bits do not depend on it).") var threads: Int?
    @Flag(help: "Only write the summary of the runs finished so far.") var summaryOnly = false
    @Argument(parsing: .postTerminator, help: "Flags for every run's train, after --.") var trainFlags: [String] = []

    func validate() throws {
        if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be in 1...256, got \(jobs)") }
        if let threads, !(1...TrainingConfig.maxThreads).contains(threads) {
            throw ValidationError("--threads must be in 1...\(TrainingConfig.maxThreads), got \(threads)")
        }
        let axes = !model.isEmpty || !seed.isEmpty || !lr.isEmpty || !batchSize.isEmpty || !optimizer.isEmpty || !schedule.isEmpty
        if grid != nil && (report || axes) { throw ValidationError("--grid gives the whole grid: no --report or axis flags with it") }
        if out.isEmpty { throw ValidationError("--out: the path is empty") }
    }

    func makeGrid() throws -> SweepGrid {
        var g: SweepGrid
        if let grid {
            guard let bytes = FileManager.default.contents(atPath: grid) else { throw ValidationError("--grid \(grid): cannot be read") }
            do { g = try JSONDecoder().decode(SweepGrid.self, from: bytes) } catch let e as SweepError {
                throw ValidationError("--grid \(grid): \(e)")
            } catch {
                throw ValidationError("--grid \(grid): not a sweep grid (\(Self.decodingProblem(error)))")
            }
        } else {
            g = report ? .report : SweepGrid()
            if !model.isEmpty { g.model = model }
            if !seed.isEmpty { g.seed = try seed.flatMap(Self.seeds) }
            if !lr.isEmpty { g.lr = lr }
            if !batchSize.isEmpty { g.batchSize = batchSize }
            if !optimizer.isEmpty { g.optimizer = optimizer }
            if !schedule.isEmpty { g.schedule = schedule }
        }
        if let epochs { g.epochs = epochs }
        g.train += (data.map { ["--data", $0] } ?? []) + trainFlags
        do { try g.validate() } catch let e as SweepError { throw ValidationError(e.description) }
        return g
    }

    /// A JSON decoding error in one line: what is wrong and where.
    static func decodingProblem(_ error: Error) -> String {
        func at(_ path: [CodingKey]) -> String { path.isEmpty ? "" : " at \(path.map(\.stringValue).joined(separator: "."))" }
        switch error as? DecodingError {
        case let .typeMismatch(type, c)?: return "expected \(type)\(at(c.codingPath))"
        case let .valueNotFound(type, c)?: return "missing \(type)\(at(c.codingPath))"
        case let .keyNotFound(key, c)?: return "missing key \(key.stringValue)\(at(c.codingPath))"
        case .dataCorrupted?: return "not valid JSON"
        default: return "\(error)"
        }
    }

    /// Every distinct configuration of the grid (seeds aside, they cannot be wrong) checked by
    /// `train --check` before any run starts: a bad model, flag, optimizer or schedule is one line
    /// and exit 64 now, not an "exit 64" per run with the reason in its log.
    func checkRuns(_ runs: [SweepRun], train: String) throws {
        var seen = Set<String>()
        for r in runs where seen.insert(r.configuration + " " + r.fixed.joined(separator: " ")).inserted {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: train)
            p.arguments = r.flags + ["--threads", "1", "--check"]
            p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                let line = text.split(separator: "\n").first.map(String.init) ?? "exit \(p.terminationStatus)"
                let reason = line.replacingOccurrences(of: "Error: ", with: "").replacingOccurrences(of: "train: error: ", with: "")
                throw ValidationError("run \(r.name) (\(r.configuration)): \(reason)")
            }
        }
    }

    static func seeds(_ text: String) throws -> [UInt64] {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]), a <= b, b - a < 10_000 { return Array(a...b) }
        guard let s = UInt64(text) else { throw ValidationError("--seed \(text): a number or a range like 1-5") }
        return [s]
    }

    func run() throws {
        Interrupt.install()
        try checkEnvironment()
        let grid = try makeGrid()
        // before the folder is touched: a grid that cannot run leaves nothing behind
        let trainBinary = try Self.trainBinary()
        if !summaryOnly { try checkRuns(grid.runs, train: trainBinary) }
        // every rank waits for the slowest at the end: no deadline on that (mpirun ends the
        // job if a rank dies)
        let world = MPIWorld.launchedByMPI ? try MPIWorld(timeout: 1e9) : nil
        defer { world?.finalize() }
        let rank = world?.rank ?? 0, ranks = world?.ranks ?? 1
        let runs = grid.runs

        // The folder belongs to one grid: a second sweep into it with another grid is refused, and
        // so is a folder that holds something else; one sweep at a time writes it. Rank 0 alone
        // checks and claims it, and the other ranks wait for its verdict: a rank that ran ahead
        // would create run folders in it before rank 0 looked (rank 0 then saw "other things",
        // stopped, and the job hung in MPI_Finalize).
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var claimError: Error?
        if rank == 0 {
            do { try claimOutFolder(grid, encoder: enc) } catch { claimError = error }
        }
        if let world, ranks > 1 {
            let verdict = world.broadcast(claimError.map { ($0 as? ValidationError)?.message ?? "\($0)" } ?? "")
            if claimError == nil && !verdict.isEmpty { throw ValidationError(verdict) }  // rank 0's, on the others
        }
        if let claimError { throw claimError }

        let threads = self.threads ?? 1
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1))
        let jobs = self.jobs ?? max(1, cores / threads)
        let runner = SweepRunner(out: out, train: trainBinary, threads: threads, jobs: jobs)
        if ranks > 1 { runner.log = { print("rank \(rank): \($0)"); fflush(stdout) } }
        var failures: [SweepRunner.Outcome] = []
        if !summaryOnly {
            let mine = runs.enumerated().filter { $0.offset % ranks == rank }.map(\.element)
            print("sweep: \(runs.count) runs (\(grid.model.count) model(s) x \(grid.seed.count) seed(s)\(runs.count > grid.model.count * grid.seed.count ? " x other axes" : "")), \(grid.epochs) epochs each; " +
                  (ranks > 1 ? "rank \(rank) of \(ranks) takes \(mine.count), " : "") + "\(jobs) at a time, \(threads) thread(s) each; folder \(out)")
            fflush(stdout)
            do { failures = try runner.run(mine) } catch {
                // the other ranks would wait for this one at the end: end the job
                if let world, ranks > 1 { world.fail("\(error)") }
                throw error
            }
            if Interrupt.requested {
                print("sweep: \(Interrupt.signalName): stopped; the runs wrote their checkpoints (run the same command to continue)")
                throw ExitCode(Interrupt.exitCode)
            }
            _ = world?.anyRank(false)  // every rank's runs are done
        }
        guard rank == 0 else { throw ExitCode(failures.isEmpty ? 0 : 1) }

        let cpu = MachineInfo.current(coresUsed: threads).cpuModel
        let note = "\(runs.count) runs of \(grid.epochs) epochs on \(cpu); \(ranks > 1 ? "\(ranks) ranks x " : "")\(jobs) run(s) at a time, \(threads) thread(s) each " +
            "(images/s are per run while sharing the machine). `sweep` wrote this (\(out)/summary.md)."
        let summary = SweepSummary(runs: runs, folder: runner.folder, note: note)
        try AtomicFile.write(summary.markdown, to: out + "/summary.md")
        try AtomicFile.write(try enc.encode(summary), to: out + "/summary.json")
        let metrics: [(String, (EpochRecord) -> Double?)] = [("training loss", { $0.loss }), ("test accuracy %", { 100 * $0.testAccuracy })]
        let curves = metrics.map { SweepSummary.meanCurves(runs: runs, folder: runner.folder, metric: $0.1) }
        let series = curves.first?.map(\.0) ?? []
        let svg = SVGChart.lineCharts(title: "Sweep: mean over seeds per configuration", panels: metrics.map(\.0), series: series,
                                      points: curves.map { $0.map(\.1) })
        try AtomicFile.write(svg, to: out + "/curves.svg")
        print(summary.markdown, terminator: "")
        print("written: \(out)/summary.md, summary.json, curves.svg")
        for f in failures { FileHandle.standardError.write(Data("sweep: error: run \(f.run) failed (exit \(f.status))\n".utf8)) }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// Checks --out (checkOutFolder), takes its lock and records the grid in sweep.json, or finds
    /// the same grid there (a continued sweep).
    func claimOutFolder(_ grid: SweepGrid, encoder: JSONEncoder) throws {
        let gridPath = out + "/sweep.json"
        try Self.checkOutFolder(out, gridPath: gridPath)
        do { try OutputLock.acquire(out, flag: "--out", folder: true) } catch let e as OutputLock.Held { throw ValidationError(e.message) }
        if let existing = FileManager.default.contents(atPath: gridPath) {
            guard let old = try? JSONDecoder().decode(SweepGrid.self, from: existing), old == grid else {
                throw ValidationError("--out \(out) holds another sweep (its sweep.json differs): give another folder")
            }
        } else {
            try AtomicFile.write(try encoder.encode(grid), to: gridPath)
        }
    }

    /// --out is a folder of ours or can become one: absent (created here), empty, or holding a
    /// sweep's own state (sweep.json); a file, or a folder of other things, is refused.
    static func checkOutFolder(_ out: String, gridPath: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ValidationError("--out \(out) is a file, not a folder") }
            let entries = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { !$0.hasPrefix(".") }  // our lock, temporaries
            guard entries.isEmpty || FileManager.default.fileExists(atPath: gridPath) else {
                throw ValidationError("--out \(out) holds other things and no sweep (no sweep.json): refusing to write into it (give a new or empty folder)")
            }
            return
        }
        // mkdir -p by hand, for errno's words (Foundation's error prints its domain and code)
        var made = out.hasPrefix("/") ? "" : "."
        for part in out.split(separator: "/") {
            made += "/" + part
            if mkdir(made, 0o755) != 0 && errno != EEXIST {
                throw ValidationError("--out \(out): cannot create the folder \(made): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The train binary beside this one (they are built together).
    static func trainBinary() throws -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let path = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("train").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ValidationError("no train binary beside sweep (\(path)): build it (swift build -c release --product train)")
        }
        return path
    }
}
