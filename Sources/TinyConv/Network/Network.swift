import CKernels

/// A sequential network built from a spec: its resolved layers, and one flat parameter
/// vector (every layer's tensors in layer order, weights before biases) with the optimizer's
/// state buffers (momentum, or AdamW's two moments). Flat storage makes the optimizer step, the gradient reduction and checkpoints
/// one loop. The kernels that run it belong to an `ExecutionPlan`.
public final class Network: @unchecked Sendable {
    /// One parameter tensor placed in the flat vector.
    public struct PlacedTensor: Sendable {
        public let layer: ResolvedLayer
        public let tensor: ParameterTensor
        public let offset: Int
        /// Checkpoint / export name, e.g. conv1.weight.
        public var name: String { "\(layer.name).\(tensor.name)" }
        public var range: Range<Int> { offset..<(offset + tensor.count) }
    }

    public let spec: NetworkSpec
    public let resolved: [ResolvedLayer]
    /// Offset of each layer's parameters in `parameters`.
    public let parameterOffsets: [Int]
    /// Every parameter tensor in storage order.
    public let tensors: [PlacedTensor]
    public let parameters: FloatBuffer
    /// SGD's momentum buffer, or AdamW's first moment m.
    public let velocity: FloatBuffer
    /// AdamW's second moment v (unused by SGD).
    public let secondMoment: FloatBuffer

    public init(spec: NetworkSpec, seed: UInt64) throws {
        self.spec = spec
        resolved = try spec.resolve()
        var offsets: [Int] = []
        var tensors: [PlacedTensor] = []
        var offset = 0
        for r in resolved {
            offsets.append(offset)
            for t in r.parameters {
                tensors.append(PlacedTensor(layer: r, tensor: t, offset: offset))
                offset += t.count
            }
        }
        parameterOffsets = offsets
        self.tensors = tensors
        parameters = FloatBuffer(count: offset)
        velocity = FloatBuffer(count: offset)
        secondMoment = FloatBuffer(count: offset)
        initialize(seed: seed)
    }

    public var parameterCount: Int { parameters.count }
    public var weightCount: Int { resolved.reduce(0) { $0 + $1.weightCount } }
    public var inputShape: TensorShape { spec.input }
    public var classes: Int { spec.classes }
    /// Forward multiply-adds per sample.
    public var macsPerSample: Int { resolved.reduce(0) { $0 + $1.macsPerSample } }

    /// Each tensor as its layer kind says (Keras defaults: Glorot-uniform weights, zero
    /// biases). Seeded counter-based draws (stream = 1000 + layer index, counter = element),
    /// so the init depends on nothing but the seed.
    public func initialize(seed: UInt64) {
        parameters.fill(0)
        velocity.fill(0)
        secondMoment.fill(0)
        for t in tensors {
            if case .ones = t.tensor.initializer { (parameters.pointer + t.offset).update(repeating: 1, count: t.tensor.count) }
            guard case let .glorotUniform(fanIn, fanOut) = t.tensor.initializer else { continue }
            let limit = (6.0 / Float(fanIn + fanOut)).squareRoot()
            let base = parameters.pointer + t.offset
            for j in 0..<t.tensor.count {
                base[j] = (tc_uniform(seed, UInt64(1_000 + t.layer.index), UInt64(j)) * 2 - 1) * limit
            }
        }
    }

    /// The first weight, bias or momentum tensor holding a NaN or infinity, named.
    public var firstNonFiniteParameter: String? {
        for t in tensors {
            for (buffer, suffix) in [(parameters, ""), (velocity, ".momentum"), (secondMoment, ".second")] {
                let values = UnsafeBufferPointer(start: buffer.pointer + t.offset, count: t.tensor.count)
                if let i = values.firstIndex(where: { !$0.isFinite }) { return "\(t.name)\(suffix)[\(i)]" }
            }
        }
        return nil
    }

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
