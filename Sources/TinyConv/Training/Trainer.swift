import CKernels
import Foundation

/// Epochs of seeded-shuffle minibatch SGD over a training set, with validation and
/// test evaluation after every epoch. Resumable at any step, bit-identically.
public final class Trainer {
    public let config: TrainingConfig
    public let network: Network
    public let scheduler: MinibatchScheduler
    public let train: Dataset
    public let validation: Dataset?
    public let test: Dataset
    public var progress = TrainingProgress()

    public enum Event {
        case step(epoch: Int, seen: Int, total: Int, loss: Double, imagesPerSecond: Double)
        case epoch(EpochRecord)
    }

    /// choices: the plan's per-layer kernel algorithms (KernelTuner; the same bits as the rules).
    public init(config: TrainingConfig, network: Network, train: Dataset, validation: Dataset?, test: Dataset,
                choices: PlanChoices = .rules) throws {
        self.config = config
        self.network = network
        self.train = train
        self.validation = validation
        self.test = test
        scheduler = try MinibatchScheduler(network: network, maxBatch: config.batchSize, shardSize: config.shardSize,
                                       threads: config.threads, backend: config.scheduler, choices: choices)
    }

    public var stepsPerEpoch: Int { (train.count + config.batchSize - 1) / config.batchSize }

    /// A mean batch loss above this is divergence: 100 x ln(classes), the loss of a uniform
    /// guess, which an untrained net starts near (230 for 10 classes).
    public var divergenceLoss: Double { 100 * log(Double(max(network.classes, 2))) }

    /// The epoch's sample order: a Fisher-Yates shuffle driven by counter-based draws.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int32] {
        var order = (0..<Int32(count)).map { $0 }
        var i = count - 1
        while i > 0 {
            let u = Double(tc_uniform(seed, 0x5EED_0000 &+ UInt64(epoch), UInt64(i)))
            let j = min(i, Int(u * Double(i + 1)))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// Runs until `config.epochs` epochs are done or `shouldStop` says so (checked between
    /// steps); `stopEvaluation` is asked inside the end-of-epoch evaluation (between chunks,
    /// this process alone: under mpirun every rank gets the signal), and a stop there leaves
    /// the progress at the epoch's last step, evaluation pending (a resume evaluates first).
    /// `onEpoch` runs after each epoch (checkpoints, JSON).
    public func run(shouldStop: () -> Bool = { false }, stopEvaluation: () -> Bool = { false },
                    onEvent: (Event) -> Void = { _ in }, onEpoch: (Trainer) throws -> Void = { _ in }) throws {
        var hyper = MinibatchScheduler.Hyperparameters(learningRate: config.learningRate, momentum: config.momentum,
                                                       l2: network.spec.l2, optimizer: config.optimizer)
        let schedule = config.learningRateSchedule
        let b = config.batchSize
        while progress.epoch < config.epochs {
            let e = progress.epoch
            let order = Self.permutation(count: train.count, seed: config.seed, epoch: e)
            var lastReport = monotonicNanos()
            var stepStart = monotonicNanos()
            try train.images.withUnsafeBufferPointer { img in
                try train.labels.withUnsafeBufferPointer { lab in
                    try order.withUnsafeBufferPointer { ord in
                        while progress.step < stepsPerEpoch {
                            if shouldStop() { return }
                            let s = progress.step
                            let n = min(b, train.count - s * b)
                            let global = UInt64(e) &* UInt64(stepsPerEpoch) &+ UInt64(s)
                            hyper.learningRate = schedule.rate(config.learningRate, step: Int(global), stepsPerEpoch: stepsPerEpoch,
                                                               epochs: config.epochs)
                            hyper.adamStep = Int(global) + 1
                            let r = scheduler.step(images: img.baseAddress!, labels: lab.baseAddress!,
                                                   indices: ord.baseAddress! + s * b, count: n, hyper: hyper,
                                                   seed: config.seed, stepIndex: global)
                            // Non-finite, or far above where training starts (ln(classes) for an
                            // untrained net): a loss of 1e18 at chance accuracy is not training.
                            guard r.lossSum.isFinite, r.lossSum / Double(n) <= divergenceLoss else {
                                throw TrainingError(message: "training diverged: the loss is \(r.lossSum / Double(n)) at epoch \(e + 1), batch \(s + 1) (try a smaller --lr)")
                            }
                            // ReLU maps NaN to 0, so non-finite weights can hide behind a finite
                            // loss: look at the weights themselves every 64 steps and at the end.
                            if (s + 1) % 64 == 0 || s + 1 == stepsPerEpoch, let bad = network.firstNonFiniteParameter {
                                throw TrainingError(message: "training diverged: \(bad) is not finite at epoch \(e + 1), batch \(s + 1) (try a smaller --lr)")
                            }
                            progress.lossSum += r.lossSum
                            progress.correct += r.correct
                            progress.seen += n
                            progress.step += 1
                            let now = monotonicNanos()
                            progress.seconds += Double(now - stepStart) * 1e-9
                            stepStart = now
                            if now - lastReport > 250_000_000 || progress.step == stepsPerEpoch {
                                lastReport = now
                                onEvent(.step(epoch: e + 1, seen: progress.seen, total: train.count,
                                              loss: progress.lossSum / Double(progress.seen),
                                              imagesPerSecond: Double(progress.seen) / max(progress.seconds, 1e-9)))
                            }
                        }
                    }
                }
            }
            if progress.step < stepsPerEpoch { return }  // stopped mid-epoch
            var v: (lossSum: Double, correct: Int)? = nil
            if let validation {
                guard let r = scheduler.evaluate(validation, shouldStop: stopEvaluation) else { return }
                v = r
            }
            guard let t = scheduler.evaluate(test, shouldStop: stopEvaluation) else { return }  // evaluation pending
            let record = EpochRecord(
                epoch: e + 1, loss: progress.lossSum / Double(progress.seen),
                trainAccuracy: Double(progress.correct) / Double(progress.seen),
                validationLoss: v.map { $0.lossSum / Double(validation!.count) },
                validationAccuracy: v.map { Double($0.correct) / Double(validation!.count) },
                testLoss: t.lossSum / Double(test.count), testAccuracy: Double(t.correct) / Double(test.count),
                seconds: progress.seconds, imagesPerSecond: Double(progress.seen) / max(progress.seconds, 1e-9))
            progress.history.append(record)
            progress.epoch += 1
            progress.step = 0
            progress.lossSum = 0
            progress.correct = 0
            progress.seen = 0
            progress.seconds = 0
            onEvent(.epoch(record))
            try onEpoch(self)
        }
    }

    /// The epoch with the best validation accuracy (first on ties), or the last epoch when
    /// the run has no validation set.
    public var bestEpoch: EpochRecord? {
        guard progress.history.contains(where: { $0.validationAccuracy != nil }) else { return progress.history.last }
        return progress.history.max { ($0.validationAccuracy ?? 0, -$0.epoch) < ($1.validationAccuracy ?? 0, -$1.epoch) }
    }
}
