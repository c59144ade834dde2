import ArgumentParser
import Foundation
import Distributed
import EngineOptions
import TinyConv

@main
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN on MNIST or your own IDX images with SGD + momentum or AdamW (TinyConv).",
        discussion: "Models: lenet5, regularized-lenet5, custom (pool-then-1x1), custom-1x1-then-pool, lenet5-avgpool, or a spec string such as conv5x5x6:same,pool,conv5x5x16,pool,fc120,fc84,fc10 (see docs/model-spec.md).")

    @Option(help: "Model name or spec string (default: lenet5). One model: bench compares several.") var model: [String] = []
    @Option(parsing: .unconditional, help: "Epochs to train in all (default: 10; with --resume: the epoch to stop after, more than those done).") var epochs: Int?
    @Option(parsing: .unconditional, help: "SGD learning rate, a positive 32-bit float (default: 0.01).") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum, in [0, 1) (default: 0.9).") var momentum: Double?
    @Option(help: "sgd (with momentum, Keras's) or adamw (PyTorch's, decoupled weight decay) (default: sgd).") var optimizer: OptimizerSettings.Kind?
    @Option(parsing: .unconditional, help: "AdamW's beta1, in [0, 1) (default: 0.9).") var beta1: Double?
    @Option(parsing: .unconditional, help: "AdamW's beta2, in [0, 1) (default: 0.999).") var beta2: Double?
    @Option(parsing: .unconditional, help: "AdamW's epsilon, positive (default: 1e-8).") var epsilon: Double?
    @Option(parsing: .unconditional, help: "AdamW's decoupled weight decay on the weights (not biases) (default: 0.01).") var weightDecay: Double?
    @Option(help: "Learning-rate schedule: constant, step:EPOCHS:GAMMA (times GAMMA every EPOCHS epochs) or cosine[:WARMUP] (linear warm-up over WARMUP epochs, then cosine to 0 at the last epoch) (default: constant).")
    var schedule: String?
    @OptionGroup var engine: EngineOptions
    @Option(help: "Folder with the four MNIST IDX files, gzipped or not, or your own as train-images.idx, train-labels.idx, test-images.idx, test-labels.idx (images N x H x W [x C], bytes or float32) (default: $TINYCONV_DATA, else data/mnist).") var data: String?
    @Option(parsing: .unconditional, help: "Validation images taken from the end of the training set (default: 5000).") var validation: Int?
    @Option(parsing: .unconditional, help: "Use only the first N training images, the --validation ones included (quick runs).") var limit: Int?
    @Option(help: "Write a checkpoint here after every epoch (and on Ctrl-C; without it a stop writes interrupted.safetensors, or interrupted-N.safetensors when that exists, in the current folder).") var checkpoint: String?
    @Option(help: "Also write the initial weights here, before the first step (to start another engine from the same point).") var initialCheckpoint: String?
    @Option(help: "Resume from this checkpoint (--threads and --scheduler default to its own).") var resume: String?
    @Flag(help: "With --resume: continue on data files other than those the checkpoint was trained on.") var allowOtherData = false
    @Flag(name: .customLong("allow-format-1"), help: "Read a format-1 checkpoint (--resume, --evaluate), whose checksum leaves its tensor table unverified; this release only.")
    var allowFormat1 = false
    @Option(help: "Write per-epoch figures and the configuration as JSON here.") var json: String?
    @Option(help: "Score this checkpoint on the test set and exit.") var evaluate: String?
    @Option(help: "With --evaluate: also write the test set's logits here (.npy, float32, images x classes).") var logits: String?
    @Flag(help: "Check the flags, the data and the model, then exit without training or writing anything (what sweep does before it starts its runs).")
    var check = false

    func run() throws {
        do { try execute() } catch let e as ValidationError { throw e } catch let e as CleanExit { throw e } catch let e as ExitCode { throw e }
        catch let e as SpecError { throw ValidationError("--model: \(e)") }  // a bad spec is a bad flag value (exit 64)
        catch {
            FileHandle.standardError.write(Data("train: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func validate() throws {
        if model.count > 1 {
            throw ValidationError("--model is given \(model.count) times (\(model.joined(separator: ", "))): train trains one model (bench compares several)")
        }
        if logits != nil && evaluate == nil { throw ValidationError("--logits goes with --evaluate") }
        if allowOtherData && resume == nil { throw ValidationError("--allow-other-data goes with --resume") }
        if allowFormat1 && resume == nil && evaluate == nil { throw ValidationError("--allow-format-1 goes with --resume or --evaluate") }
        if initialCheckpoint != nil && resume != nil { throw ValidationError("--initial-checkpoint writes a new run's starting weights; a --resume run has none") }
        if evaluate != nil {
            let ignored = [("--model", !model.isEmpty), ("--resume", resume != nil), ("--epochs", epochs != nil), ("--lr", lr != nil),
                           ("--momentum", momentum != nil), ("--batch-size", engine.batchSize != nil), ("--seed", engine.seed != nil),
                           ("--scheduler", engine.scheduler != nil), ("--validation", validation != nil), ("--limit", limit != nil),
                           ("--checkpoint", checkpoint != nil), ("--json", json != nil), ("--initial-checkpoint", initialCheckpoint != nil), ("--tune", engine.tune != nil),
                           ("--optimizer", optimizer != nil), ("--schedule", schedule != nil)].filter(\.1).map(\.0)
            if !ignored.isEmpty {
                throw ValidationError("--evaluate scores a checkpoint as it is: \(ignored.joined(separator: ", ")) cannot be combined with it")
            }
        }
    }

    func execute() throws {
        Interrupt.install()  // first thing: a signal during start-up or loading is kept too
        try checkEnvironment()
        Checkpoint.acceptsFormat1 = allowFormat1
        // Under mpirun: join the job; rank 0 alone prints and writes files (docs/distributed.md).
        let world = try MPIWorld.join(exchange: engine.exchange)
        if let world, world.rank != 0 {  // only rank 0 prints: point the others' stdout at /dev/null
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, STDOUT_FILENO); close(null) }
        }
        defer { world?.finalize() }
        let writes = world.map { $0.rank == 0 } ?? true
        try engine.isaOption.apply()
        if data == "" { throw ValidationError("--data: the path is empty") }
        let dataFolder = try data ?? EnvironmentSettings.dataFolder() ?? "data/mnist"
        let dataFiles = MNIST.paths(in: dataFolder)
        if let evaluate {
            try checkFiles(inputs: [("--evaluate", evaluate)] + dataFiles, outputs: [("--logits", logits)])
            return try evaluateCheckpoint(evaluate, dataFolder: dataFolder)
        }
        let model = self.model.first

        var config = TrainingConfig()
        var progress = TrainingProgress()
        var recordedData: DataIdentity? = nil
        if let resume {
            if let p = FileRoles.pathProblem("--resume", resume) { throw ValidationError(p) }
            let c = try Checkpoint.readContents(resume)
            for note in c.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            config = c.config
            progress = c.progress
            recordedData = c.data
            if let model, (try ModelZoo.spec(model, input: config.input, classes: config.classes)).description != config.spec {
                throw ValidationError("--model \(model) differs from the checkpoint's model '\(config.spec)'")
            }
        } else if let model {
            config.model = model
        }
        if let resume {  // what the checkpoint says holds (Checkpoint verified it); now the flags
            if let optimizer, optimizer != config.optimizer.kind {
                throw ValidationError("--optimizer \(optimizer.rawValue): \(resume) was trained with \(config.optimizer.kind.rawValue), whose state it holds (start a new run instead)")
            }
            if let epochs, epochs <= progress.epoch {
                throw ValidationError("--epochs \(epochs): \(resume) has \(progress.epoch) epochs done already, so there is nothing to train (give --epochs above \(progress.epoch))")
            }
            // These fix which samples each step sees and how its sum is rounded: a resume
            // with other values would not continue the run it claims to continue.
            let fixed: [(String, Bool)] = [
                ("--batch-size \(engine.batchSize ?? 0) (the checkpoint's is \(config.batchSize))", engine.batchSize.map { $0 != config.batchSize } ?? false),
                ("--shard-size \(engine.shardSize ?? 0) (the checkpoint's is \(config.shardSize))", engine.shardSize.map { $0 != config.shardSize } ?? false),
                ("--seed \(engine.seed ?? 0) (the checkpoint's is \(config.seed))", engine.seed.map { $0 != config.seed } ?? false),
                ("--limit \(limit ?? 0) (the checkpoint's is \(config.limit.map(String.init) ?? "none"))", limit.map { $0 != config.limit } ?? false),
                ("--validation \(validation ?? 0) (the checkpoint's is \(config.validation))", validation.map { $0 != config.validation } ?? false),
            ]
            if let bad = fixed.first(where: \.1) {
                throw ValidationError("--resume continues a run as it was: \(bad.0) would change it (start a new run instead)")
            }
        } else {
            config.threads = EngineOptions.defaultThreads
        }
        if let epochs { config.epochs = epochs }
        if let lr { config.learningRate = try float32("--lr", lr) }
        if let momentum { config.momentum = try float32("--momentum", momentum, below: 1) }
        if let optimizer { config.optimizer.kind = optimizer }
        if let beta1 { config.optimizer.beta1 = try float32("--beta1", beta1, below: 1) }
        if let beta2 { config.optimizer.beta2 = try float32("--beta2", beta2, below: 1) }
        if let epsilon { config.optimizer.epsilon = try float32("--epsilon", epsilon) }
        if let weightDecay { config.optimizer.weightDecay = try float32("--weight-decay", weightDecay) }
        if let schedule { config.schedule = schedule }
        engine.apply(to: &config)
        if let validation { config.validation = validation }
        if let limit { config.limit = limit }
        do { try config.validate() } catch let e as TrainingConfig.Invalid {
            throw ValidationError("\(flagName(e.field)) \(e.requirement)")
        }
        if let e = config.scheduleWithoutEffect { throw ValidationError("\(flagName(e.field)) \(e.requirement)") }
        // flags that would do nothing are refused, not ignored
        let adamOnly = [("--beta1", beta1 != nil), ("--beta2", beta2 != nil), ("--epsilon", epsilon != nil), ("--weight-decay", weightDecay != nil)]
            .filter(\.1).map(\.0)
        if config.optimizer.kind == .sgd && !adamOnly.isEmpty {
            throw ValidationError("\(adamOnly.joined(separator: ", ")) set\(adamOnly.count == 1 ? "s" : "") AdamW's hyper-parameters, but this run trains with sgd: they would do nothing (give --optimizer adamw, or drop them)")
        }
        if let limit = config.limit, config.validation >= limit {
            throw ValidationError("--limit \(limit) leaves no training images after the \(config.validation) validation images (they are taken from the --limit images: give --limit above \(config.validation), or a smaller --validation)")
        }
        if world != nil && config.scheduler != .dispatch {
            throw ValidationError("--scheduler openmp runs in one process; under mpirun each rank runs the Dispatch scheduler")
        }

        // Outputs are checked now, not after the first epoch: none may be an input or another output.
        let inputs = (resume.map { [("--resume", $0)] } ?? []) + dataFiles
        try checkFiles(inputs: inputs, outputs: [("--checkpoint", checkpoint), ("--json", json), ("--initial-checkpoint", initialCheckpoint)],
                       allowedSame: [("--checkpoint", "--resume")])
        if writes {  // one writer per output: a second run naming the same file is refused, not raced
            for case let (flag, path?) in [("--checkpoint", checkpoint), ("--json", json)] { try OutputLock.acquire(path, flag: flag) }
        }
        let trainedOn = try DataIdentity(paths: dataFiles.map(\.1).filter { FileManager.default.fileExists(atPath: $0) })
        if let recordedData, !allowOtherData, let diff = trainedOn.difference(from: recordedData) {
            throw ValidationError("--resume \(resume!) was trained on other data (\(diff)); continuing would not be the run it claims to be (--allow-other-data to continue anyway)")
        }

        // The data decide a new run's input shape and class count; a resumed run's must match its own.
        let (trainSet, valSet, test) = try MNIST.splits(folder: dataFolder, classes: resume == nil ? nil : config.classes,
                                                        input: resume == nil ? nil : config.input,
                                                        limit: config.limit, validation: config.validation)
        if resume == nil {
            (config.input, config.classes) = (trainSet.shape, trainSet.classes)
            config.spec = try ModelZoo.spec(config.model, input: config.input, classes: config.classes).description
        }
        let spec = try config.networkSpec()
        let network = try Network(spec: spec, seed: config.seed)
        if let resume {
            try Checkpoint.load(resume, into: network)
            try progress.validate(config: config, trainCount: trainSet.count, checkpoint: resume)
        }
        if check {
            print("train --check: flags, data (\(trainSet.count) train images, \(config.input), \(config.classes) classes) and model [\(config.spec)] check out; nothing trained")
            return try checkStandardOutput("train")
        }

        print("TinyConv train: model \(config.model) [\(config.spec)] on \(config.input) images, \(config.classes) classes")
        print(network.summary())
        let opt = config.optimizer.kind == .sgd ? "sgd momentum \(config.momentum)"
            : "adamw betas \(config.optimizer.beta1)/\(config.optimizer.beta2) eps \(config.optimizer.epsilon) weight decay \(config.optimizer.weightDecay)"
        print("optimizer \(opt), lr \(config.learningRate) (\(config.schedule) schedule)")
        print("data \(dataFolder): \(trainSet.count) train, \(valSet?.count ?? 0) validation, \(test.count) test; batch \(config.batchSize), lr \(config.learningRate), momentum \(config.momentum), seed \(config.seed), \(config.threads) thread(s), \(config.scheduler.rawValue) scheduler, shards of \(config.shardSize), ISA \(ISA.active)")
        if progress.epoch > 0 || progress.step > 0 { print("resuming at epoch \(progress.epoch + 1), step \(progress.step)") }

        if let initialCheckpoint, writes {
            try Checkpoint.write(initialCheckpoint, network: network, config: config, progress: progress, data: trainedOn)
        }
        let (choices, _) = try engine.planChoices(for: network, shardSize: config.shardSize, agreement: world)
        let trainer = try Trainer(config: config, network: network, train: trainSet, validation: valSet, test: test, choices: choices)
        trainer.progress = progress
        trainer.scheduler.distributed = world
        if let world { print("distributed: \(world.ranks) ranks (mpirun), \(config.threads) thread(s) each; \(world.algorithm.summary)") }
        let tty = isatty(1) != 0
        let table = EpochTable()
        print(table.header)
        for r in progress.history { print(table.row(r)) }
        fflush(nil)  // the header says training starts (scripts wait for it)
        // every rank stops at the same step: any rank's signal stops all; inside evaluation each
        // rank stops on its own signal (mpirun signals every rank) and the step stays the last one
        try trainer.run(shouldStop: { world?.anyRank(Interrupt.requested) ?? Interrupt.requested },
                        stopEvaluation: { Interrupt.requested }, onEvent: { event in
            switch event {
            case let .step(epoch, seen, total, loss, ips):
                guard tty else { return }
                let eta = Double(total - seen) / max(ips, 1)
                print(String(format: "\r\u{1B}[K  epoch %d  %d/%d  loss %.4f  %.0f img/s  ETA %.0fs", epoch, seen, total, loss, ips, eta),
                      terminator: "")
                fflush(nil)
            case let .epoch(r):
                if tty { print("\r\u{1B}[K", terminator: "") }
                print(table.row(r))
                fflush(nil)
            }
        }, onEpoch: { t in
            guard writes else { return }
            // the JSON first: a stop between the two leaves a checkpoint behind its JSON, which a
            // resume re-trains to the same bits (the other order left a finished checkpoint whose
            // JSON missed the last epoch, and nothing to resume)
            if let json {
                try RunReport(config: config, network: network, plan: t.scheduler.plan, history: t.progress.history, best: t.bestEpoch)
                    .write(to: json)
            }
            if let checkpoint { try Checkpoint.write(checkpoint, network: network, config: config, progress: t.progress, data: trainedOn) }
        })
        if trainer.progress.epoch < config.epochs {  // stopped by a signal (mid-epoch, or in its evaluation)
            // A rank that stopped inside the evaluation (no collective there) may have a rank ahead of
            // it, done evaluating and waiting in the next step's stop check: answer that check with
            // the stop, so it stops too instead of waiting out the timeout. Ranks that stopped there
            // as well meet in this same check.
            if let world, trainer.progress.step == trainer.stepsPerEpoch { _ = world.anyRank(true) }
            if tty { print("\r\u{1B}[K", terminator: "") }
            let path = checkpoint ?? Self.interruptedPath()
            if writes { try Checkpoint.write(path, network: network, config: config, progress: trainer.progress, data: trainedOn) }
            let at = trainer.progress.step == trainer.stepsPerEpoch ? "after epoch \(trainer.progress.epoch + 1)'s last step, in its evaluation"
                : "at epoch \(trainer.progress.epoch + 1), step \(trainer.progress.step)"
            print("\(Interrupt.signalName): stopped \(at): checkpoint written to \(path) (resume with --resume \(path))")
            try checkStandardOutput("train")
            throw ExitCode(Interrupt.requested ? Interrupt.exitCode : 128 + SIGTERM)  // another rank's signal
        }
        if let s = trainer.scheduler.splitSummary { print(s) }
        if let best = trainer.bestEpoch, let last = trainer.progress.history.last {
            print(String(format: "test accuracy %.2f%% at epoch %d (best validation), %.2f%% at epoch %d (last)",
                         100 * best.testAccuracy, best.epoch, 100 * last.testAccuracy, last.epoch))
        }
        try checkStandardOutput("train")
    }

    /// Where a stop without --checkpoint writes: interrupted.safetensors in the current folder,
    /// or the first free interrupted-N.safetensors, so it never replaces another run's.
    static func interruptedPath() -> String {
        var n = 1
        while true {
            let p = n == 1 ? "interrupted.safetensors" : "interrupted-\(n).safetensors"
            var st = stat()
            if lstat(p, &st) != 0 { return p }
            n += 1
        }
    }

    func evaluateCheckpoint(_ path: String, dataFolder: String) throws {
        let c = try Checkpoint.readContents(path)
        for note in c.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let network = try Network(spec: try c.config.networkSpec(), seed: c.config.seed)
        try Checkpoint.load(path, into: network)
        let (_, test) = try MNIST.load(folder: dataFolder, classes: network.classes)
        guard test.shape == network.inputShape else {
            throw DataFileError(path: dataFolder, fault: "images are \(test.shape), \(path) was trained on \(network.inputShape)")
        }
        let s = try MinibatchScheduler(network: network, maxBatch: 256, shardSize: engine.shardSize ?? c.config.shardSize,
                                       threads: engine.threads ?? EngineOptions.defaultThreads)
        let out = FloatBuffer(count: logits == nil ? 0 : test.count * network.classes)
        guard let r = s.evaluate(test, logits: logits == nil ? nil : out.pointer, shouldStop: { Interrupt.requested }) else {
            print("\(Interrupt.signalName): evaluation stopped")
            try checkStandardOutput("train")
            throw ExitCode(Interrupt.exitCode)
        }
        if let logits { try AtomicFile.write(NumpyFile.float32(out.array, shape: [test.count, network.classes]), to: logits) }
        print(String(format: "%@ (%@, epoch %d): test loss %.4f, test accuracy %.2f%% (%d/%d)", path, c.config.model, c.progress.epoch,
                     r.lossSum / Double(test.count), 100 * Double(r.correct) / Double(test.count), r.correct, test.count))
        try checkStandardOutput("train")
    }
}

/// The per-epoch table rows.
struct EpochTable {
    let header = "epoch   loss    train acc  val acc   test acc  seconds  images/s"
    func row(_ r: EpochRecord) -> String {
        let val = r.validationAccuracy.map { String(format: "%7.2f%%", 100 * $0) } ?? "     n/a"
        return String(format: "%5d  %7.4f   %7.2f%%  %@  %7.2f%%  %7.1f  %8.0f", r.epoch, r.loss, 100 * r.trainAccuracy, val,
                      100 * r.testAccuracy, r.seconds, r.imagesPerSecond)
    }
}
