import TinyConv
/// Per-layer costs of one model variant, from the profiler of real steps.
/// Times are CPU time per step summed over workers (what the layer costs the machine);
/// rates are per core, so they compare with the single-core peak.
public struct LayerProfileRow: Codable, Sendable, Equatable {
    public var layer: String          // conv1, pool1, ..., loss, gather, optimizer
    public var kind: String
    public var forwardMs: Double
    public var backwardMs: Double
    public var forwardFlops: Double   // per step
    public var backwardFlops: Double
    public var forwardGflops: Double  // per core
    public var backwardGflops: Double
    public var forwardPercentOfPeak: Double
    public var backwardPercentOfPeak: Double
    public var shareOfStep: Double    // of the summed CPU time of all rows
}

public enum LayerFlops {
    /// FLOPs per step of layer i at batch n (`ResolvedLayer.flopsPerSample` times n).
    public static func perStep(_ network: Network, layer i: Int, batch n: Int) -> (forward: Double, backward: Double) {
        let f = network.resolved[i].flopsPerSample
        return (f.forward * Double(n), f.backward * Double(n))
    }

    public static func trainingStep(_ network: Network, batch n: Int) -> Double {
        network.resolved.indices.reduce(0) { let f = perStep(network, layer: $1, batch: n); return $0 + f.forward + f.backward }
    }
    public static func inference(_ network: Network, batch n: Int) -> Double {
        network.resolved.indices.reduce(0) { $0 + perStep(network, layer: $1, batch: n).forward }
    }
}

extension StepProfiler {
    /// Rows for every plan stage (a layer, or a fused stage labelled with its layers)
    /// plus loss, gather and optimizer, over `steps` profiled steps.
    public func rows(plan: ExecutionPlan, batch: Int, steps: Int, singleCorePeakGflops peak: Double) -> [LayerProfileRow] {
        func ms(_ slot: Slot) -> Double { Double(self.total(slot)) / 1e6 / Double(max(steps, 1)) }
        var rows: [LayerProfileRow] = []
        for (i, stage) in plan.stages.enumerated() {
            let perSample = plan.flopsPerSample(stage: i)
            let f = (forward: perSample.forward * Double(batch), backward: perSample.backward * Double(batch))
            let fm = ms(.forward(i)), bm = ms(.backward(i))
            let fg = fm > 0 ? f.forward / (fm * 1e-3) / 1e9 : 0, bg = bm > 0 ? f.backward / (bm * 1e-3) / 1e9 : 0
            rows.append(LayerProfileRow(layer: stage.label, kind: plan.kind(stage: i), forwardMs: fm, backwardMs: bm,
                                        forwardFlops: f.forward, backwardFlops: f.backward, forwardGflops: fg, backwardGflops: bg,
                                        forwardPercentOfPeak: 100 * fg / peak, backwardPercentOfPeak: 100 * bg / peak, shareOfStep: 0))
        }
        // the exchange row only in a distributed run (the time another process's data took to arrive)
        let exchange: [(String, Slot)] = total(.exchange) > 0 ? [("exchange", .exchange)] : []
        for (name, slot) in [("loss", Slot.loss), ("gather", .gather), ("optimizer", .optimizer)] + exchange {
            rows.append(LayerProfileRow(layer: name, kind: name, forwardMs: ms(slot), backwardMs: 0, forwardFlops: 0, backwardFlops: 0,
                                        forwardGflops: 0, backwardGflops: 0, forwardPercentOfPeak: 0, backwardPercentOfPeak: 0,
                                        shareOfStep: 0))
        }
        let total = rows.reduce(0) { $0 + $1.forwardMs + $1.backwardMs }
        for i in rows.indices { rows[i].shareOfStep = total > 0 ? (rows[i].forwardMs + rows[i].backwardMs) / total : 0 }
        return rows
    }
}
