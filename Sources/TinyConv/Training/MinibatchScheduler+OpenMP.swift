import COpenMP

/// The OpenMP backend: one `#pragma omp parallel for` region per phase, layer and
/// direction over the shards (framework style), each shard with its own workspace.
extension MinibatchScheduler {
    enum OMPPhase: Int { case gather, forward, loss, backward, update }

    func stepOpenMP() {
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let body: tc_omp_body = { raw, task in
            let me = Unmanaged<MinibatchScheduler>.fromOpaque(raw!).takeUnretainedValue()
            me.ompTask(Int(task), worker: Int(tc_omp_thread_num()))
        }
        let t = Int32(threads)
        func region(_ phase: OMPPhase, stage: Int = 0, tasks: Int) {
            ompPhase = phase
            ompStage = stage
            tc_omp_parallel_for(Int32(tasks), t, body, ctx)
        }
        region(.gather, tasks: shardCount)
        for i in plan.stages.indices { region(.forward, stage: i, tasks: shardCount) }
        region(.loss, tasks: shardCount)
        for i in plan.stages.indices.reversed() { region(.backward, stage: i, tasks: shardCount) }
        region(.update, tasks: optimizer.items.count)
    }

    /// One task of the current OpenMP phase: shard `task` (or work item, for the update).
    func ompTask(_ task: Int, worker: Int) {
        let w = min(worker, (profiler?.workers ?? 1) - 1)
        let i = ompStage
        switch ompPhase {
        case .gather: timed(w, .gather) { gather(shard: task, slot: slots[task]) }
        case .forward:
            let c = context(slots[task], stage: i, shard: task)
            timed(w, .forward(i)) { plan.stages[i].forward(c) }
        case .loss: timed(w, .loss) { loss(shard: task, slot: slots[task]) }
        case .backward:
            let c = context(slots[task], stage: i, shard: task)
            timed(w, .backward(i)) { plan.stages[i].backward(c) }
        case .update: timed(w, .optimizer) { update(item: task) }
        }
    }
}
