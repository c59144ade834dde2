import TinyConv
import Foundation

/// Times full training steps (forward, backward, optimizer) of several model variants
/// in one process, interleaved A B A B ... so machine noise hits all alike, then
/// profiles each variant's layers inside real steps.
public final class StepBenchmark {
    public struct Options: Sendable {
        public var batchSize = 32
        public var threads = 2
        public var scheduler: SchedulerBackend = .dispatch
        public var shardSize = 8
        public var seed: UInt64 = 1
        public var warmupSteps = 5
        public var stepsPerRepeat = 20
        public var repeats = 41
        public var inference = false
        public var profile = true
        public var traceSteps = 3
        /// false: one plan stage per layer (what `--no-fusion` measures against)
        public var fuseLayers = true
        /// false: whole shards per worker even with idle threads (what `--no-split` measures against)
        public var splitBelowShard = true
        public init() {}
    }

    public struct Variant {
        public let name: String
        public let network: Network
        public let scheduler: MinibatchScheduler
        public var plan: ExecutionPlan { scheduler.plan }
        let data: Dataset
        let indices: [Int32]
    }

    public let options: Options
    public let variants: [Variant]
    public private(set) var stepSeconds: [[Double]]   // [variant][repeat], seconds per step
    public private(set) var profiledStepSeconds: [[Double]] = []
    public private(set) var profilers: [StepProfiler] = []
    public private(set) var traceEvents: [[StepProfiler.Event]] = []
    var stepCounter: UInt64 = 0
    /// Variant index of each timed (unprofiled) repeat, in the order they ran (A B B A ...).
    public private(set) var runOrder: [Int] = []

    /// choices: each variant's plan choices (KernelTuner; the rules by default).
    public init(models: [(name: String, spec: NetworkSpec)], options: Options,
                choices: (Network) throws -> PlanChoices = { _ in .rules }) throws {
        self.options = options
        var vs: [Variant] = []
        for m in models {
            let net = try Network(spec: m.spec, seed: options.seed)
            let s = try MinibatchScheduler(network: net, maxBatch: options.batchSize, shardSize: options.shardSize,
                                       threads: options.threads, backend: options.scheduler, fuseLayers: options.fuseLayers,
                                       choices: try choices(net), splitBelowShard: options.splitBelowShard)
            // Timing needs shapes, not digits: deterministic pseudo-images and labels.
            let n = options.batchSize
            var state: UInt64 = options.seed
            var images = [UInt8](repeating: 0, count: n * m.spec.input.count)
            for i in images.indices { state = state &* 6364136223846793005 &+ 1442695040888963407; images[i] = UInt8(state >> 56) }
            let labels = (0..<n).map { UInt8($0 % m.spec.classes) }
            let data = Dataset(pixels: images, labels: labels, shape: m.spec.input, classes: m.spec.classes)
            vs.append(Variant(name: m.name, network: net, scheduler: s, data: data, indices: (0..<Int32(n)).map { $0 }))
        }
        variants = vs
        stepSeconds = Array(repeating: [], count: vs.count)
    }

    /// Runs `count` steps of variant v (training steps, or forward passes with --inference).
    public func runSteps(_ v: Variant, count: Int) {
        let hyper = MinibatchScheduler.Hyperparameters(learningRate: 0.01, momentum: 0.9, l2: v.network.spec.l2)
        v.data.images.withUnsafeBufferPointer { img in
            v.data.labels.withUnsafeBufferPointer { lab in
                v.indices.withUnsafeBufferPointer { idx in
                    for _ in 0..<count {
                        stepCounter &+= 1
                        if options.inference {
                            _ = v.scheduler.forwardOnly(images: img.baseAddress!, labels: lab.baseAddress!,
                                                        indices: idx.baseAddress!, count: options.batchSize)
                        } else {
                            _ = v.scheduler.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: idx.baseAddress!,
                                                 count: options.batchSize, hyper: hyper, seed: options.seed, stepIndex: stepCounter)
                        }
                    }
                }
            }
        }
    }

    /// One training step (or forward pass with `inference`) of variant i, untimed.
    public func step(variant i: Int) { runSteps(variants[i], count: 1) }

    /// Forgets the timings (keeps the warm networks) so `run` can be called again.
    public func resetTimings() {
        stepSeconds = Array(repeating: [], count: variants.count)
        runOrder = []
    }

    /// Interleaved timing: each repeat runs every variant in turn (A B, B A, A B, ...), and
    /// with profiling on, each variant's unprofiled run is paired with a profiled one, so the
    /// profiler's cost is measured in pairs under the same conditions.
    public func run(progress: (String) -> Void = { _ in }) {
        for v in variants {
            runSteps(v, count: options.warmupSteps)
            // the split below the shard is decided by timing the first steps both ways: not in the timed ones
            var extra = 0
            while v.scheduler.measuringSplit && extra < 2 * MinibatchScheduler.splitTrialSteps { runSteps(v, count: 1); extra += 1 }
        }
        if options.profile {
            profilers = variants.map { StepProfiler(stages: $0.scheduler.plan.stages.count, workers: options.threads) }
            profiledStepSeconds = Array(repeating: [], count: variants.count)
        }
        for r in 0..<options.repeats {
            // A B, then B A: alternating the order cancels any advantage of running
            // second (warm caches, turbo state); likewise for profiled vs unprofiled.
            let order = r % 2 == 0 ? Array(variants.indices) : variants.indices.reversed()
            for i in order {
                let v = variants[i]
                for profiled in (r % 2 == 0 ? [false, true] : [true, false]) where profiled == false || options.profile {
                    v.scheduler.profiler = profiled ? profilers[i] : nil
                    let t0 = monotonicNanos()
                    runSteps(v, count: options.stepsPerRepeat)
                    let seconds = Double(monotonicNanos() - t0) * 1e-9 / Double(options.stepsPerRepeat)
                    v.scheduler.profiler = nil
                    if profiled { profiledStepSeconds[i].append(seconds) } else { stepSeconds[i].append(seconds); runOrder.append(i) }
                }
            }
            progress("repeat \(r + 1)/\(options.repeats)")
        }
        profiledSteps = options.profile ? options.repeats * options.stepsPerRepeat : 0
        guard options.profile else { return }
        // A few traced steps per variant for the timeline.
        traceEvents = variants.map { v in
            let p = StepProfiler(stages: v.scheduler.plan.stages.count, workers: options.threads, traceCapacity: 4096)
            v.scheduler.profiler = p
            runSteps(v, count: options.traceSteps)
            v.scheduler.profiler = nil
            return p.events
        }
    }
    public private(set) var profiledSteps = 0
}
