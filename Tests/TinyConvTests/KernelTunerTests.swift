import Foundation
import Testing
@testable import TinyConv

/// The tuner: wisdom remembered per CPU and read back, damaged or foreign files ignored
/// with one line and kept, and a tuned plan (or any forced choice) trains to the untuned
/// plan's bits.
@Suite("Kernel tuner and wisdom")
struct KernelTunerTests {
    static func tempPath() -> String {
        let dir = NSTemporaryDirectory() + "tinyconv-wisdom-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/wisdom.json"
    }

    /// A quick tuner: one sample per candidate (these tests check behaviour, not speed).
    static func tuner(_ mode: KernelTuner.Mode, _ path: String?) -> KernelTuner {
        let t = KernelTuner(mode: mode, wisdomPath: path)
        t.rounds = 1
        t.secondsPerSample = 1e-6
        return t
    }

    @Test("measured choices are written to the wisdom file and read back without measuring")
    func wisdomRoundTrip() throws {
        let path = Self.tempPath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let net = try Network(spec: try ModelZoo.spec("lenet5"), seed: 1)
        let (first, r1) = try Self.tuner(.auto, path).choices(for: net, capacity: 4)
        #expect(r1.measured == 5 && r1.remembered == 0, "\(r1.summary)")
        #expect(first.layers.keys.sorted() == [0, 2, 4, 5, 6], "conv1, conv2, fc1, fc2, fc3")
        #expect(first.layers[0]?.fused != nil && first.layers[2]?.fused != nil && first.layers[4]?.fused == nil)
        #expect(r1.layers.flatMap(\.directions).allSatisfy { $0.candidates.count > 1 })
        #expect(FileManager.default.fileExists(atPath: path))
        let tuner2 = Self.tuner(.auto, path)
        #expect(tuner2.notes.isEmpty, "\(tuner2.notes)")
        let (second, r2) = try tuner2.choices(for: net, capacity: 4)
        #expect(r2.measured == 0 && r2.remembered == 5, "\(r2.summary)")
        #expect(second == first)
        // fresh measures again; another capacity is another shape
        let (_, r3) = try Self.tuner(.fresh, path).choices(for: net, capacity: 4)
        #expect(r3.measured == 5)
        let (_, r4) = try Self.tuner(.auto, path).choices(for: net, capacity: 3)
        #expect(r4.measured == 5)
        // off: the rules, and no file is touched
        let offPath = Self.tempPath()
        let (off, r5) = try Self.tuner(.off, offPath).choices(for: net, capacity: 4)
        #expect(off == .rules && r5.layers.isEmpty && !FileManager.default.fileExists(atPath: offPath))
    }

    @Test("a damaged, checksum-failing or foreign wisdom file is ignored with one line, and never destroyed")
    func damagedWisdom() throws {
        let path = Self.tempPath()
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try Network(spec: try NetworkSpec.parse("conv3x3x4,pool,fc10"), seed: 1)
        let garbage = Data("{\"format\": \"tinyconv-wisdom-1\", \"machines\": [".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        let t = Self.tuner(.auto, path)
        #expect(t.notes.count == 1 && t.notes[0].contains("damaged") && !t.notes[0].contains("\n"), "\(t.notes)")
        let (_, r) = try t.choices(for: net, capacity: 2)
        #expect(r.measured == 2)
        #expect(FileManager.default.contents(atPath: path + ".damaged") == garbage, "the damaged file is kept aside")
        #expect(Self.tuner(.auto, path).notes.isEmpty, "the new file is whole")

        // a flipped digit keeps valid JSON but fails the checksum
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let range = try #require(text.range(of: "gemm") ?? text.range(of: "rule"))
        text.replaceSubrange(range, with: text[range] == "gemm" ? "rule" : "gemm")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let t2 = Self.tuner(.auto, path)
        #expect(t2.notes.count == 1 && t2.notes[0].contains("checksum"), "\(t2.notes)")
        let (_, r2) = try t2.choices(for: net, capacity: 2)
        #expect(r2.measured == 2 && r2.remembered == 0)

        // another CPU's wisdom only: said once, kept, never applied here
        var other = CPUIdentity.current
        other.model += 1
        let foreign = Self.tempPath()
        let ft = KernelTuner(mode: .auto, wisdomPath: foreign, cpu: other)
        (ft.rounds, ft.secondsPerSample) = (1, 1e-6)
        _ = try ft.choices(for: net, capacity: 2)
        let here = Self.tuner(.auto, foreign)
        #expect(here.notes.count == 1 && here.notes[0].contains("other CPUs"), "\(here.notes)")
        let (_, r3) = try here.choices(for: net, capacity: 2)
        #expect(r3.remembered == 0 && r3.measured == 2)
        let saved = try JSONDecoder().decode(Wisdom.File.self, from: try Data(contentsOf: URL(fileURLWithPath: foreign)))
        #expect(saved.machines.count == 2, "both CPUs' wisdom kept")
    }

    /// Every non-rule choice the tuner offers, forced onto every layer, and every conv + pool apart.
    static func forcedChoices(_ net: Network, capacity: Int, pick: Int) -> PlanChoices {
        let tuner = KernelTuner(mode: .fresh, wisdomPath: nil)
        var choices = PlanChoices()
        for layer in net.resolved {
            guard let shape = layer.unit.kernelShape(layer, batch: capacity) else { continue }
            var a = ConvAlgorithm.rule
            let rule = ConvAlgorithm.resolvedRule(shape)
            for d in ConvAlgorithm.Direction.allCases {
                let list = tuner.candidates(shape, d, rule: rule[d]) + tuner.blockings(shape, d, best: rule[d], rule: rule[d])
                if list.count > 1 { a[d] = list[1 + (pick + layer.index) % (list.count - 1)] }
            }
            choices.layers[layer.index] = .init(algorithm: a, fused: pick % 2 == 0)
        }
        return choices
    }

    @Test("tuned, forced and untuned plans train to identical weights", arguments: ["lenet5", "custom", "custom-1x1-then-pool"])
    func sameBits(_ model: String) throws {
        let data = syntheticData(count: 24, seed: 6), idx = (0..<24).map { Int32(($0 * 5) % 24) }
        func train(_ choices: PlanChoices, threads: Int) throws -> UInt64 {
            let net = try Network(spec: try ModelZoo.spec(model), seed: 4)
            let s = try MinibatchScheduler(network: net, maxBatch: 12, shardSize: 4, threads: threads, choices: choices)
            let hyper = MinibatchScheduler.Hyperparameters(learningRate: 0.05, momentum: 0.9, l2: 0.001)
            for step in 0..<2 {
                data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in
                    idx.withUnsafeBufferPointer {
                        _ = s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress! + 12 * step, count: 12,
                                   hyper: hyper, seed: 3, stepIndex: UInt64(step))
                    }
                } }
            }
            return weightHash(net)
        }
        let net = try Network(spec: try ModelZoo.spec(model), seed: 4)
        let (tuned, _) = try Self.tuner(.fresh, nil).choices(for: net, capacity: 4)
        let untuned = try train(.rules, threads: 2)
        #expect(try train(tuned, threads: 2) == untuned, "\(model): tuned plan \(tuned.text)")
        for pick in 0..<3 {
            let forced = Self.forcedChoices(net, capacity: 4, pick: pick)
            #expect(try train(forced, threads: 1 + pick % 2) == untuned, "\(model): forced plan \(forced.text)")
        }
    }

    @Test("the analytical blocking follows the caches and stays inside the driver's bounds")
    func analyticalBlocking() throws {
        var cpu = CPUIdentity(vendor: "x", family: 1, model: 1, stepping: 1, isa: .avx2, caches: [
            .init(level: 1, bytes: 32 * 1024, ways: 8, sets: 64, lineBytes: 64, sharedBy: 1),
            .init(level: 2, bytes: 512 * 1024, ways: 8, sets: 1024, lineBytes: 64, sharedBy: 1),
            .init(level: 3, bytes: 16 << 20, ways: 16, sets: 16384, lineBytes: 64, sharedBy: 8)])
        let b = try #require(CacheBlocking.analytical(tile: .init(6, 16), cpu: cpu))
        // one L1 way of 64 sets x 64 bytes for a 6-row A micro-panel: 4096 / 24 = 170 -> 168
        #expect(b.kc == 168 && b.mc % 6 == 0 && b.mc > 0 && b.nc % 16 == 0 && b.nc <= 4096, "\(b)")
        let big = try #require(CacheBlocking.analytical(tile: .init(12, 32), cpu: CPUIdentity(vendor: "x", family: 6, model: 207,
            stepping: 2, isa: .avx512, caches: [.init(level: 1, bytes: 48 * 1024, ways: 12, sets: 64, lineBytes: 64, sharedBy: 1),
                                                .init(level: 2, bytes: 2 << 20, ways: 16, sets: 2048, lineBytes: 64, sharedBy: 1)])))
        #expect(big.kc == 256, "\(big)")  // floor(11 / (1 + 32/12)) = 3 ways x 4096 / 48
        cpu.caches = []
        #expect(CacheBlocking.analytical(tile: .init(6, 16), cpu: cpu) == nil)
    }
}
