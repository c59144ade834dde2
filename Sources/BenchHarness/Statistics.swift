import TinyConv
import Foundation

/// Order statistics and confidence intervals for repeated timings.
public enum Statistics {
    public static func median(_ xs: [Double]) -> Double { quantile(xs, 0.5) }

    /// Linear-interpolated quantile (type 7), q in [0, 1].
    public static func quantile(_ xs: [Double], _ q: Double) -> Double {
        precondition(!xs.isEmpty, "quantile of an empty sample")
        let s = xs.sorted()
        let pos = q * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = Int(pos.rounded(.up))
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    /// Median of the paired ratios a[i]/b[i] with a distribution-free 95% confidence
    /// interval (binomial order statistics of the sorted ratios), robust to the odd
    /// slow repeat a shared machine produces. Below 6 pairs no order statistic reaches 95%,
    /// so the interval is the whole min-max range of the ratios.
    public static func pairedRatioMedianCI(_ a: [Double], _ b: [Double]) -> (ratio: Double, low: Double, high: Double) {
        precondition(a.count == b.count && !a.isEmpty)
        let r = zip(a, b).map { $0 / $1 }.sorted()
        let n = r.count
        let k = Int(((Double(n) - 1.96 * Double(n).squareRoot()) / 2).rounded(.down))  // 1-based rank
        guard k >= 1 else { return (median(r), r[0], r[n - 1]) }
        return (median(r), r[k - 1], r[n - k])
    }
}
