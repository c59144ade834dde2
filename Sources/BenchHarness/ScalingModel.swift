import TinyConv
import Foundation

/// An Amdahl-style model of a training step on P cores with the Dispatch scheduler,
/// built from quantities measured on one thread of this machine:
///   c     seconds of one shard's forward + backward (whole passes, perfectly parallel),
///   r1    seconds of the gradient reduction + optimizer update on one thread
///         (parallel over parameter slices, so it divides by P),
///   f(P)  seconds of one fork/join of the scheduler's Dispatch worker pool with P workers.
/// With at least as many shards S as cores, whole shards per worker and two fork/joins:
///   T(P) = ceil(S / P) * c + r1 / P + 2 f(P).
/// With fewer shards than cores, the shards run as pieces (work below the shard), one
/// fork/join per phase (`phases`: gather, every stage forward, loss, every stage's backward
/// phases), the work spread over at most S x images-per-shard workers:
///   T(P) = S * c / (min(P, S * shardImages) * e) + r1 / P + (phases + 1) f(P),
/// e the pieces' efficiency: one shard on k threads (k = min(cores, shardImages)) against one
/// thread, measured on this machine, (T(1) / T(k)) / k.
/// The serial share is the fork/joins' part of T(P); the imbalance share the idle part of
/// the whole-shard rounds. `bench scaling` prints the model beside measured runs and its error.
public struct ScalingModel: Codable, Sendable {
    public var batch: Int
    public var shards: Int
    public var shardSeconds: Double
    public var updateSeconds: Double
    public var forkJoinSeconds: [Int: Double]   // workers -> seconds
    /// Fork/joins of a step run as pieces, and images per shard (how far a shard splits).
    public var phases: Int
    public var shardImages: Int
    public var pieceEfficiency: Double

    public init(batch: Int, shards: Int, shardSeconds: Double, updateSeconds: Double, forkJoinSeconds: [Int: Double],
                phases: Int = 2, shardImages: Int = 8, pieceEfficiency: Double = 1) {
        (self.batch, self.shards, self.shardSeconds, self.updateSeconds, self.forkJoinSeconds) =
            (batch, shards, shardSeconds, updateSeconds, forkJoinSeconds)
        (self.phases, self.shardImages, self.pieceEfficiency) = (phases, shardImages, pieceEfficiency)
    }

    /// Fork/joins in a step on p cores.
    func joins(_ p: Int) -> Int { p > shards ? phases + 1 : 2 }

    func forkJoin(_ p: Int) -> Double {
        if let v = forkJoinSeconds[p] { return v }
        // beyond the measured points: grow linearly with the worker count from the largest one
        let (w, v) = forkJoinSeconds.max { $0.key < $1.key } ?? (1, 0)
        return v * Double(p) / Double(w)
    }

    public func stepSeconds(cores p: Int) -> Double {
        let work = p > shards ? Double(shards) * shardSeconds / (Double(min(p, shards * shardImages)) * pieceEfficiency)
                              : Double((shards + p - 1) / p) * shardSeconds
        return work + updateSeconds / Double(p) + Double(joins(p)) * forkJoin(p)
    }
    public func speedup(cores p: Int) -> Double { stepSeconds(cores: 1) / stepSeconds(cores: p) }
    public func serialShare(cores p: Int) -> Double { Double(joins(p)) * forkJoin(p) / stepSeconds(cores: p) }
    public func imbalanceShare(cores p: Int) -> Double {
        guard p <= shards else { return 0 }
        return (Double((shards + p - 1) / p) - Double(shards) / Double(p)) * shardSeconds / stepSeconds(cores: p)
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
