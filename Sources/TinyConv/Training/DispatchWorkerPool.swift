import Dispatch
import Foundation
import Synchronization

/// The Dispatch backend's fork/join: W-1 persistent workers, each looping on its own
/// serial Dispatch queue (so each has a thread even with more workers than cores), plus
/// the calling thread as worker 0. A round allocates nothing (concurrentPerform turns
/// its closure into a heap block on every call, and libdispatch's apply allocates a
/// continuation when called from a non-Dispatch thread).
///
/// Hand-off: a round counter the workers spin on for up to `spinNanos` after their last
/// task, then sleep on a DispatchSemaphore (a futex wake costs tens of microseconds, a
/// spinning worker sees the next round within one). The join spins the same way on a
/// finished counter. Sleep announcements use sequentially consistent atomics, so either
/// the waker sees the sleeper or the sleeper sees the new round; an extra semaphore
/// signal only causes a re-check.
public final class DispatchWorkerPool: @unchecked Sendable {
    public typealias Body = @convention(c) (UnsafeMutableRawPointer?, Int) -> Void

    /// How long an idle worker (or the joining caller) spins before it sleeps: long enough
    /// to bridge the gaps inside and between training steps, short enough that idle
    /// workers never compete with other work for long. No spinning at all when there are
    /// more workers than cores: a spinner would then steal the core a worker needs.
    let spinNanos: UInt64

    final class Sleeper: Sendable {
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    let workers: Int
    private let sleepers: [Sleeper]
    private let caller = Sleeper()
    private let exited = DispatchSemaphore(value: 0)
    private let round = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let queues: [DispatchQueue]
    // The current round: body and context are written before `round` is incremented and
    // read only by that round's participants; every worker reads `participants` and
    // `stopping`, which may already be the next round's, so they are atomic.
    private var body: Body?
    private var context: UnsafeMutableRawPointer?
    private let participants = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    public init(workers: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) {
        precondition(workers >= 1)
        self.workers = workers
        let requested = (try? EnvironmentSettings.spinNanos()) ?? 100_000  // commands check it first
        spinNanos = workers <= cores ? requested : 0
        sleepers = (0..<workers).map { _ in Sleeper() }
        queues = (0..<workers).map { DispatchQueue(label: "tinyconv.worker.\($0)", qos: .userInitiated) }
        for w in 1..<workers {
            queues[w].async { [self] in loop(worker: w) }
        }
    }

    /// Spins, then sleeps, until `condition` holds; `me` is announced as sleeping while asleep.
    @inline(__always)
    private func waitUntil(_ me: Sleeper, _ condition: () -> Bool) {
        let deadline = monotonicNanos() &+ spinNanos
        var spins = 0
        while !condition() {
            spins &+= 1
            if spins & 63 == 0 && monotonicNanos() > deadline {
                me.sleeping.store(true, ordering: .sequentiallyConsistent)
                if !condition() { me.wake.wait() }
                me.sleeping.store(false, ordering: .sequentiallyConsistent)
            }
        }
    }

    private func wakeIfSleeping(_ s: Sleeper) {
        if s.sleeping.load(ordering: .sequentiallyConsistent) { s.wake.signal() }
    }

    private func loop(worker w: Int) {
        var seen = 0
        while true {
            waitUntil(sleepers[w]) { round.load(ordering: .sequentiallyConsistent) != seen }
            seen = round.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { exited.signal(); return }
            guard w < participants.load(ordering: .acquiring) else { continue }
            body!(context, w)
            finished.add(1, ordering: .sequentiallyConsistent)
            wakeIfSleeping(caller)
        }
    }

    /// Runs body(context, w) for w in 0..<n on n workers (the caller is worker 0) and
    /// returns when all are done.
    public func run(_ n: Int, _ body: Body, _ context: UnsafeMutableRawPointer?) {
        let n = min(max(n, 1), workers)
        if n == 1 { body(context, 0); return }
        self.body = body
        self.context = context
        participants.store(n, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        round.add(1, ordering: .sequentiallyConsistent)
        for w in 1..<n { wakeIfSleeping(sleepers[w]) }
        body(context, 0)
        waitUntil(caller) { finished.load(ordering: .sequentiallyConsistent) == n - 1 }
    }

    /// Stops the workers; the pool cannot be used afterwards.
    public func shutdown() {
        stopping.store(true, ordering: .relaxed)
        round.add(1, ordering: .sequentiallyConsistent)
        for w in 1..<workers { wakeIfSleeping(sleepers[w]) }
        for _ in 1..<workers { exited.wait() }
    }
}
