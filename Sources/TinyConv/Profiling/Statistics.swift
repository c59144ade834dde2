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

    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    public static func standardDeviation(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
    }

    /// Two-sided 97.5% Student t quantile for `df` degrees of freedom.
    public static func t975(df: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        if df < 1 { return .infinity }
        if df <= table.count { return table[df - 1] }
        return 1.96 + 2.4 / Double(df)  // close to the exact values beyond 30
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

    /// 95% confidence interval of the ratio of two paired samples, computed on the log
    /// of the per-pair ratios (pairs measured back to back share the machine's noise).
    public static func pairedRatioCI(_ a: [Double], _ b: [Double]) -> (ratio: Double, low: Double, high: Double) {
        precondition(a.count == b.count && !a.isEmpty)
        let logs = zip(a, b).map { log($0 / $1) }
        let m = mean(logs)
        let half = logs.count > 1 ? t975(df: logs.count - 1) * standardDeviation(logs) / Double(logs.count).squareRoot() : .infinity
        return (exp(m), exp(m - half), exp(m + half))
    }
}
