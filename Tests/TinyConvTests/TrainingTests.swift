import Foundation
import Testing
@testable import TinyConv

/// A small synthetic data set with a learnable rule (the label is the brightest of ten
/// image bands), so tests need no download and training has something to learn.
func syntheticData(count: Int, seed: UInt64) -> Dataset {
    var rng = TestRNG(seed)
    var images = [UInt8](repeating: 0, count: count * 784), labels = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        let label = Int(rng.next() % 10)
        labels[i] = UInt8(label)
        for p in 0..<784 {
            let band = (p / 28) * 10 / 28
            let base = band == label ? 160 : 40
            images[i * 784 + p] = UInt8(min(255, base + Int(rng.next() % 90)))
        }
    }
    return Dataset(pixels: images, labels: labels, shape: TensorShape(28, 28, 1))
}

func weightHash(_ n: Network) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for v in n.parameters.array + n.velocity.array + n.secondMoment.array { h = (h ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 }
    return h
}

func makeTrainer(_ model: String, threads: Int, backend: SchedulerBackend = .dispatch, epochs: Int = 1,
                 data: Dataset, lr: Float = 0.01, seed: UInt64 = 3, optimizer: OptimizerSettings.Kind = .sgd,
                 schedule: String = "constant") throws -> Trainer {
    var c = TrainingConfig()
    c.optimizer.kind = optimizer
    c.schedule = schedule
    c.model = model
    c.spec = try ModelZoo.spec(model).description
    c.epochs = epochs
    c.threads = threads
    c.scheduler = backend
    c.learningRate = lr
    c.seed = seed
    let net = try Network(spec: try ModelZoo.spec(model), seed: seed)
    return try Trainer(config: c, network: net, train: data, validation: data.slice(0..<16), test: data.slice(16..<40))
}

@Suite("Training: determinism, resume, divergence, checkpoints")
struct TrainingTests {
    static let data = syntheticData(count: 100, seed: 1)  // 4 steps of 32 (the last one 4 samples)
    /// dropout between convs and dense layers, an odd dense width, avg pooling: every piece kind.
    static let dropoutSpec = "conv3x3x10:same,pool,dropout0.25,conv5x5x20,avgpool,fc50,dropout0.4,fc10"

    /// 16 and 64 threads run the step's 4 shards as pieces (work below the shard); 64 is more
    /// threads than images, and more than cores: only slower.
    @Test("the same bits at 1, 2, 3, 5, 16 and 64 threads and with both backends",
          arguments: ModelZoo.named.map(\.name) + [BatchNormTests.spec, TrainingTests.dropoutSpec])
    func determinism(_ model: String) throws {
        var hashes: [String: UInt64] = [:]
        for backend in SchedulerBackend.allCases {
            for threads in [1, 2, 3, 5, 16, 64] {
                let t = try makeTrainer(model, threads: threads, backend: backend, data: Self.data)
                try t.run()
                hashes["\(backend)/\(threads)"] = weightHash(t.network)
            }
        }
        #expect(Set(hashes.values).count == 1, "\(model): \(hashes)")
        // and training did move the weights
        let fresh = try Network(spec: try ModelZoo.spec(model), seed: 3)
        #expect(hashes["dispatch/1"] != weightHash(fresh))
    }

    @Test("training lowers the loss on a learnable task")
    func learns() throws {
        let t = try makeTrainer("lenet5", threads: 2, epochs: 4, data: syntheticData(count: 640, seed: 2))
        try t.run()
        let h = t.progress.history
        #expect(h.count == 4)
        #expect(h.last!.loss < h.first!.loss * 0.7, "\(h.map(\.loss))")
    }

    @Test("stop mid-epoch, checkpoint, resume: bit-identical to an uninterrupted run (SGD; AdamW with a cosine schedule)",
          arguments: [("lenet5", OptimizerSettings.Kind.sgd), ("regularized-lenet5", .sgd), ("regularized-lenet5", .adamw),
                      (BatchNormTests.spec, .adamw)])
    func resume(_ c: (String, OptimizerSettings.Kind)) throws {
        let (model, opt) = c
        let lr: Float = opt == .adamw ? 0.001 : 0.01, schedule = opt == .adamw ? "cosine:1" : "constant"
        func makeTrainer(_ model: String, threads: Int, epochs: Int, data: Dataset, seed: UInt64 = 3) throws -> Trainer {
            try TinyConvTests.makeTrainer(model, threads: threads, epochs: epochs, data: data, lr: lr, seed: seed, optimizer: opt,
                                          schedule: schedule)
        }
        let straight = try makeTrainer(model, threads: 2, epochs: 2, data: Self.data)
        try straight.run()

        let path = NSTemporaryDirectory() + "tinyconv-resume-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try makeTrainer(model, threads: 1, epochs: 2, data: Self.data)
        var steps = 0
        try first.run(shouldStop: { steps += 1; return steps > 6 })  // stops in the middle of epoch 2
        #expect(first.progress.epoch == 1 && first.progress.step == 2)
        try Checkpoint.write(path, network: first.network, config: first.config, progress: first.progress)

        let contents = try Checkpoint.readContents(path)
        let resumed = try makeTrainer(model, threads: 3, epochs: 2, data: Self.data, seed: contents.config.seed)
        resumed.network.parameters.fill(0)
        try Checkpoint.load(path, into: resumed.network)
        resumed.progress = contents.progress
        try resumed.run()
        #expect(weightHash(resumed.network) == weightHash(straight.network))
        #expect(resumed.progress.history == straight.progress.history.map { r in
            var r = r; r.seconds = resumed.progress.history[r.epoch - 1].seconds
            r.imagesPerSecond = resumed.progress.history[r.epoch - 1].imagesPerSecond; return r
        })
    }

    @Test("a stop inside the end-of-epoch evaluation keeps the epoch's steps; the resume evaluates and ends bit-identical")
    func stopInEvaluation() throws {
        let straight = try makeTrainer("lenet5", threads: 2, epochs: 2, data: Self.data)
        try straight.run()
        let path = NSTemporaryDirectory() + "tinyconv-evalstop-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try makeTrainer("lenet5", threads: 2, epochs: 2, data: Self.data)
        try first.run(stopEvaluation: { true })  // the signal arrives while epoch 1 is evaluated
        #expect(first.progress.epoch == 0 && first.progress.step == first.stepsPerEpoch && first.progress.history.isEmpty)
        try Checkpoint.write(path, network: first.network, config: first.config, progress: first.progress)
        let contents = try Checkpoint.readContents(path)
        try contents.progress.validate(config: contents.config, trainCount: Self.data.count, checkpoint: path)
        let resumed = try makeTrainer("lenet5", threads: 1, epochs: 2, data: Self.data)
        try Checkpoint.load(path, into: resumed.network)
        resumed.progress = contents.progress
        try resumed.run()
        #expect(weightHash(resumed.network) == weightHash(straight.network))
        #expect(resumed.progress.history.map(\.testAccuracy) == straight.progress.history.map(\.testAccuracy))
    }

    @Test("a huge learning rate stops training with the epoch and batch named")
    func divergence() throws {
        for lr: Float in [1e9, 20] {  // NaN at once; or a finite loss far above its start (thousands at chance)
            let t = try makeTrainer("lenet5", threads: 2, epochs: 3, data: Self.data, lr: lr)
            do {
                try t.run()
                Issue.record("lr \(lr): no error, losses \(t.progress.history.map(\.loss))")
            } catch let e as TrainingError {
                #expect(e.message.contains("training diverged") && e.message.contains("batch"), "\(e)")
                #expect(!e.message.contains("\n"))
            }
        }
    }

    @Test("damaged, truncated and mismatched checkpoints give clear errors")
    func damagedCheckpoints() throws {
        let t = try makeTrainer("lenet5", threads: 1, data: Self.data)
        let dir = NSTemporaryDirectory() + "tinyconv-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/good.safetensors"
        try Checkpoint.write(good, network: t.network, config: t.config, progress: t.progress)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))

        func fault(_ data: Data?, into model: String = "lenet5") -> String {
            let path = dir + "/case.safetensors"
            try? FileManager.default.removeItem(atPath: path)
            if let data { try! data.write(to: URL(fileURLWithPath: path)) }
            do {
                let n = try Network(spec: try ModelZoo.spec(model), seed: 1)
                try Checkpoint.load(path, into: n)
                return "no error"
            } catch let e as DataFileError { return e.fault } catch { return "\(error)" }
        }
        /// The header text of a checkpoint's bytes, edited, re-framed (length prefix fixed).
        func editHeader(_ d: Data, _ edit: (inout String) -> Void) -> Data {
            let n = Int(d.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            var text = String(decoding: d.subdata(in: 8..<(8 + n)), as: UTF8.self)
            edit(&text)
            var header = Data(text.utf8)
            while (8 + header.count) % 8 != 0 { header.append(0x20) }
            var out = Data()
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
            return out + header + d.subdata(in: (8 + n)..<d.count)
        }
        #expect(fault(bytes) == "no error")
        #expect(fault(nil) == "checkpoint: no such file")
        #expect(fault(bytes.prefix(5)).contains("truncated"))
        #expect(fault(bytes.prefix(bytes.count - 100)).contains("truncated"))
        var badHeader = bytes
        badHeader[9] = 0x7b; badHeader[10] = 0x7b
        #expect(fault(badHeader).contains("not a JSON object"))
        var hugeLength = bytes
        hugeLength[6] = 0xff
        #expect(fault(hugeLength).contains("header length"))
        #expect(fault(bytes, into: "custom").contains("written for model"))
        #expect(fault(Data("not a checkpoint at all, just text".utf8)).contains("header length"))

        // integrity before content: a flipped bit in the stored spec is damage, not another model
        let spec = editHeader(bytes) { $0 = $0.replacingOccurrences(of: "conv5x5x16", with: "conv5x5x17") }
        #expect(fault(spec).contains("does not match the stored"), "\(fault(spec))")
        // the checksum covers the tensor table: two same-size tensors' offsets swapped
        let swapped = editHeader(bytes) { text in
            let (a, b) = (#""conv1.bias":{"data_offsets":[600,624]"#, #""conv1.bias.momentum":{"data_offsets":[1224,1248]"#)
            #expect(text.contains(a) && text.contains(b))
            text = text.replacingOccurrences(of: a, with: #""conv1.bias":{"data_offsets":[1224,1248]"#)
                .replacingOccurrences(of: b, with: #""conv1.bias.momentum":{"data_offsets":[600,624]"#)
        }
        #expect(fault(swapped).contains("does not match the stored"), "\(fault(swapped))")
        // overlapping offsets (as the safetensors format forbids)
        let overlap = editHeader(bytes) { text in
            text = text.replacingOccurrences(of: #""conv1.bias":{"data_offsets":[600,624]"#, with: #""conv1.bias":{"data_offsets":[596,620]"#)
        }
        #expect(overlap != bytes)
        #expect(fault(overlap).contains("overlaps") || fault(overlap).contains("gap"), "\(fault(overlap))")
        // no checksum: refused, not trusted silently
        let unchecked = editHeader(bytes) { text in
            text = text.replacingOccurrences(of: #""checksum":"crc32:[0-9a-f]{8}","#, with: "", options: .regularExpression)
        }
        #expect(unchecked != bytes)
        #expect(fault(unchecked).contains("has no checksum"), "\(fault(unchecked))")
        // a non-finite weight written whole is still refused
        let nan = try makeTrainer("lenet5", threads: 1, data: Self.data)
        nan.network.parameters[3] = .nan
        let nanPath = dir + "/nan.safetensors"
        try Checkpoint.write(nanPath, network: nan.network, config: nan.config, progress: nan.progress)
        #expect(fault(try Data(contentsOf: URL(fileURLWithPath: nanPath))).contains("not finite"))
        // progress no run could have made
        var impossible = t.progress
        impossible.epoch = 3
        let progPath = dir + "/progress.safetensors"
        try Checkpoint.write(progPath, network: t.network, config: t.config, progress: impossible)
        #expect(fault(try Data(contentsOf: URL(fileURLWithPath: progPath))).contains("progress"))
        // what it was trained on is recorded and compared
        let files = (0..<2).map { dir + "/data\($0).bin" }
        for (i, f) in files.enumerated() { try Data([UInt8(i), 1, 2, 3]).write(to: URL(fileURLWithPath: f)) }
        let identity = try DataIdentity(paths: files)
        let dataPath = dir + "/data.safetensors"
        try Checkpoint.write(dataPath, network: t.network, config: t.config, progress: t.progress, data: identity)
        #expect(try Checkpoint.readContents(dataPath).data == identity)
        try Data([9, 9]).write(to: URL(fileURLWithPath: files[1]))
        #expect(try DataIdentity(paths: files).difference(from: identity)?.contains("data1.bin: 2 bytes") == true)
        #expect(identity.difference(from: identity) == nil)
    }

    @Test("network gradient: backprop matches finite differences of the batch loss (with batch norm: statistics over all shards)",
          arguments: ["conv3x3x4:same,pool,conv3x3x5,pool,fc12,fc10", "conv3x3x4:same,bn,pool,conv3x3x5,bn,pool,fc12,bn,fc10"])
    func networkGradient(_ spec: String) throws {
        let net = try Network(spec: try NetworkSpec.parse(spec), seed: 9)
        let s = try MinibatchScheduler(network: net, maxBatch: 6, shardSize: 4, threads: 2)
        let data = syntheticData(count: 6, seed: 4)
        let idx: [Int32] = [0, 1, 2, 3, 4, 5]
        let frozen = MinibatchScheduler.Hyperparameters(learningRate: 0, momentum: 0, l2: 0)
        func loss() -> Double {
            data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in idx.withUnsafeBufferPointer {
                s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress!, count: 6, hyper: frozen,
                       seed: 1, stepIndex: 0).lossSum / 6
            } } }
        }
        let base = loss()
        let g = s.lastGradient
        let maxG = g.map { abs(Double($0)) }.max()!
        // A shifted weight moves thousands of pre-activations; one that crosses a ReLU kink
        // or flips a max-pool winner bends the central difference by at most the jump
        // between the one-sided slopes. So each parameter must match within a tight bound
        // plus its own measured jump (zero where the loss is smooth around it), and most
        // parameters must be smooth.
        var kinked = 0, sampled = 0
        for i in stride(from: 0, to: net.parameterCount, by: 37) {
            let w0 = net.parameters[i]
            let h: Float = 1e-3
            net.parameters[i] = w0 + h; let up = loss()
            net.parameters[i] = w0 - h; let down = loss()
            net.parameters[i] = w0
            let fd = (up - down) / (2 * Double(h))
            let jump = abs((up - base) - (base - down)) / Double(h)
            let tight = 2e-3 * maxG + 5e-3 * abs(fd)
            sampled += 1
            if jump > tight { kinked += 1 }
            #expect(abs(fd - Double(g[i])) <= tight + jump,
                    "parameter \(i): finite difference \(fd), backprop \(g[i]), slope jump \(jump)")
        }
        #expect(kinked * 5 <= sampled, "\(kinked) of \(sampled) sampled parameters sit at a kink")
    }
}
