import TinyConv
import Foundation

/// An Amdahl-style model of a training step on P cores with the Dispatch scheduler,
/// built from quantities measured on this machine:
///   c     seconds of one shard's forward + backward (whole passes, perfectly parallel),
///   r1    seconds of the gradient reduction + optimizer update on one thread
///         (parallel over parameter chunks, so it divides by P),
///   f(P)  seconds of one fork/join of the scheduler's Dispatch worker pool with P workers;
///         a step has two.
/// T(P) = ceil(shards / P) * c + r1 / P + 2 f(P); the serial share is 2 f(P) / T(P) and the
/// imbalance share is (ceil(shards / P) - shards / P) * c / T(P).
public struct ScalingModel: Codable, Sendable {
    public var batch: Int
    public var shards: Int
    public var shardSeconds: Double
    public var updateSeconds: Double
    public var forkJoinSeconds: [Int: Double]   // workers -> seconds

    public init(batch: Int, shards: Int, shardSeconds: Double, updateSeconds: Double, forkJoinSeconds: [Int: Double]) {
        (self.batch, self.shards, self.shardSeconds, self.updateSeconds, self.forkJoinSeconds) =
            (batch, shards, shardSeconds, updateSeconds, forkJoinSeconds)
    }

    func forkJoin(_ p: Int) -> Double {
        if let v = forkJoinSeconds[p] { return v }
        // beyond the measured points: grow linearly with the worker count from the largest one
        let (w, v) = forkJoinSeconds.max { $0.key < $1.key } ?? (1, 0)
        return v * Double(p) / Double(w)
    }

    public func stepSeconds(cores p: Int) -> Double {
        Double((shards + p - 1) / p) * shardSeconds + updateSeconds / Double(p) + 2 * forkJoin(p)
    }
    public func speedup(cores p: Int) -> Double { stepSeconds(cores: 1) / stepSeconds(cores: p) }
    public func serialShare(cores p: Int) -> Double { 2 * forkJoin(p) / stepSeconds(cores: p) }
    public func imbalanceShare(cores p: Int) -> Double {
        (Double((shards + p - 1) / p) - Double(shards) / Double(p)) * shardSeconds / stepSeconds(cores: p)
    }

    /// Median seconds of one empty fork/join of the scheduler's worker pool with `workers`
    /// workers (semaphore wake-ups of the others, and the join).
    public static func measureForkJoin(workers: Int, repeats: Int = 2000) -> Double {
        let pool = DispatchWorkerPool(workers: workers)
        defer { pool.shutdown() }
        var samples: [Double] = []
        for _ in 0..<15 {
            let t0 = monotonicNanos()
            for _ in 0..<repeats { pool.run(workers, { _, _ in }, nil) }
            samples.append(Double(monotonicNanos() - t0) * 1e-9 / Double(repeats))
        }
        return Statistics.median(samples)
    }
}
