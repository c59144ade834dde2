/// A training step as segments of per-shard work separated by serial reductions: what a plan
/// with batch statistics (batch normalization) needs, since every shard must wait for the
/// whole minibatch's statistics before it goes on. Without such stages a step is one segment
/// (the Dispatch backend then keeps its one-pass-per-shard path).
///
/// Determinism: every shard computes its partial statistics in a fixed order into its own
/// buffer; they are exchanged across MPI ranks (their bytes, unchanged) and summed over shards
/// in the same fixed tree as the gradients (tc_sum_buffers); so every shard of every rank
/// normalizes with the same bits at any thread count, backend and rank count.
extension MinibatchScheduler {
    enum ShardOp {
        case gather, loss
        case forward(Int), backward(Int)
        case forwardPartial(Int, phase: Int), backwardPartial(Int)
    }
    enum SyncOp {
        case forward(stage: Int, phase: Int)
        case backward(stage: Int)
    }
    struct Segment {
        var ops: [ShardOp]
        var sync: SyncOp?
    }

    /// The segments of a training step of a plan.
    static func segments(_ plan: ExecutionPlan) -> [Segment] {
        var out: [Segment] = []
        var ops: [ShardOp] = [.gather]
        for (i, stage) in plan.stages.enumerated() {
            if let b = stage as? any BatchStatisticsStage {
                for p in 0..<b.forwardPhases {
                    ops.append(.forwardPartial(i, phase: p))
                    out.append(Segment(ops: ops, sync: .forward(stage: i, phase: p)))
                    ops = []
                }
            }
            ops.append(.forward(i))
        }
        ops.append(.loss)
        for (i, stage) in plan.stages.enumerated().reversed() {
            if stage is any BatchStatisticsStage {
                ops.append(.backwardPartial(i))
                out.append(Segment(ops: ops, sync: .backward(stage: i)))
                ops = []
            }
            ops.append(.backward(i))
        }
        out.append(Segment(ops: ops, sync: nil))
        return out
    }

    /// One shard's part of a segment, on slot `slot`.
    func run(_ op: ShardOp, shard s: Int, slot: ShardWorkspace, worker w: Int) {
        switch op {
        case .gather: timed(w, .gather) { gather(shard: s, slot: slot) }
        case .loss: timed(w, .loss) { loss(shard: s, slot: slot) }
        case .forward(let i):
            let c = context(slot, stage: i, shard: s)
            timed(w, .forward(i)) { plan.stages[i].forward(c) }
        case .backward(let i):
            let c = context(slot, stage: i, shard: s)
            timed(w, .backward(i)) { plan.stages[i].backward(c) }
        case let .forwardPartial(i, phase):
            let c = context(slot, stage: i, shard: s)
            let b = plan.stages[i] as! any BatchStatisticsStage
            timed(w, .forward(i)) { b.forwardPartial(phase, c, partial: statisticsPartial(stage: i, shard: s)) }
        case .backwardPartial(let i):
            let c = context(slot, stage: i, shard: s)
            let b = plan.stages[i] as! any BatchStatisticsStage
            timed(w, .backward(i)) { b.backwardPartial(c, partial: statisticsPartial(stage: i, shard: s)) }
        }
    }

    /// Shard s's partial statistics of a stage.
    func statisticsPartial(stage i: Int, shard s: Int) -> UnsafeMutablePointer<Float> {
        let b = statistics[i]!
        return b.partials.pointer + s * b.floats
    }

    /// The serial step between segments: every rank gets every shard's partials, the fixed-tree
    /// sum over the step's shards, and the stage finishes its phase with the totals.
    func synchronize(_ sync: SyncOp) {
        let i: Int
        switch sync { case let .forward(stage, _): i = stage; case let .backward(stage): i = stage }
        let b = statistics[i]!, stage = plan.stages[i] as! any BatchStatisticsStage
        let shards = shardCount
        if let d = distributed {
            let t0 = monotonicNanos()
            d.exchange(statistics: b.partials.pointer, floatsPerShard: b.floats, shards: shards)
            if let p = profiler { p.record(worker: 0, slot: p.index(.exchange), start: t0, end: monotonicNanos()) }
        }
        for s in 0..<shards { b.sources[s] = UnsafePointer(b.partials.pointer + s * b.floats) }
        GradientSumKernel.sum(count: b.floats, sources: shards, src: b.sources, dst: b.totals.pointer)
        switch sync {
        case let .forward(_, phase):
            stage.finishForwardPhase(phase, totals: b.totals.pointer, samples: batch!.count,
                                     parameters: network.parameters.pointer + network.parameterOffsets[stage.layers.lowerBound])
        case .backward:
            stage.finishBackward(totals: b.totals.pointer)
        }
    }

    /// A training step of a plan with batch statistics on the Dispatch workers: each segment
    /// a fork/join over this process's shards (each shard keeps its own workspace across the
    /// segments), each reduction on the calling thread.
    func stepSegmentedDispatch(_ shards: Range<Int>) {
        for segment in segments {
            segmentOps = segment.ops
            localShards = shards
            dispatchWorkers = min(threads, max(shards.count, 1))
            dispatchPhase = .segment
            if !shards.isEmpty { dispatchApplyCurrent() }
            if let sync = segment.sync { synchronize(sync) }
        }
    }
}

/// Per-shard partial statistics of one batch-statistics stage, their totals, and the source
/// table the fixed-tree sum reads (allocated once).
final class StatisticsBuffers: @unchecked Sendable {
    let floats: Int
    let partials: FloatBuffer
    let totals: FloatBuffer
    let sources: UnsafeMutablePointer<UnsafePointer<Float>?>

    init(floats: Int, maxShards: Int) {
        self.floats = floats
        partials = FloatBuffer(count: floats * maxShards)
        totals = FloatBuffer(count: floats)
        sources = .allocate(capacity: maxShards)
        sources.initialize(repeating: nil, count: maxShards)
    }
    deinit { sources.deallocate() }
}
