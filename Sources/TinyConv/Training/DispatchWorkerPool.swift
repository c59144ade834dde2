import Dispatch

/// The Dispatch backend's fork/join: W-1 persistent workers, each looping on its own
/// serial Dispatch queue (so each gets a thread of its own even when there are more
/// workers than cores), woken per round by a DispatchSemaphore, plus the calling
/// thread as worker 0. A round allocates nothing (concurrentPerform turns its closure
/// into a heap block on every call, and libdispatch's apply allocates a continuation
/// when called from a non-Dispatch thread).
final class DispatchWorkerPool: @unchecked Sendable {
    typealias Body = @convention(c) (UnsafeMutableRawPointer?, Int) -> Void

    let workers: Int
    private let start: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let queues: [DispatchQueue]
    // The current round (written before the start signals, read after them).
    private var body: Body?
    private var context: UnsafeMutableRawPointer?
    private var participants = 0
    private var stopping = false

    init(workers: Int) {
        precondition(workers >= 1)
        self.workers = workers
        start = (0..<workers).map { _ in DispatchSemaphore(value: 0) }
        queues = (0..<workers).map { DispatchQueue(label: "tinyconv.worker.\($0)", qos: .userInitiated) }
        for w in 1..<workers {
            queues[w].async { [self] in loop(worker: w) }
        }
    }

    private func loop(worker w: Int) {
        while true {
            start[w].wait()
            if stopping { done.signal(); return }
            body!(context, w)
            done.signal()
        }
    }

    /// Runs body(context, w) for w in 0..<n on n workers (the caller is worker 0) and
    /// returns when all are done.
    func run(_ n: Int, _ body: Body, _ context: UnsafeMutableRawPointer?) {
        let n = min(max(n, 1), workers)
        self.body = body
        self.context = context
        participants = n
        for w in 1..<n { start[w].signal() }
        body(context, 0)
        for _ in 1..<n { done.wait() }
    }

    /// Stops the workers; the pool cannot be used afterwards.
    func shutdown() {
        stopping = true
        for w in 1..<workers { start[w].signal() }
        for _ in 1..<workers { done.wait() }
    }
}
