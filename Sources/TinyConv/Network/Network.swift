import CKernels

/// A sequential network built from a spec: its layers, and one flat parameter vector
/// (every layer's weights then biases, in layer order) with its momentum buffer.
/// Flat storage makes the optimizer step, the gradient reduction and checkpoints one loop.
public final class Network: @unchecked Sendable {
    public let spec: NetworkSpec
    public let resolved: [ResolvedLayer]
    public let layers: [any Layer]
    /// Offset of each layer's parameters in `parameters` (weights first, then biases).
    public let parameterOffsets: [Int]
    public let parameters: FloatBuffer
    public let velocity: FloatBuffer
    /// 1 for weights, 0 for biases: L2 applies to weights only (Keras kernel_regularizer).
    public let l2Mask: [Range<Int>]

    public init(spec: NetworkSpec, seed: UInt64) throws {
        self.spec = spec
        resolved = try spec.resolve()
        var layers: [any Layer] = []
        var offsets: [Int] = []
        var offset = 0
        var weightRanges: [Range<Int>] = []
        // A conv (with its ReLU) followed by a max pool: the pool's backward also applies
        // the ReLU's, saving the conv a pass over its output gradient.
        let plan = resolved
        let poolAfterConv = plan.indices.map { i in
            i + 1 < plan.count && plan[i].kind == .conv && plan[i].relu && plan[i + 1].kind == .pool
        }
        for (i, r) in plan.enumerated() {
            switch r.kind {
            case .conv:
                let s = r.convShape(batch: 1)!
                try s.validate()
                layers.append(Conv2D(r, reluBackwardDoneByNext: poolAfterConv[i]))
            case .dense: layers.append(Dense(r))
            case .pool: layers.append(MaxPool(r, fusesReLUBackward: i > 0 && poolAfterConv[i - 1]))
            case .dropout: layers.append(Dropout(r, layerIndex: i))
            }
            offsets.append(offset)
            weightRanges.append(offset..<(offset + r.weightCount))
            offset += r.parameterCount
        }
        self.layers = layers
        parameterOffsets = offsets
        parameters = FloatBuffer(count: offset)
        velocity = FloatBuffer(count: offset)
        l2Mask = weightRanges.filter { !$0.isEmpty }
        initialize(seed: seed)
    }

    public var parameterCount: Int { parameters.count }
    public var weightCount: Int { resolved.reduce(0) { $0 + $1.weightCount } }
    public var inputShape: TensorShape { spec.input }
    public var classes: Int { spec.classes }
    /// Forward multiply-adds per sample.
    public var macsPerSample: Int { resolved.reduce(0) { $0 + $1.macsPerSample } }

    /// Keras defaults: Glorot-uniform weights, limit sqrt(6 / (fan_in + fan_out)) with
    /// fan_in = k*k*Cin, fan_out = k*k*Cout for convs; zero biases. Seeded counter-based
    /// draws (stream = layer index), so the init does not depend on anything but the seed.
    public func initialize(seed: UInt64) {
        parameters.fill(0)
        velocity.fill(0)
        for (i, r) in resolved.enumerated() where r.weightCount > 0 {
            let (fanIn, fanOut): (Int, Int)
            switch r.layer {
            case let .conv(k, f, _): (fanIn, fanOut) = (k * k * r.input.channels, k * k * f)
            default: (fanIn, fanOut) = (r.input.count, r.output.count)
            }
            let limit = (6.0 / Float(fanIn + fanOut)).squareRoot()
            let base = parameters.pointer + parameterOffsets[i]
            for j in 0..<r.weightCount {
                base[j] = (tc_uniform(seed, UInt64(1_000 + i), UInt64(j)) * 2 - 1) * limit
            }
        }
    }

    /// Largest per-sample activation (floats) over the input and every layer output.
    public var largestActivation: Int { resolved.reduce(spec.input.count) { max($0, $1.output.count) } }

    /// A one-line-per-layer summary with parameter counts.
    public func summary() -> String {
        var lines = ["layer      output        weights   biases"]
        for r in resolved {
            let name = r.name.padding(toLength: 10, withPad: " ", startingAt: 0)
            let out = r.output.description.padding(toLength: 12, withPad: " ", startingAt: 0)
            lines.append("\(name) \(out) \(String(r.weightCount).leftPad(8)) \(String(r.biasCount).leftPad(8))")
        }
        lines.append("total: \(weightCount) weights, \(parameterCount) parameters with biases; \(macsPerSample) MACs per image forward")
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
