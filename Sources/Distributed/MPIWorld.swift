import CMPI
import Foundation
import TinyConv

/// This process's place in an `mpirun` job, and the gradient exchange over MPI.
///
/// A process started by `mpirun` (Open MPI sets OMPI_COMM_WORLD_SIZE) joins the job;
/// any other runs alone, exactly as without MPI (MPI is never initialized). Every
/// collective waits at most `timeout` seconds (TINYCONV_MPI_TIMEOUT, default 20): a rank
/// that died or hangs ends the others with one line naming the rank, not a silent hang.
public final class MPIWorld: ShardExchange, PlanAgreement {
    public let rank: Int
    public let ranks: Int
    public let timeout: Double
    public let algorithm: GradientExchange
    public private(set) var bytesReceived = 0
    var schedules: [Int: TreeSchedule] = [:]  // by shard count: the last batch may have fewer
    var partitions: [Int: [Range<Int>]] = [:]
    var counts: [Int32] = []
    var displs: [Int32] = []

    /// True when this process was started by mpirun with more than one rank (or exactly
    /// one: then it is a job of one, which computes as a single process does).
    public static var launchedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// timeout: seconds any collective may wait (default TINYCONV_MPI_TIMEOUT, else 20).
    public init(exchange: GradientExchange = .tree, timeout: Double? = nil) throws {
        algorithm = exchange
        var r: Int32 = 0, p: Int32 = 0
        guard tc_mpi_init(&r, &p) == Int32(TC_MPI_OK) else {
            throw TrainingError(message: "mpi: MPI_Init failed (is this an Open MPI job?)")
        }
        rank = Int(r)
        ranks = Int(p)
        counts = Array(repeating: 0, count: ranks)
        displs = Array(repeating: 0, count: ranks)
        self.timeout = try timeout ?? EnvironmentSettings.mpiTimeout()
    }

    /// This process's place in an mpirun job, or nil when it was not started by mpirun.
    public static func join(exchange: GradientExchange?) throws -> MPIWorld? {
        launchedByMPI ? try MPIWorld(exchange: exchange ?? .tree) : nil
    }

    public func finalize() { tc_mpi_finalize() }

    /// Ends the whole job from this rank with a one-line error.
    public func fail(_ what: String) -> Never {
        let tool = CommandLine.arguments.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "tinyconv"
        FileHandle.standardError.write(Data("\(tool): error: rank \(rank) of \(ranks): \(what)\n".utf8))
        tc_mpi_abort(3)
        exit(3)
    }

    func check(_ code: Int32, _ what: String) {
        if code == Int32(TC_MPI_TIMEOUT) {
            fail("no answer from the other ranks within \(Int(timeout)) s during \(what) (a rank died or hangs); stopping the job")
        }
        if code != Int32(TC_MPI_OK) { fail("MPI error during \(what) (a rank died); stopping the job") }
    }

    public func exchange(gradients: UnsafeMutablePointer<Float>, floatsPerShard: Int, stats: UnsafeMutablePointer<Double>, shards: Int) {
        gather(gradients, elementBytes: 4 * floatsPerShard, shards: shards, what: "the gradient exchange")
        gather(stats, elementBytes: 16, shards: shards, what: "the loss exchange")
    }

    public func exchange(stats: UnsafeMutablePointer<Double>, shards: Int) {
        gather(stats, elementBytes: 16, shards: shards, what: "the loss exchange")
    }

    public func exchange(statistics: UnsafeMutablePointer<Float>, floatsPerShard: Int, shards: Int) {
        gather(statistics, elementBytes: 4 * floatsPerShard, shards: shards, what: "the batch-statistics exchange")
    }

    public func treeSchedule(_ shards: Int) -> TreeSchedule {
        if let s = schedules[shards] { return s }
        let s = TreeSchedule(rank: rank, ranks: ranks, shards: shards)
        schedules[shards] = s
        return s
    }

    public func send(_ floats: UnsafePointer<Float>, count: Int, to r: Int) {
        check(tc_mpi_send(floats, Int32(4 * count), Int32(r), timeout), "the gradient exchange")
    }

    public func receive(_ floats: UnsafeMutablePointer<Float>, count: Int, from r: Int) {
        check(tc_mpi_receive(floats, Int32(4 * count), Int32(r), timeout), "the gradient exchange")
        bytesReceived += 4 * count
    }

    public func broadcast(_ floats: UnsafeMutablePointer<Float>, count: Int) {
        check(tc_mpi_broadcast(floats, Int32(4 * count), timeout), "the gradient broadcast")
        if !isRoot { bytesReceived += 4 * count }
    }

    /// In place: rank r's shards [lo, hi) of `base` (elementBytes each) go to every rank.
    func gather<T>(_ base: UnsafeMutablePointer<T>, elementBytes: Int, shards: Int, what: String) {
        if partitions[shards] == nil {
            partitions[shards] = (0..<ranks).map { ShardPartition.range(rank: $0, ranks: ranks, shards: shards, exchange: algorithm) }
        }
        let ranges = partitions[shards]!
        for r in 0..<ranks {  // updated in place: a step allocates nothing here either
            let range = ranges[r]
            counts[r] = Int32(range.count * elementBytes)
            displs[r] = Int32(range.lowerBound * elementBytes)
            if r != rank { bytesReceived += range.count * elementBytes }
        }
        // in place (MPI_IN_PLACE, a macro only the C shim can name): each rank's part is already there
        let code = counts.withUnsafeBufferPointer { c in
            displs.withUnsafeBufferPointer { d in
                tc_mpi_allgatherv_in_place(UnsafeMutableRawPointer(base), c.baseAddress, d.baseAddress, timeout)
            }
        }
        check(code, what)
    }

    public var isRoot: Bool { rank == 0 }

    /// Rank 0's text on every rank: its length, then its bytes (the tuned plan).
    public func broadcast(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var count = Int32(isRoot ? bytes.count : 0)
        check(tc_mpi_broadcast(&count, 4, timeout), "the plan broadcast")
        if !isRoot { bytes = [UInt8](repeating: 0, count: Int(count)) }
        if count > 0 { check(bytes.withUnsafeMutableBytes { tc_mpi_broadcast($0.baseAddress, count, timeout) }, "the plan broadcast") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True on every rank if it is true on any (the ranks agree to stop at the same step).
    public func anyRank(_ flag: Bool) -> Bool {
        var v: Int32 = flag ? 1 : 0
        check(tc_mpi_allreduce_max(&v, timeout), "the stop check")
        return v != 0
    }
}
