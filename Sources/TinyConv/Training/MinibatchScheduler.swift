import CKernels
import COpenMP
import Dispatch

/// Runs training steps of a Network over a minibatch split into fixed micro-shards.
///
/// Determinism: shard boundaries depend only on the batch and `shardSize`, each shard
/// writes its parameter gradients to its own buffer, and the buffers are summed in a
/// fixed tree order per element. So the result is bit-identical for any thread count
/// and either backend. Every buffer is allocated here, once; a step allocates nothing.
public final class MinibatchScheduler: @unchecked Sendable {
    public let network: Network
    public let threads: Int
    public let shardSize: Int
    public let maxBatch: Int
    public let backend: SchedulerBackend
    public var profiler: StepProfiler?

    let slots: [ShardWorkspace]
    let pool: DispatchWorkerPool
    let shardGradients: [FloatBuffer]
    /// Optimizer work items: parameter ranges of at most `itemFloats`, each inside one
    /// layer's weights (L2 applies) or biases (no L2), with its sum-source pointer table.
    let items: [(range: Range<Int>, regularized: Bool, sources: UnsafeMutablePointer<UnsafePointer<Float>?>)]
    let gradient: FloatBuffer
    let shardLoss: UnsafeMutablePointer<Double>
    let shardCorrect: UnsafeMutablePointer<Int>
    static let itemFloats = 8192

    // The step being run (read-only while workers run).
    var images: UnsafePointer<UInt8>? = nil
    var labels: UnsafePointer<UInt8>? = nil
    var indices: UnsafePointer<Int32>? = nil
    var batchCount = 0
    var shardCount = 0
    var seed: UInt64 = 0
    var stepIndex: UInt64 = 0
    var hyper = Hyperparameters()
    var training = true
    var ompLayer = 0

    public struct Hyperparameters: Sendable {
        public var learningRate: Float = 0.01
        public var momentum: Float = 0.9
        public var l2: Float = 0
        public init(learningRate: Float = 0.01, momentum: Float = 0.9, l2: Float = 0) {
            (self.learningRate, self.momentum, self.l2) = (learningRate, momentum, l2)
        }
    }

    public struct StepResult: Sendable {
        public var lossSum: Double
        public var correct: Int
        public var count: Int
    }

    public init(network: Network, maxBatch: Int, shardSize: Int = 8, threads: Int, backend: SchedulerBackend = .dispatch) {
        precondition(maxBatch > 0 && shardSize > 0 && threads > 0)
        self.network = network
        self.maxBatch = maxBatch
        self.shardSize = shardSize
        self.threads = threads
        self.backend = backend
        let maxShards = (maxBatch + shardSize - 1) / shardSize
        let slotCount = backend == .openmp ? max(maxShards, threads) : threads
        slots = (0..<slotCount).map { _ in ShardWorkspace(network: network, capacity: shardSize) }
        pool = DispatchWorkerPool(workers: threads)
        shardGradients = (0..<maxShards).map { _ in FloatBuffer(count: network.parameterCount) }
        gradient = FloatBuffer(count: network.parameterCount)
        shardLoss = .allocate(capacity: maxShards)
        shardLoss.initialize(repeating: 0, count: maxShards)
        shardCorrect = .allocate(capacity: maxShards)
        shardCorrect.initialize(repeating: 0, count: maxShards)
        var items: [(Range<Int>, Bool, UnsafeMutablePointer<UnsafePointer<Float>?>)] = []
        for (i, r) in network.resolved.enumerated() where r.parameterCount > 0 {
            let base = network.parameterOffsets[i]
            for (lo, hi, reg) in [(base, base + r.weightCount, true), (base + r.weightCount, base + r.parameterCount, false)] {
                for start in stride(from: lo, to: hi, by: Self.itemFloats) {
                    let table = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: maxShards)
                    for s in 0..<maxShards { table[s] = UnsafePointer(shardGradients[s].pointer + start) }
                    items.append((start..<min(hi, start + Self.itemFloats), reg, table))
                }
            }
        }
        self.items = items
    }

    deinit {
        pool.shutdown()
        items.forEach { $0.sources.deallocate() }
        shardLoss.deallocate()
        shardCorrect.deallocate()
    }

    // MARK: - one shard, one phase

    @inline(__always)
    func timed(_ worker: Int, _ slot: StepProfiler.Slot, _ body: () -> Void) {
        guard let p = profiler else { body(); return }
        let t0 = monotonicNanos()
        body()
        p.record(worker: worker, slot: p.index(slot), start: t0, end: monotonicNanos())
    }

    func shardRange(_ s: Int) -> (first: Int, count: Int) {
        let first = s * shardSize
        return (first, min(shardSize, batchCount - first))
    }

    /// Converts the shard's images to floats in [0, 1] and copies its labels.
    func gather(shard s: Int, slot: ShardWorkspace) {
        let (first, n) = shardRange(s)
        let pixels = network.inputShape.count
        let x = slot.input
        for j in 0..<n {
            let idx = Int(indices![first + j])
            let src = images! + idx * pixels
            let dst = x + j * pixels
            for p in 0..<pixels { dst[p] = Float(src[p]) * (1.0 / 255.0) }
            slot.labels[j] = Int32(labels![idx])
        }
    }

    func context(_ slot: ShardWorkspace, layer: Int, shard s: Int) -> LayerContext {
        let (first, n) = shardRange(s)
        return slot.context(network, layer: layer, count: n, firstSample: first, gradients: shardGradients[min(s, shardGradients.count - 1)].pointer,
                            seed: seed, step: stepIndex, training: training)
    }

    /// Softmax cross-entropy on the shard's logits; the gradient is scaled by 1/batch so
    /// shard gradients sum to the minibatch mean.
    func loss(shard s: Int, slot: ShardWorkspace) {
        let (_, n) = shardRange(s)
        let classes = network.classes
        let logits = slot.logits
        let dlogits = training ? slot.activationGradients[slot.activationGradients.count - 1].pointer : nil
        shardLoss[s] = tc_softmax_xent(Int32(n), Int32(classes), logits, slot.labels, slot.probabilities.pointer, dlogits,
                                       1.0 / Float(batchCount))
        var correct = 0
        for j in 0..<n {
            let row = logits + j * classes
            var best = 0
            for c in 1..<classes where row[c] > row[best] { best = c }
            if best == Int(slot.labels[j]) { correct += 1 }
        }
        shardCorrect[s] = correct
    }

    /// Whole forward (and backward when training) pass of one shard on one worker.
    func runShard(_ s: Int, slot: ShardWorkspace, worker: Int) {
        timed(worker, .gather) { gather(shard: s, slot: slot) }
        for i in 0..<network.layers.count {
            let c = context(slot, layer: i, shard: s)
            timed(worker, .forward(i)) { network.layers[i].forward(c) }
        }
        timed(worker, .loss) { loss(shard: s, slot: slot) }
        guard training else { return }
        for i in stride(from: network.layers.count - 1, through: 0, by: -1) {
            let c = context(slot, layer: i, shard: s)
            timed(worker, .backward(i)) { network.layers[i].backward(c) }
        }
    }

    /// Fixed-tree sum of the shard gradients and the SGD update for one work item.
    func update(item k: Int) {
        let item = items[k]
        let lo = item.range.lowerBound, n = item.range.count
        tc_sum_buffers(n, Int32(shardCount), item.sources, gradient.pointer + lo)
        tc_sgd_momentum(n, hyper.learningRate, hyper.momentum, item.regularized ? hyper.l2 : 0,
                        network.parameters.pointer + lo, network.velocity.pointer + lo, gradient.pointer + lo)
    }

    // MARK: - steps

    /// Sets the state of the pass about to run (read-only while workers run).
    private func begin(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>, count: Int,
                       training: Bool) {
        precondition(count > 0 && count <= maxBatch, "batch of \(count) outside 1...\(maxBatch)")
        self.images = images
        self.labels = labels
        self.indices = indices
        self.batchCount = count
        self.shardCount = (count + shardSize - 1) / shardSize
        self.training = training
    }

    /// One training step on `count` samples: images[indices[j]] for j < count.
    public func step(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>, count: Int,
                     hyper: Hyperparameters, seed: UInt64, stepIndex: UInt64) -> StepResult {
        begin(images: images, labels: labels, indices: indices, count: count, training: true)
        self.hyper = hyper
        self.seed = seed
        self.stepIndex = stepIndex
        switch backend {
        case .dispatch: stepDispatch()
        case .openmp: stepOpenMP()
        }
        return collect()
    }

    /// Forward passes only (inference timing): no backward, no update.
    public func forwardOnly(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafePointer<Int32>,
                            count: Int) -> StepResult {
        begin(images: images, labels: labels, indices: indices, count: count, training: false)
        defer { training = true }
        runShardsOnDispatchWorkers()
        return collect()
    }

    /// Worker w runs shards w, w + W, w + 2W, ... with its own workspace: a static hand-out,
    /// so which worker computes a shard never matters to the result.
    private func runShardsOnDispatchWorkers() {
        dispatchWorkers = min(threads, shardCount)
        dispatchPhase = .shards
        dispatchApply(dispatchWorkers)
    }

    enum DispatchPhase { case shards, update }
    var dispatchPhase = DispatchPhase.shards
    var dispatchWorkers = 1

    /// One fork/join of the current phase over n Dispatch workers.
    private func dispatchApply(_ n: Int) {
        pool.run(n, { raw, w in
            Unmanaged<MinibatchScheduler>.fromOpaque(raw!).takeUnretainedValue().dispatchTask(worker: w)
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    private func dispatchTask(worker w: Int) {
        let workers = dispatchWorkers
        switch dispatchPhase {
        case .shards:
            var s = w
            while s < shardCount {
                runShard(s, slot: slots[w], worker: w)
                s += workers
            }
        case .update:
            timed(w, .optimizer) {
                var k = w
                while k < items.count { update(item: k); k += workers }
            }
        }
    }

    /// Loss and correct counts summed over shards in shard order.
    private func collect() -> StepResult {
        var loss = 0.0, correct = 0
        for s in 0..<shardCount { loss += shardLoss[s]; correct += shardCorrect[s] }
        return StepResult(lossSum: loss, correct: correct, count: batchCount)
    }

    func stepDispatch() {
        runShardsOnDispatchWorkers()
        dispatchWorkers = min(threads, items.count)
        dispatchPhase = .update
        dispatchApply(dispatchWorkers)
    }

    enum OMPPhase: Int { case gather, forward, loss, backward, update }
    var ompPhase = OMPPhase.gather

    func stepOpenMP() {
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let body: tc_omp_body = { raw, task in
            let me = Unmanaged<MinibatchScheduler>.fromOpaque(raw!).takeUnretainedValue()
            me.ompTask(Int(task), worker: Int(tc_omp_thread_num()))
        }
        let t = Int32(threads)
        ompPhase = .gather
        tc_omp_parallel_for(Int32(shardCount), t, body, ctx)
        ompPhase = .forward
        for i in 0..<network.layers.count {
            ompLayer = i
            tc_omp_parallel_for(Int32(shardCount), t, body, ctx)
        }
        ompPhase = .loss
        tc_omp_parallel_for(Int32(shardCount), t, body, ctx)
        ompPhase = .backward
        for i in stride(from: network.layers.count - 1, through: 0, by: -1) {
            ompLayer = i
            tc_omp_parallel_for(Int32(shardCount), t, body, ctx)
        }
        ompPhase = .update
        tc_omp_parallel_for(Int32(items.count), t, body, ctx)
    }

    /// One task of the current OpenMP phase: shard `task` (or work item, for the update).
    func ompTask(_ task: Int, worker: Int) {
        let w = min(worker, (profiler?.workers ?? 1) - 1)
        switch ompPhase {
        case .gather: timed(w, .gather) { gather(shard: task, slot: slots[task]) }
        case .forward:
            let c = context(slots[task], layer: ompLayer, shard: task)
            timed(w, .forward(ompLayer)) { network.layers[ompLayer].forward(c) }
        case .loss: timed(w, .loss) { loss(shard: task, slot: slots[task]) }
        case .backward:
            let c = context(slots[task], layer: ompLayer, shard: task)
            timed(w, .backward(ompLayer)) { network.layers[ompLayer].backward(c) }
        case .update: timed(w, .optimizer) { update(item: task) }
        }
    }

    /// Forward passes over a whole data set (no dropout): summed loss and correct count.
    /// Runs the training code path with training = false, in chunks of maxBatch samples,
    /// on Dispatch workers whatever the training backend.
    public func evaluate(_ data: Dataset) -> (lossSum: Double, correct: Int) {
        guard data.count > 0 else { return (0, 0) }
        let savedProfiler = profiler
        profiler = nil
        defer { profiler = savedProfiler }
        let order = (0..<Int32(data.count)).map { $0 }
        var lossSum = 0.0, correct = 0
        data.images.withUnsafeBufferPointer { img in
            data.labels.withUnsafeBufferPointer { lab in
                order.withUnsafeBufferPointer { idx in
                    for start in stride(from: 0, to: data.count, by: maxBatch) {
                        let r = forwardOnly(images: img.baseAddress!, labels: lab.baseAddress!, indices: idx.baseAddress! + start,
                                            count: min(maxBatch, data.count - start))
                        lossSum += r.lossSum
                        correct += r.correct
                    }
                }
            }
        }
        return (lossSum, correct)
    }
}
