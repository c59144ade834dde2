import CKernels
import Dispatch

/// This machine's measured FMA peak: a register-resident FMA loop on the ISA's widest
/// vectors, on `threads` threads at once. Interference (another process on a core, a
/// frequency dip) only ever slows the loop, so the best of several probes is the figure.
public enum PeakProbe {
    /// GFLOP/s: the best of `repeats` probes.
    public static func gflops(isa: ISA = .active, threads: Int = 1, repeats: Int = 5) -> Double {
        precondition(threads >= 1 && repeats >= 1)
        let iterations: UInt64 = 20_000_000
        var best = 0.0
        let storage = UnsafeMutablePointer<Double>.allocate(capacity: threads)
        defer { storage.deallocate() }
        let flops = SendablePointer(storage)
        for _ in 0..<repeats {
            let start = monotonicNanos()
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                flops[t] = tc_peak_probe(isa.c, iterations)
            }
            let seconds = Double(monotonicNanos() - start) * 1e-9
            best = max(best, (0..<threads).reduce(0) { $0 + flops[$1] } / seconds / 1e9)
        }
        return best
    }

    /// The one-core and `threads`-thread peaks of a run, probed when it starts and again
    /// (`refine`) when it ends: each the best of every probe, and the machine figure never
    /// below the one-core figure (a probe of N threads whose other cores were busy measures
    /// one core's worth at best, not less).
    public struct Figures: Sendable, Equatable {
        public private(set) var singleCore: Double
        public private(set) var machine: Double
        public let threads: Int
        public private(set) var probes = 1

        public init(isa: ISA = .active, threads: Int) {
            self.threads = threads
            singleCore = PeakProbe.gflops(isa: isa, threads: 1)
            machine = max(PeakProbe.gflops(isa: isa, threads: threads), singleCore)
        }
        init(singleCore: Double, machine: Double, threads: Int) {
            (self.singleCore, self.machine, self.threads) = (singleCore, max(machine, singleCore), threads)
        }

        /// Probes again; keeps the best of each.
        public mutating func refine(isa: ISA = .active) {
            singleCore = max(singleCore, PeakProbe.gflops(isa: isa, threads: 1))
            machine = max(machine, PeakProbe.gflops(isa: isa, threads: threads), singleCore)
            probes += 1
        }
    }
}
