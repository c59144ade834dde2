import CKernels

/// One kernel at one layer shape and direction, with its buffers allocated, ready to
/// be timed repeatedly (package-benchmark suite and `bench kernels` share these).
public struct KernelCase: @unchecked Sendable {
    public enum Direction: String, Sendable, CaseIterable { case forward, backwardData = "backward-data", backwardWeights = "backward-weights" }
    public let name: String         // e.g. "custom/conv1 5x5 1->120 forward"
    public let layer: String        // e.g. "custom/conv1"
    public let direction: Direction
    public let flops: Double        // 2 x multiply-adds per call
    public let run: () -> Void

    /// Every conv and dense layer of LeNet-5 and both Custom variants (each distinct
    /// shape once, named after its first model), in all three directions.
    public static func modelLayers(batch: Int) throws -> [KernelCase] {
        var out: [KernelCase] = []
        var seen = Set<String>()
        for (model, text) in ModelZoo.named where model != "regularized-lenet5" {
            for layer in try NetworkSpec.parse(text).resolve() {
                let conv = layer.convShape(batch: batch) ?? layer.denseShape(batch: batch).map {
                    ConvShape(batch: $0.batch, height: 1, width: 1, inChannels: $0.inputs, outChannels: $0.outputs, kernel: 1)
                }
                guard let s = conv else { continue }
                let key = "\(s)"
                if seen.contains(key) { continue }
                seen.insert(key)
                let label = layer.kind == .dense ? "\(s.inChannels)->\(s.outChannels)"
                    : "\(s.kernel)x\(s.kernel) \(s.inChannels)->\(s.outChannels) on \(s.height)x\(s.width)"
                for d in Direction.allCases {
                    if d == .backwardData && s.inChannels == 1 { continue }  // first layer: no input gradient
                    out.append(make(s, direction: d, layer: "\(model)/\(layer.name)", label: label, relu: layer.relu))
                }
            }
        }
        return out
    }

    static func make(_ s: ConvShape, direction: Direction, layer: String, label: String, relu: Bool) -> KernelCase {
        var seed: UInt64 = 7
        func random(_ n: Int) -> FloatBuffer {
            let b = FloatBuffer(count: n)
            for i in 0..<n {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                b[i] = Float(Int64(bitPattern: seed >> 11) % 2000) / 2000 - 0.5
            }
            return b
        }
        let x = random(s.inputCount), w = random(s.weightCount), b = random(s.outChannels)
        let y = random(s.outputCount), dx = FloatBuffer(count: s.inputCount)
        let dw = FloatBuffer(count: s.weightCount), db = FloatBuffer(count: s.outChannels)
        let ws = FloatBuffer(count: s.workspaceFloats)
        let c = s.c
        let run: () -> Void
        switch direction {
        case .forward:
            run = { tc_conv2d_forward(c, x.pointer, w.pointer, b.pointer, y.pointer, relu ? 1 : 0, ws.pointer) }
        case .backwardData:
            run = { tc_conv2d_backward_data(c, y.pointer, w.pointer, dx.pointer, ws.pointer) }
        case .backwardWeights:
            run = { tc_conv2d_backward_weights(c, x.pointer, y.pointer, dw.pointer, db.pointer, 0, ws.pointer) }
        }
        return KernelCase(name: "\(layer) \(label) \(direction.rawValue)", layer: layer, direction: direction,
                          flops: 2 * Double(s.macs), run: run)
    }

    /// Median seconds per call over `repeats` timed runs of `inner` calls each.
    public func time(repeats: Int = 7, minSeconds: Double = 0.02) -> Double {
        run()
        var inner = 1
        while true {
            let t0 = monotonicNanos()
            for _ in 0..<inner { run() }
            let dt = Double(monotonicNanos() - t0) * 1e-9
            if dt >= minSeconds || inner > 1 << 20 { break }
            inner *= 2
        }
        var samples: [Double] = []
        for _ in 0..<repeats {
            let t0 = monotonicNanos()
            for _ in 0..<inner { run() }
            samples.append(Double(monotonicNanos() - t0) * 1e-9 / Double(inner))
        }
        return Statistics.median(samples)
    }
}
