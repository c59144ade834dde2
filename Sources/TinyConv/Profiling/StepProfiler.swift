/// Per-stage timers filled inside real training steps: nanoseconds per (worker, slot),
/// where a slot is an execution-plan stage's forward or backward pass (a stage is one
/// layer, or the layers a fused stage covers), the loss, the input gather or
/// the optimizer (reduction + update). Optionally records trace events per worker.
/// Each worker writes only its own row, so no locks are needed.
public final class StepProfiler: @unchecked Sendable {
    public enum Slot {
        case forward(Int), backward(Int), loss, gather, optimizer
        /// The gradient exchange between processes of a distributed run (docs/distributed.md).
        case exchange
    }
    public struct Event: Sendable {
        public var slot: Int, worker: Int, start: UInt64, duration: UInt64
    }

    public let stages: Int
    public let workers: Int
    public var slotCount: Int { 2 * stages + 4 }
    let nanos: UnsafeMutablePointer<UInt64>
    let eventBuffers: [UnsafeMutablePointer<Event>]
    let eventCounts: UnsafeMutablePointer<Int>
    public let eventCapacity: Int

    public init(stages: Int, workers: Int, traceCapacity: Int = 0) {
        self.stages = stages
        self.workers = workers
        eventCapacity = traceCapacity
        nanos = .allocate(capacity: workers * (2 * stages + 4))
        nanos.initialize(repeating: 0, count: workers * (2 * stages + 4))
        eventBuffers = (0..<workers).map { _ in .allocate(capacity: max(traceCapacity, 1)) }
        eventCounts = .allocate(capacity: workers)
        eventCounts.initialize(repeating: 0, count: workers)
    }

    deinit {
        nanos.deallocate()
        eventBuffers.forEach { $0.deallocate() }
        eventCounts.deallocate()
    }

    public func index(_ slot: Slot) -> Int {
        switch slot {
        case let .forward(i): 2 * i
        case let .backward(i): 2 * i + 1
        case .loss: 2 * stages
        case .gather: 2 * stages + 1
        case .optimizer: 2 * stages + 2
        case .exchange: 2 * stages + 3
        }
    }

    @inline(__always)
    func record(worker: Int, slot: Int, start: UInt64, end: UInt64) {
        nanos[worker * slotCount + slot] &+= end &- start
        let n = eventCounts[worker]
        if n < eventCapacity {
            eventBuffers[worker][n] = Event(slot: slot, worker: worker, start: start, duration: end &- start)
            eventCounts[worker] = n + 1
        }
    }

    /// Total nanoseconds in a slot summed over workers.
    public func total(_ slot: Slot) -> UInt64 {
        let s = index(slot)
        return (0..<workers).reduce(0) { $0 &+ nanos[$1 * slotCount + s] }
    }

    public var events: [Event] {
        (0..<workers).flatMap { w in (0..<eventCounts[w]).map { eventBuffers[w][$0] } }
    }

    public func reset() {
        nanos.update(repeating: 0, count: workers * slotCount)
        eventCounts.update(repeating: 0, count: workers)
    }
}
