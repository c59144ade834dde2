import CKernels
import Dispatch

/// This machine's measured FMA peak: a register-resident FMA loop on the ISA's widest
/// vectors, run on `threads` threads at once, median of `repeats` runs.
public enum PeakProbe {
    public static func gflops(isa: ISA = .active, threads: Int = 1, repeats: Int = 5) -> Double {
        precondition(threads >= 1 && repeats >= 1)
        let iterations: UInt64 = 20_000_000
        var rates: [Double] = []
        for _ in 0..<repeats {
            let start = monotonicNanos()
            let storage = UnsafeMutablePointer<Double>.allocate(capacity: threads)
            defer { storage.deallocate() }
            let flops = SendablePointer(storage)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                flops[t] = tc_peak_probe(isa.c, iterations)
            }
            let seconds = Double(monotonicNanos() - start) * 1e-9
            rates.append((0..<threads).reduce(0) { $0 + flops[$1] } / seconds / 1e9)
        }
        let sorted = rates.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
