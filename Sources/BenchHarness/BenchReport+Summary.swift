import TinyConv
import Foundation

extension BenchReport {
    /// Summarizes a finished StepBenchmark: step-time statistics, rates against the
    /// measured peaks, per-layer profiles, and each variant compared with the first.
    /// profiledSamplesPerStep: the samples this process computed per step when it ran only
    /// its share (an MPI rank): its per-layer FLOPs are those samples', not the whole batch's.
    public init(_ b: StepBenchmark, machine: MachineInfo, singleCorePeak peak1: Double, machinePeak peakN: Double,
                profiledSamplesPerStep: Int? = nil) {
        let o = b.options
        var variants: [VariantResult] = []
        for (i, v) in b.variants.enumerated() {
            let flops = o.inference ? LayerFlops.inference(v.network, batch: o.batchSize) : LayerFlops.trainingStep(v.network, batch: o.batchSize)
            let s = Summary(b.stepSeconds[i])
            let gflops = flops / s.median / 1e9
            let profiled = b.profiledStepSeconds.isEmpty ? nil : Statistics.median(b.profiledStepSeconds[i])
            let rows = b.profilers.isEmpty ? [] : b.profilers[i].rows(plan: v.plan, batch: profiledSamplesPerStep ?? o.batchSize,
                                                                       steps: b.profiledSteps, singleCorePeakGflops: peak1)
            variants.append(VariantResult(
                name: v.name, spec: v.network.spec.description, parameters: v.network.parameterCount, flopsPerStep: flops,
                stepSeconds: s, gflops: gflops, percentOfMachinePeak: 100 * gflops / peakN, profiledStepSeconds: profiled,
                profilingOverheadPercent: b.profiledStepSeconds.isEmpty ? nil
                    : 100 * (Statistics.pairedRatioMedianCI(b.profiledStepSeconds[i], b.stepSeconds[i]).ratio - 1),
                layers: rows, plan: v.plan.records))
        }
        var comparisons: [Comparison] = []
        var noisy = false
        for i in b.variants.indices.dropFirst() {
            let ci = Statistics.pairedRatioMedianCI(b.stepSeconds[i], b.stepSeconds[0])
            let c = Comparison(baseline: variants[0].name, other: variants[i].name, ratio: ci.ratio, low: ci.low, high: ci.high)
            if c.halfWidth > 0.03 { noisy = true }
            comparisons.append(c)
        }
        self.init(machine: machine, mode: o.inference ? "inference" : "training", batchSize: o.batchSize, threads: o.threads,
                  scheduler: o.scheduler.rawValue, shardSize: o.shardSize, repeats: o.repeats, stepsPerRepeat: o.stepsPerRepeat,
                  singleCorePeakGflops: peak1, machinePeakGflops: peakN, variants: variants, comparisons: comparisons, noisy: noisy)
        fusedStages = o.fuseLayers
    }
}

extension BenchReport.Comparison {
    public init(baseline: String, other: String, ratio: Double, low: Double, high: Double) {
        let pct = { (x: Double) in String(format: "%+.1f%%", 100 * (x - 1)) }
        let range = "\(pct(ratio)) step time (95% CI \(pct(low)) to \(pct(high)))"
        let verdict: String
        if low > 1 { verdict = "\(other) is slower than \(baseline): \(range)" }
        else if high < 1 { verdict = "\(other) is faster than \(baseline): \(range)" }
        else { verdict = "no significant difference between \(other) and \(baseline): \(range)" }
        self.init(baseline: baseline, other: other, ratio: ratio, low: low, high: high, verdict: verdict)
    }
    /// Larger relative distance from the ratio to either end of the interval.
    public var halfWidth: Double { max(high / ratio - 1, 1 - low / ratio) }
}
