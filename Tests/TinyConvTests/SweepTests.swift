import Foundation
import Testing
@testable import Sweep
@testable import TinyConv

/// The sweep's grid, its run bookkeeping (finished runs never run again, stopped ones resume)
/// with a stand-in for train, and its summary statistics. scripts/test.sh runs real sweeps.
@Suite("Sweeps")
struct SweepTests {
    @Test("the grid: every combination once, seeds innermost, names from values, owned flags refused")
    func grid() throws {
        var g = SweepGrid()
        g.model = ["lenet5", "conv3x3x4,pool,fc10"]
        g.seed = [1, 2, 3]
        g.lr = [0.01, 0.05]
        g.epochs = 2
        g.train = ["--limit", "500"]
        try g.validate()
        let runs = g.runs
        #expect(runs.count == 12)
        #expect(Set(runs.map(\.name)).count == 12)
        #expect(runs.prefix(3).map(\.name) == ["lenet5_lr0.01_seed1", "lenet5_lr0.01_seed2", "lenet5_lr0.01_seed3"])
        #expect(runs[6].name.hasPrefix("spec-") && runs[6].name.hasSuffix("_lr0.01_seed1"))
        #expect(runs[0].flags == ["--model", "lenet5", "--seed", "1", "--epochs", "2", "--lr", "0.01", "--limit", "500"])
        #expect(runs[0].configuration == "lenet5, lr 0.01")
        g.train = ["--seed=4"]
        #expect(throws: SweepError.self) { try g.validate() }
        g.train = []
        g.seed = []
        #expect(throws: SweepError.self) { try g.validate() }
        let decoded = try JSONDecoder().decode(SweepGrid.self, from: Data(#"{"model": ["custom"], "seed": [7], "batch-size": [64], "epochs": 3}"#.utf8))
        #expect(decoded.runs.map(\.name) == ["custom_b64_seed7"] && decoded.epochs == 3)
        #expect(SweepGrid.report.runs.count == 20)
    }

    /// A stand-in for train: writes a run.json with the asked epochs and keeps no checkpoint
    /// (a folder judged by its JSON), or fails for seed 13; records each call.
    static func fakeTrain(in dir: String) throws -> String {
        let path = dir + "/train"
        try """
        #!/bin/sh
        json=""; ckpt=""; epochs=1; seed=0; resume=no
        while [ $# -gt 0 ]; do
          case "$1" in --json) json="$2"; shift;; --checkpoint) ckpt="$2"; shift;; --epochs) epochs="$2"; shift;;
            --seed) seed="$2"; shift;; --resume) resume=yes; shift;; esac; shift
        done
        echo "$seed $resume" >> "\(dir)/calls"
        [ "$seed" = 13 ] && exit 3
        rm -f "$ckpt"
        e=""; i=1; while [ $i -le $epochs ]; do
          e="$e{\\"epoch\\": $i, \\"loss\\": 1, \\"trainAccuracy\\": 0.5, \\"testLoss\\": 1, \\"testAccuracy\\": 0.9$seed, \\"seconds\\": 1, \\"imagesPerSecond\\": 100}"
          [ $i -lt $epochs ] && e="$e,"; i=$((i+1)); done
        printf '{"tool": "tinyconv-train", "schemaVersion": 1, "config": %s, "parameters": 1, "weights": 1, "isa": "x", "epochs": [%s], "testAccuracyAtBestValidation": %s}' \
          "$(cat "\(dir)/config.json")" "$e" "0.9$seed" > "$json"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        try String(data: try JSONEncoder().encode(TrainingConfig()), encoding: .utf8)!.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        return path
    }

    @Test("state: a finished JSON counts only with a checkpoint that trained every epoch (or none kept)")
    func stateNeedsTheCheckpoint() throws {
        let dir = NSTemporaryDirectory() + "tinyconv-sweep-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = SweepGrid()
        g.model = ["lenet5"]
        g.seed = [1]
        g.epochs = 2
        let run = try #require(g.runs.first)
        let runner = SweepRunner(out: dir, train: "/bin/false", threads: 1, jobs: 1)
        let folder = runner.folder(run)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let record = EpochRecord(epoch: 1, loss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.9, seconds: 1, imagesPerSecond: 1)
        var config = TrainingConfig()
        config.epochs = 2
        let net = try Network(spec: ModelZoo.spec("lenet5"), seed: 1)
        func checkpoint(epochs: Int) throws {
            var p = TrainingProgress()
            p.epoch = epochs
            p.history = (0..<epochs).map { var r = record; r.epoch = $0 + 1; return r }
            try Checkpoint.write(folder + "/checkpoint.safetensors", network: net, config: config, progress: p)
        }
        func json(epochs: Int) throws {
            let history = (0..<epochs).map { var r = record; r.epoch = $0 + 1; return r }
            try RunReport(config: config, network: net, plan: nil, history: history, best: nil).write(to: folder + "/run.json")
        }
        #expect(runner.state(run) == .fresh)
        try checkpoint(epochs: 1)
        try json(epochs: 1)
        #expect(runner.state(run) == .partial)
        try json(epochs: 2)  // stopped between the last JSON and the last checkpoint
        #expect(runner.state(run) == .partial)
        try checkpoint(epochs: 2)
        #expect(runner.state(run) == .finished)
        FileManager.default.createFile(atPath: folder + "/checkpoint.safetensors", contents: Data("damaged".utf8))
        #expect(runner.state(run) == .partial)  // resumed: train then names the damage
        try FileManager.default.removeItem(atPath: folder + "/checkpoint.safetensors")
        #expect(runner.state(run) == .finished)  // kept without its weights, as runs/report-sweep
    }

    @Test("runs: finished ones are kept, partial ones resume, failures reported, the summary averages seeds")
    func runner() throws {
        let dir = NSTemporaryDirectory() + "tinyconv-sweep-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try Self.fakeTrain(in: dir)
        var g = SweepGrid()
        g.model = ["lenet5"]
        g.seed = [1, 2, 3, 13]
        g.epochs = 2
        let out = dir + "/out"
        let runner = SweepRunner(out: out, train: train, threads: 1, jobs: 2)
        runner.log = { _ in }
        // seed 2 was stopped earlier: a checkpoint, no finished JSON
        try FileManager.default.createDirectory(atPath: out + "/lenet5_seed2", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: out + "/lenet5_seed2/checkpoint.safetensors", contents: Data())
        #expect(runner.state(g.runs[1]) == .partial && runner.state(g.runs[0]) == .fresh)
        let failures = try runner.run(g.runs)
        #expect(failures.map(\.run) == ["lenet5_seed13"] && failures.first?.status == 3)
        let calls = try String(contentsOfFile: dir + "/calls", encoding: .utf8).split(separator: "\n").sorted()
        #expect(calls == ["1 no", "13 no", "2 yes", "3 no"])
        #expect(g.runs.prefix(3).allSatisfy { runner.state($0) == .finished },
                "\((try? String(contentsOfFile: out + "/lenet5_seed1/run.json", encoding: .utf8)) ?? "no run.json")")
        // again: nothing finished runs again; the failed one is tried again
        _ = try runner.run(g.runs)
        let again = try String(contentsOfFile: dir + "/calls", encoding: .utf8).split(separator: "\n")
        #expect(again.count == 5 && again.last == "13 no")

        let s = SweepSummary(runs: g.runs, folder: runner.folder, note: "test")
        #expect(s.missing == ["lenet5_seed13"])
        let row = try #require(s.rows.first)
        #expect(row.runs == 3 && row.seeds == [1, 2, 3])
        #expect(abs(row.mean - 0.92) < 1e-12 && abs(row.sd - 0.01) < 1e-12 && row.min == 0.91 && row.max == 0.93)
        #expect(s.markdown.contains("| lenet5 | 3 | 92.00% ± 1.00 | 91.00% - 93.00% |"))
    }
}
