import COpenMP

/// The OpenMP backend: one `#pragma omp parallel for` region per phase, layer and
/// direction over the shards (framework style), each shard with its own workspace; the
/// step's segments (batch statistics) are reduced between regions.
extension MinibatchScheduler {
    enum OMPPhase: Int { case shardOp, piece, update }

    func stepOpenMP() {
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let body: tc_omp_body = { raw, task in
            let me = Unmanaged<MinibatchScheduler>.fromOpaque(raw!).takeUnretainedValue()
            me.ompTask(Int(task), worker: Int(tc_omp_thread_num()))
        }
        let t = Int32(threads)
        func region(_ phase: OMPPhase, tasks: Int) {
            ompPhase = phase
            tc_omp_parallel_for(Int32(tasks), t, body, ctx)
        }
        let pieces = runsPieces(shards: shardCount), t0 = monotonicNanos()
        defer { noteSplitTrial(shards: shardCount, pieces: pieces, nanos: monotonicNanos() - t0) }  // (it checks the layout)
        if pieces {  // fewer shards than threads: a region per phase of pieces
            localShards = 0..<shardCount
            let schedule = currentPieceSchedule(localShards)
            pieceTasks = UnsafeBufferPointer(schedule.tasks)
            for phase in schedule.phases {
                piecePhase = phase
                region(.piece, tasks: phase.count)
            }
            region(.update, tasks: optimizer.items.count)
            return
        }
        for segment in segments {
            for op in segment.ops {
                ompOp = op
                region(.shardOp, tasks: shardCount)
            }
            if let sync = segment.sync { synchronize(sync) }
        }
        region(.update, tasks: optimizer.items.count)
    }

    /// One task of the current OpenMP phase: shard `task` (or work item, for the update).
    func ompTask(_ task: Int, worker: Int) {
        let w = min(worker, (profiler?.workers ?? 1) - 1)
        switch ompPhase {
        case .shardOp: run(ompOp, shard: task, slot: slots[task], worker: w)
        case .piece: runPiece(pieceTasks[piecePhase.lowerBound + task], worker: worker)
        case .update: timed(w, .optimizer) { update(item: task) }
        }
    }
}
