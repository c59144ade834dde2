/// Work below the shard: when a step has fewer shards than threads (the report's batch 32 is 4
/// shards of 8), each stage's pass over a shard is cut into pieces (StagePiece: images, output
/// channels of the weight gradient) and the step runs as phases, one per stage and direction,
/// each a fork/join over every (shard, piece) task of that phase; workers take tasks from a
/// shared counter. Shards still define the arithmetic: a piece writes exactly the elements the
/// whole call would, with the same operations, into the shard's own buffers, so the bits are
/// those of the shard-per-worker path at any thread count and split.
///
/// Tasks run with their shard's workspace (slot = shard) and the executing worker's scratch
/// (slot = worker), so a shard's pieces never share scratch. The schedule of a shard layout is
/// built once and kept: a step allocates nothing.
extension MinibatchScheduler {
    enum PieceOp: Equatable {
        case gather, loss
        case forward(Int, StagePiece)
        case backward(Int, StagePiece)
    }

    struct PieceTask: Equatable {
        var shard: Int
        var op: PieceOp
    }

    /// The phases of one step over one shard layout: tasks, and where each phase's tasks lie.
    final class PieceSchedule {
        let tasks: UnsafeMutableBufferPointer<PieceTask>
        let phases: [Range<Int>]
        init(_ phases: [[PieceTask]]) {
            let all = phases.flatMap { $0 }
            tasks = .allocate(capacity: all.count)
            _ = tasks.initialize(from: all)
            var ranges: [Range<Int>] = [], at = 0
            for p in phases { ranges.append(at..<(at + p.count)); at += p.count }
            self.phases = ranges
        }
        deinit { tasks.deallocate() }
    }

    struct PieceKey: Hashable {
        var shards: Range<Int>
        var count: Int
        var training: Bool
    }

    /// Whether a step over `shards` local shards may run pieces: split allowed, fewer shards
    /// than threads, and no batch statistics (those plans run as segments, shard by shard).
    func splits(shards: Int) -> Bool {
        splitBelowShard && shards > 0 && shards < threads && !hasBatchStatistics
    }

    /// Whether this step runs pieces. Where it may, the choice is measured, not assumed: the
    /// first training steps of the first such shard layout alternate pieces and whole shards
    /// (they are real steps: either way gives the same bits), and after `splitTrialSteps` the
    /// faster stays, pieces only when at least 3% faster. So the decision is this process's, for
    /// its thread count, batch and CPU, and costs nothing but the trial steps' own time.
    func runsPieces(shards: Int) -> Bool {
        guard splits(shards: shards) else { return false }
        if let d = splitDecision { return d }
        return !training || splitTrials % 2 == 0  // evaluation before a decision: pieces
    }

    public static let splitTrialSteps = 2 + 2 * 4  // two warm-up steps, then four of each, alternating

    /// Records a training step's shard phase (nanoseconds) while the split is being measured.
    func noteSplitTrial(shards: Int, pieces: Bool, nanos: UInt64) {
        guard training, splitDecision == nil, splits(shards: shards) else { return }
        if splitTrialShards < 0 { splitTrialShards = shards }
        guard shards == splitTrialShards else { return }  // another layout (an epoch's last batch)
        splitTrials += 1
        if splitTrials > 2 {
            if pieces { splitBest.pieces = min(splitBest.pieces, nanos) } else { splitBest.whole = min(splitBest.whole, nanos) }
        }
        if splitTrials == Self.splitTrialSteps {
            splitDecision = Double(splitBest.pieces) < 0.97 * Double(splitBest.whole)
        }
    }

    /// Pieces per shard and stage: enough tasks to give every thread one.
    func pieceBudget(shards: Int) -> Int { (threads + shards - 1) / shards }

    /// The phases of a step over `shards` (of the current batch): gather, the stages forward,
    /// the loss, then (training) every stage's backward phases in reverse order.
    static func pieceSchedule(plan: ExecutionPlan, shards: Range<Int>, sizes: (Int) -> Int, budget: Int,
                              training: Bool) -> [[PieceTask]] {
        var phases: [[PieceTask]] = [shards.map { PieceTask(shard: $0, op: .gather) }]
        for (i, stage) in plan.stages.enumerated() {
            phases.append(shards.flatMap { s in
                let pieces = (stage as? any PiecewiseStage)?.forwardPieces(images: sizes(s), budget: budget) ?? [.whole]
                return pieces.map { PieceTask(shard: s, op: .forward(i, $0)) }
            })
        }
        phases.append(shards.map { PieceTask(shard: $0, op: .loss) })
        guard training else { return phases }
        for (i, stage) in plan.stages.enumerated().reversed() {
            let first = stage.layers.lowerBound == 0
            // one phase list per shard (same shape for shards of equal size), merged phase by phase
            let perShard = shards.map { s in
                (stage as? any PiecewiseStage)?.backwardPhases(images: sizes(s), budget: budget, inputGradient: !first)
                    ?? [[.whole]]
            }
            let depth = perShard.map(\.count).max() ?? 0
            for d in 0..<depth {
                phases.append(zip(shards, perShard).flatMap { s, p in
                    d < p.count ? p[d].map { PieceTask(shard: s, op: .backward(i, $0)) } : []
                })
            }
        }
        return phases
    }

    /// The kept schedule for the current batch over `shards`.
    func currentPieceSchedule(_ shards: Range<Int>) -> PieceSchedule {
        let b = batch!
        let key = PieceKey(shards: shards, count: b.count, training: training)
        if let s = pieceSchedules[key] { return s }
        let s = PieceSchedule(Self.pieceSchedule(plan: plan, shards: shards, sizes: { b.shard($0).count },
                                                 budget: pieceBudget(shards: shards.count), training: training))
        pieceSchedules[key] = s
        return s
    }

    /// One task on worker w: its shard's workspace, the worker's scratch.
    func runPiece(_ t: PieceTask, worker w: Int) {
        let slot = slots[t.shard - localShards.lowerBound]
        switch t.op {
        case .gather: timed(w, .gather) { gather(shard: t.shard, slot: slot) }
        case .loss: timed(w, .loss) { loss(shard: t.shard, slot: slot) }
        case let .forward(i, piece):
            let c = pieceContext(slot, stage: i, shard: t.shard, worker: w)
            timed(w, .forward(i)) { Self.forward(plan.stages[i], c, piece) }
        case let .backward(i, piece):
            let c = pieceContext(slot, stage: i, shard: t.shard, worker: w)
            timed(w, .backward(i)) { Self.backward(plan.stages[i], c, piece) }
        }
    }

    private func pieceContext(_ slot: ShardWorkspace, stage i: Int, shard s: Int, worker w: Int) -> StageContext {
        var c = context(slot, stage: i, shard: s)
        c.scratch = slots[w].scratch.pointer
        return c
    }

    private static func forward(_ stage: any PlanStage, _ c: StageContext, _ piece: StagePiece) {
        if piece != .whole, let p = stage as? any PiecewiseStage { p.forward(c, piece: piece) } else { stage.forward(c) }
    }

    private static func backward(_ stage: any PlanStage, _ c: StageContext, _ piece: StagePiece) {
        if piece != .whole, let p = stage as? any PiecewiseStage { p.backward(c, piece: piece) } else { stage.backward(c) }
    }

    /// The step's forward (and backward) over this process's shards as phases on the Dispatch
    /// workers: one fork/join per phase, tasks taken from a shared counter.
    func runPiecesOnDispatchWorkers(_ shards: Range<Int>) {
        localShards = shards
        let schedule = currentPieceSchedule(shards)
        pieceTasks = UnsafeBufferPointer(schedule.tasks)
        dispatchPhase = .pieces
        for phase in schedule.phases {
            piecePhase = phase
            nextPiece.store(phase.lowerBound, ordering: .relaxed)
            dispatchWorkers = min(threads, phase.count)
            dispatchApplyCurrent()
        }
    }

    /// A Dispatch worker's share of the current phase.
    func runPieceTasks(worker w: Int) {
        let end = piecePhase.upperBound
        while true {
            let k = nextPiece.add(1, ordering: .relaxed).oldValue
            guard k < end else { return }
            runPiece(pieceTasks[k], worker: w)
        }
    }
}
