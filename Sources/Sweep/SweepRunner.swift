@preconcurrency import Glibc
import Foundation
import TinyConv

/// Runs a share of a sweep's runs as `train` child processes, `jobs` at a time, each in its
/// own folder (OUT/NAME: checkpoint.safetensors, run.json, train.log). A finished run (see
/// `state`) is never run again; one with a checkpoint resumes from
/// it (bit-identical, as `train --resume` is); a signal to the sweep is passed to its children
/// (each writes its checkpoint and stops), then the sweep stops.
public final class SweepRunner {
    public let out: String
    public let train: String
    public let threads: Int
    public let jobs: Int
    public var log: (String) -> Void = { print($0); fflush(stdout) }

    public init(out: String, train: String, threads: Int, jobs: Int) {
        (self.out, self.train, self.threads, self.jobs) = (out, train, threads, jobs)
    }

    public enum State: Equatable { case fresh, partial, finished }

    public func folder(_ run: SweepRun) -> String { out + "/" + run.name }

    /// Where a run stands, from its folder: finished when its JSON records every epoch and its
    /// checkpoint, if kept, has trained them all. train writes the JSON first, so a run stopped
    /// between the two has a checkpoint one epoch behind: it resumes and re-trains that epoch to
    /// the same bits. A folder kept without its checkpoint (runs/report-sweep) is judged by its JSON.
    public func state(_ run: SweepRun) -> State {
        let dir = folder(run), checkpoint = dir + "/checkpoint.safetensors"
        let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint)
        if let data = FileManager.default.contents(atPath: dir + "/run.json"),
           let report = try? JSONDecoder().decode(RunReport.self, from: data), report.epochs.count >= run.epochs {
            guard hasCheckpoint else { return .finished }
            if let saved = try? Checkpoint.readContents(checkpoint), saved.progress.epoch >= run.epochs { return .finished }
        }
        return hasCheckpoint ? .partial : .fresh
    }

    public struct Outcome: Sendable { public var run: String; public var status: Int32 }

    /// Runs `runs` (skipping finished ones); returns the failures. Stops early on a signal.
    public func run(_ runs: [SweepRun]) throws -> [Outcome] {
        var pending = runs.filter { state($0) != .finished }
        let skipped = runs.count - pending.count
        if skipped > 0 { log("sweep: \(skipped) of \(runs.count) runs already finished (kept, not run again)") }
        var active: [(pid: pid_t, run: SweepRun)] = []
        var failures: [Outcome] = []
        var forwarded = false
        while !(pending.isEmpty && active.isEmpty) {
            if Interrupt.requested {
                if !forwarded { for a in active { kill(a.pid, SIGTERM) } }
                forwarded = true
                pending.removeAll()
            }
            while active.count < jobs, !pending.isEmpty {
                let r = pending.removeFirst()
                active.append((try start(r), r))
            }
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0, let i = active.firstIndex(where: { $0.pid == pid }) {
                let r = active.remove(at: i).run
                let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                if code == 0 {
                    log("sweep: \(r.name) finished")
                } else if !Interrupt.requested {
                    failures.append(Outcome(run: r.name, status: code))
                    log("sweep: \(r.name) failed with exit \(code) (its log: \(folder(r))/train.log)")
                }
            } else {
                usleep(20_000)
            }
        }
        return failures
    }

    /// Starts one run's train process: stdout and stderr to its log, no MPI in its environment.
    func start(_ r: SweepRun) throws -> pid_t {
        let dir = folder(r)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let checkpoint = dir + "/checkpoint.safetensors"
        var args = [train] + r.flags + ["--threads", String(threads), "--checkpoint", checkpoint, "--json", dir + "/run.json"]
        let resuming = state(r) == .partial
        if resuming { args += ["--resume", checkpoint] }
        log("sweep: \(resuming ? "resuming" : "starting") \(r.name)")
        // the child is a process of its own, not a rank of the sweep's mpirun job
        let env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
            .map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let logPath = dir + "/train.log"
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var pid: pid_t = 0
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        let rc = posix_spawn(&pid, train, &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw SweepError("cannot start \(train): \(String(cString: strerror(rc)))") }
        return pid
    }
}
