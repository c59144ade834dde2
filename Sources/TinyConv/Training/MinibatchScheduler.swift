import Dispatch
import Synchronization

/// Runs training steps of a network's execution plan over a minibatch split into fixed
/// micro-shards.
///
/// Determinism: shard boundaries depend only on the batch and `shardSize`, each shard
/// writes its parameter gradients to its own buffer, and the buffers are summed in a
/// fixed tree order per element. So the result is bit-identical for any thread count
/// and either backend. Every buffer is allocated here, once; a step allocates nothing.
///
/// Many cores: a step with fewer shards than threads runs each stage's pass over a shard as
/// pieces (MinibatchScheduler+Pieces.swift), with the same bits.
///
/// Backends: Dispatch (this file: one fork/join for all shards' forward and backward
/// passes, one for the optimizer) and OpenMP (MinibatchScheduler+OpenMP.swift: one
/// parallel region per layer and direction, as frameworks run).
public final class MinibatchScheduler: @unchecked Sendable {
    public let network: Network
    public let plan: ExecutionPlan
    public let threads: Int
    public let shardSize: Int
    public let maxBatch: Int
    public let backend: SchedulerBackend
    public var profiler: StepProfiler?
    /// Data-parallel training across processes (nil: this process runs every shard). The
    /// exchange gives every rank all shards' gradients before the update, so each rank runs
    /// the same fixed-tree sum over the same bits: see docs/distributed.md.
    public var distributed: (any ShardExchange)?
    /// The tree exchange left the summed gradient in the optimizer's buffer (the update skips its sum).
    var gradientSummed = false
    var treeScratch: FloatBuffer?
    let treeSources = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 2)

    let slots: [ShardWorkspace]
    /// The step as segments (MinibatchScheduler+Segments.swift): one unless the plan has
    /// stages with batch statistics.
    let segments: [Segment]
    let hasBatchStatistics: Bool
    /// Per batch-statistics stage (by stage index): its shards' partials and their totals.
    let statistics: [Int: StatisticsBuffers]
    var segmentOps: [ShardOp] = []
    let pool: DispatchWorkerPool
    let optimizer: OptimizerPass
    /// The shard gradients merged as shards finish (OnlineGradientTree), in steps that
    /// `mergesOnline` says use it; each shard's buffer for the current step.
    let onlineTree: OnlineGradientTree
    var mergingOnline = false
    let shardGradientBuffers: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Per shard of the current step: (summed loss, correct count as a Double), back to back.
    let shardStats: UnsafeMutablePointer<Double>

    // The step being run (read-only while workers run).
    var batch: BatchInput?
    var seed: UInt64 = 0
    var stepIndex: UInt64 = 0
    var hyper = Hyperparameters()
    var training = true
    /// When set (evaluation), each shard's logits are copied here at [sample][class].
    var logitsSink: UnsafeMutablePointer<Float>?
    // The OpenMP backend's current region (MinibatchScheduler+OpenMP.swift).
    var ompPhase = OMPPhase.shardOp
    var ompOp = ShardOp.gather
    /// Work below the shard (MinibatchScheduler+Pieces.swift): allowed at all, the kept
    /// schedules, and the phase being run.
    public let splitBelowShard: Bool
    /// The measured choice (MinibatchScheduler+Pieces.swift, `runsPieces`): nil until decided.
    public internal(set) var splitDecision: Bool?
    /// Fastest shard phase seen with pieces and with whole shards while deciding (nanoseconds).
    public internal(set) var splitBest = (pieces: UInt64.max, whole: UInt64.max)
    var splitTrials = 0
    var splitTrialShards = -1
    /// Steps fewer than threads are still being timed both ways (callers that time steps run
    /// a few more untimed ones first).
    public var measuringSplit: Bool { splitBelowShard && splitDecision == nil && splitTrialShards >= 0 }
    /// One line on the measured split, once decided.
    public var splitSummary: String? {
        guard let d = splitDecision else { return nil }
        return String(format: "split below the shard: %@ (measured: %.3f ms a step with pieces, %.3f ms with whole shards per worker)",
                      d ? "on" : "off", Double(splitBest.pieces) * 1e-6, Double(splitBest.whole) * 1e-6)
    }
    var pieceSchedules: [PieceKey: PieceSchedule] = [:]
    var pieceTasks = UnsafeBufferPointer<PieceTask>(start: nil, count: 0)
    var piecePhase = 0..<0
    let nextPiece = Atomic<Int>(0)

    public struct Hyperparameters: Sendable {
        /// This step's rate (the schedule's value).
        public var learningRate: Float = 0.01
        public var momentum: Float = 0.9
        public var l2: Float = 0
        public var optimizer = OptimizerSettings()
        /// AdamW's step count t, from 1 (its bias correction).
        public var adamStep = 1
        public init(learningRate: Float = 0.01, momentum: Float = 0.9, l2: Float = 0, optimizer: OptimizerSettings = .init(),
                    adamStep: Int = 1) {
            (self.learningRate, self.momentum, self.l2) = (learningRate, momentum, l2)
            (self.optimizer, self.adamStep) = (optimizer, adamStep)
        }
    }

    public struct StepResult: Sendable {
        public var lossSum: Double
        public var correct: Int
        public var count: Int
    }

    /// Throws a one-line error for sizes out of range (`TrainingConfig.validate` names the
    /// same limits) or a layer whose kernels reject its shape.
    /// fuseLayers: false keeps one plan stage per layer (same bits; for measuring fusion).
    /// choices: the tuner's per-layer algorithms and fusions (same bits; KernelTuner).
    /// splitBelowShard: false keeps whole shards per worker even with idle threads (same bits;
    /// for measuring the split). When the full batch has fewer shards than threads, the plan
    /// runs conv and max pool as separate stages (their backward splits; the fused one's does not).
    public init(network: Network, maxBatch: Int, shardSize: Int = 8, threads: Int, backend: SchedulerBackend = .dispatch,
                fuseLayers: Bool = true, choices: PlanChoices = .rules, splitBelowShard: Bool = true) throws {
        guard (1...TrainingConfig.maxBatchSize).contains(maxBatch), (1...TrainingConfig.maxBatchSize).contains(shardSize),
              (1...TrainingConfig.maxThreads).contains(threads) else {
            throw TrainingError(message: "scheduler: batch \(maxBatch), shard size \(shardSize) and threads \(threads) must be in 1...\(TrainingConfig.maxBatchSize), 1...\(TrainingConfig.maxBatchSize) and 1...\(TrainingConfig.maxThreads)")
        }
        self.network = network
        self.maxBatch = maxBatch
        self.shardSize = shardSize
        self.threads = threads
        self.backend = backend
        self.splitBelowShard = splitBelowShard
        let maxShards = (maxBatch + shardSize - 1) / shardSize
        let manyCores = splitBelowShard && threads > maxShards
        plan = try ExecutionPlan(network: network, capacity: shardSize, fuseLayers: fuseLayers && !manyCores, choices: choices)
        segments = Self.segments(plan)
        hasBatchStatistics = segments.count > 1
        var statistics: [Int: StatisticsBuffers] = [:]
        for (i, stage) in plan.stages.enumerated() {
            if let b = stage as? any BatchStatisticsStage { statistics[i] = StatisticsBuffers(floats: b.statisticsFloats, maxShards: maxShards) }
        }
        self.statistics = statistics
        // One workspace per worker when a shard runs start to end on one worker; one per shard
        // when shards wait for each other mid-step (OpenMP regions, batch statistics).
        let slotCount = backend == .openmp || hasBatchStatistics ? max(maxShards, threads) : threads
        slots = (0..<slotCount).map { [plan] _ in ShardWorkspace(plan: plan) }
        pool = DispatchWorkerPool(workers: threads)
        optimizer = OptimizerPass(network: network, maxShards: maxShards)
        onlineTree = OnlineGradientTree(buffers: optimizer.shardGradients.pointer, floats: network.parameterCount,
                                        maxShards: maxShards)
        shardGradientBuffers = .allocate(capacity: maxShards)
        for s in 0..<maxShards { (shardGradientBuffers + s).initialize(to: optimizer.shardGradient(s)) }
        shardStats = .allocate(capacity: 2 * maxShards)
        shardStats.initialize(repeating: 0, count: 2 * maxShards)
    }

    deinit {
        treeSources.deallocate()
        shardGradientBuffers.deallocate()
        pool.shutdown()
        shardStats.deallocate()
    }

    var shardCount: Int { batch?.shardCount ?? 0 }

    /// The last training step's parameter gradient, summed over its shards (the update's input;
    /// AdamW's update has added the L2 term to it in place).
    public var lastGradient: [Float] { Array(UnsafeBufferPointer(start: optimizer.summed, count: network.parameterCount)) }

    // MARK: - one shard, one phase

    @inline(__always)
    func timed(_ worker: Int, _ slot: StepProfiler.Slot, _ body: () -> Void) {
        guard let p = profiler else { body(); return }
        let t0 = monotonicNanos()
        body()
        p.record(worker: worker, slot: p.index(slot), start: t0, end: monotonicNanos())
    }

    func context(_ slot: ShardWorkspace, stage: Int, shard s: Int) -> StageContext {
        let (first, n) = batch!.shard(s)
        let gradients = shardGradientBuffers[min(s, optimizer.maxShards - 1)]
        return slot.context(network, layers: plan.stages[stage].layers, count: n, firstSample: first, gradients: gradients,
                            seed: seed, step: stepIndex, training: training)
    }

    func gather(shard s: Int, slot: ShardWorkspace) {
        batch!.gather(shard: s, into: slot, pixels: network.inputShape.count)
    }

    func loss(shard s: Int, slot: ShardWorkspace) {
        let b = batch!
        let (first, n) = b.shard(s)
        let (loss, correct) = SoftmaxLoss.run(slot, rows: n, classes: network.classes, training: training,
                                              gradScale: 1.0 / Float(b.count))
        (shardStats[2 * s], shardStats[2 * s + 1]) = (loss, Double(correct))
        if let sink = logitsSink { (sink + first * network.classes).update(from: slot.logits, count: n * network.classes) }
    }

    /// Whole forward (and backward when training) pass of one shard on one worker.
    func runShard(_ s: Int, slot: ShardWorkspace, worker: Int) {
        let online = training && mergingOnline
        if online { shardGradientBuffers[s] = onlineTree.buffer(forShard: s) }
        defer { if online { timed(worker, .optimizer) { onlineTree.finish(shard: s) } } }
        timed(worker, .gather) { gather(shard: s, slot: slot) }
        for i in plan.stages.indices {
            let c = context(slot, stage: i, shard: s)
            timed(worker, .forward(i)) { plan.stages[i].forward(c) }
        }
        timed(worker, .loss) { loss(shard: s, slot: slot) }
        guard training else { return }
        for i in plan.stages.indices.reversed() {
            let c = context(slot, stage: i, shard: s)
            timed(worker, .backward(i)) { plan.stages[i].backward(c) }
        }
    }

    func update(item k: Int) { optimizer.update(item: k, shards: gradientSummed ? nil : 0..<shardCount, hyper: hyper) }

    // MARK: - steps

    /// Sets the state of the pass about to run (read-only while workers run).
    private func begin(images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>, count: Int,
                       training: Bool) {
        precondition(count > 0 && count <= maxBatch, "batch of \(count) outside 1...\(maxBatch)")
        batch = BatchInput(images: images, labels: labels, indices: indices, count: count, shardSize: shardSize)
        self.training = training
    }

    /// One training step on `count` samples: images[indices[j]] for j < count.
    public func step(images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>, count: Int,
                     hyper: Hyperparameters, seed: UInt64, stepIndex: UInt64) -> StepResult {
        begin(images: images, labels: labels, indices: indices, count: count, training: true)
        self.hyper = hyper
        self.seed = seed
        self.stepIndex = stepIndex
        gradientSummed = false
        switch backend {
        case .dispatch: stepDispatch()
        case .openmp:
            precondition(distributed == nil, "distributed training runs on the Dispatch backend")
            stepOpenMP()
        }
        return collect()
    }

    /// Forward passes only (inference timing): no backward, no update.
    public func forwardOnly(images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>,
                            count: Int) -> StepResult {
        begin(images: images, labels: labels, indices: indices, count: count, training: false)
        defer { training = true }
        let all = 0..<shardCount
        if runsPieces(shards: all.count) { runPiecesOnDispatchWorkers(all) } else { runShardsOnDispatchWorkers(all) }
        return collect()
    }

    /// Loss and correct counts summed over shards in shard order.
    private func collect() -> StepResult {
        var loss = 0.0, correct = 0
        for s in 0..<shardCount { loss += shardStats[2 * s]; correct += Int(shardStats[2 * s + 1]) }
        return StepResult(lossSum: loss, correct: correct, count: batch!.count)
    }

    // MARK: - Dispatch backend

    enum DispatchPhase { case shards, pieces, segment, localSum, update }
    var dispatchPhase = DispatchPhase.shards
    var dispatchWorkers = 1

    /// The shards this process computes: all of them, or its rank's contiguous range.
    var localShards: Range<Int> = 0..<0

    /// Worker w runs shards lo + w, lo + w + W, ... of the local range with its own
    /// workspace: a static hand-out, so which worker computes a shard never matters.
    private func runShardsOnDispatchWorkers(_ shards: Range<Int>) {
        localShards = shards
        dispatchWorkers = min(threads, max(shards.count, 1))
        dispatchPhase = .shards
        if !shards.isEmpty { dispatchApply(dispatchWorkers) }
    }

    func stepDispatch() {
        let mine = distributed?.localShards(shardCount) ?? 0..<shardCount
        gradientSummed = false
        optimizer.summed = optimizer.gradient.pointer
        let pieces = runsPieces(shards: mine.count), t0 = monotonicNanos()
        defer { noteSplitTrial(shards: mine.count, pieces: pieces, nanos: monotonicNanos() - t0) }
        if hasBatchStatistics {
            stepSegmentedDispatch(mine)
        } else if pieces {
            runPiecesOnDispatchWorkers(mine)
        } else if distributed == nil {  // one process, whole shards: merge as they finish
            onlineTree.begin(shards: mine.count)
            mergingOnline = true
            runShardsOnDispatchWorkers(mine)
            mergingOnline = false
            for s in mine { shardGradientBuffers[s] = optimizer.shardGradient(s) }
            optimizer.summed = optimizer.shardGradients.pointer + onlineTree.rootBuffer * network.parameterCount
            gradientSummed = true
        } else {
            runShardsOnDispatchWorkers(mine)
        }
        if let d = distributed {
            switch d.algorithm {
            case .gather:
                let t0 = monotonicNanos()
                d.exchange(gradients: optimizer.shardGradients.pointer, floatsPerShard: network.parameterCount,
                           stats: shardStats, shards: shardCount)
                if let p = profiler { p.record(worker: 0, slot: p.index(.exchange), start: t0, end: monotonicNanos()) }
            case .tree:
                treeExchange(d, mine)
            }
        }
        dispatchWorkers = min(threads, optimizer.items.count)
        dispatchPhase = .update
        dispatchApply(dispatchWorkers)
    }

    /// The tree exchange (ShardExchange.swift, TreeSchedule): this rank's node sum on the
    /// workers, then the node sums along the tree on this thread, then rank 0's total to all.
    /// Every addition is one the single-process tree makes, in its order: the same bits.
    private func treeExchange(_ d: any ShardExchange, _ mine: Range<Int>) {
        if !mine.isEmpty {
            localShards = mine
            dispatchWorkers = min(threads, optimizer.items.count)
            dispatchPhase = .localSum
            dispatchApply(dispatchWorkers)
        }
        let t0 = monotonicNanos()
        d.exchange(stats: shardStats, shards: shardCount)
        let n = network.parameterCount, sum = optimizer.gradient.pointer
        if treeScratch == nil { treeScratch = FloatBuffer(count: n) }  // once per scheduler
        let right = treeScratch!.pointer
        treeSources[0] = UnsafePointer(sum)
        treeSources[1] = UnsafePointer(right)
        let schedule = d.treeSchedule(shardCount)
        for r in schedule.receives {
            d.receive(right, count: n, from: r)
            GradientSumKernel.sum(count: n, sources: 2, src: treeSources, dst: sum)  // left + right
        }
        if let parent = schedule.parent { d.send(sum, count: n, to: parent) }
        d.broadcast(sum, count: n)
        gradientSummed = true
        if let p = profiler { p.record(worker: 0, slot: p.index(.exchange), start: t0, end: monotonicNanos()) }
    }

    /// One fork/join of the current phase over the current worker count.
    func dispatchApplyCurrent() { dispatchApply(dispatchWorkers) }

    /// One fork/join of the current phase over n Dispatch workers.
    private func dispatchApply(_ n: Int) {
        pool.run(n, { raw, w in
            Unmanaged<MinibatchScheduler>.fromOpaque(raw!).takeUnretainedValue().dispatchTask(worker: w)
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    private func dispatchTask(worker w: Int) {
        let workers = dispatchWorkers
        switch dispatchPhase {
        case .shards:  // a contiguous block per worker: tree siblings merge on the worker that made them
            let lo = localShards.lowerBound, n = localShards.count
            for s in (lo + n * w / workers)..<(lo + n * (w + 1) / workers) { runShard(s, slot: slots[w], worker: w) }
        case .pieces: runPieceTasks(worker: w)
        case .segment:  // shard s keeps slot s across the step's segments
            var s = localShards.lowerBound + w
            while s < localShards.upperBound {
                for op in segmentOps { run(op, shard: s, slot: slots[s], worker: w) }
                s += workers
            }
        case .localSum:  // this rank's node of the reduction tree, item by item
            timed(w, .optimizer) {
                var k = w
                while k < optimizer.items.count { optimizer.sum(item: k, shards: localShards); k += workers }
            }
        case .update:
            timed(w, .optimizer) {
                var k = w
                while k < optimizer.items.count { update(item: k); k += workers }
            }
        }
    }
}
