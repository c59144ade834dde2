/// One layer of a spec with its shapes worked out for a single sample.
public struct ResolvedLayer: Hashable, Sendable {
    public enum Kind: String, Sendable { case conv, pool, dense, dropout }
    public let name: String          // conv1, pool1, fc1, dropout1, ...
    public let layer: NetworkSpec.Layer
    public let input: TensorShape
    public let output: TensorShape
    public let relu: Bool            // ReLU fused after this layer

    public var kind: Kind {
        switch layer {
        case .conv: .conv
        case .maxPool: .pool
        case .dense: .dense
        case .dropout: .dropout
        }
    }
    /// Weights (not biases) and biases of the layer.
    public var weightCount: Int {
        switch layer {
        case let .conv(k, f, _): k * k * input.channels * f
        case let .dense(u): input.count * u
        default: 0
        }
    }
    public var biasCount: Int {
        switch layer {
        case let .conv(_, f, _): f
        case let .dense(u): u
        default: 0
        }
    }
    public var parameterCount: Int { weightCount + biasCount }
    /// Forward multiply-adds per sample (0 for pooling and dropout).
    public var macsPerSample: Int {
        switch layer {
        case .conv: output.height * output.width * weightCount
        case .dense: weightCount
        default: 0
        }
    }
    /// The kernel shape at a given batch size (conv layers only; dense is a 1x1 conv over 1x1).
    public func convShape(batch: Int) -> ConvShape? {
        guard case let .conv(k, f, p) = layer else { return nil }
        return ConvShape(batch: batch, height: input.height, width: input.width, inChannels: input.channels,
                         outChannels: f, kernel: k, padding: p == .same ? (k - 1) / 2 : 0)
    }
    public func denseShape(batch: Int) -> DenseShape? {
        guard case let .dense(u) = layer else { return nil }
        return DenseShape(batch: batch, inputs: input.count, outputs: u)
    }
}

extension NetworkSpec {
    /// Works out every layer's shapes; throws SpecError for an impossible network.
    public func resolve() throws -> [ResolvedLayer] {
        guard !layers.isEmpty else { throw SpecError(message: "no layers") }
        guard case let .dense(units)? = layers.last(where: { if case .dropout = $0 { return false }; return true }),
              units == classes else {
            throw SpecError(message: "the last layer must be fc\(classes) (one logit per class)")
        }
        if case .dropout = layers.last! { throw SpecError(message: "dropout cannot be the last layer") }
        var shape = input
        var counts: [ResolvedLayer.Kind: Int] = [:]
        var out: [ResolvedLayer] = []
        var seenDense = false
        let lastDense = layers.lastIndex { if case .dense = $0 { return true }; return false }!
        for (i, layer) in layers.enumerated() {
            let next: TensorShape
            let at = "layer \(i + 1) (\(layer.token)) on input \(shape)"
            switch layer {
            case let .conv(k, f, p):
                if seenDense { throw SpecError(message: "\(at): a conv cannot follow a dense layer") }
                let pad = p == .same ? (k - 1) / 2 : 0
                let h = shape.height + 2 * pad - k + 1, w = shape.width + 2 * pad - k + 1
                guard h > 0, w > 0 else { throw SpecError(message: "\(at): the kernel is larger than the input") }
                next = TensorShape(h, w, f)
            case .maxPool:
                if seenDense { throw SpecError(message: "\(at): pooling cannot follow a dense layer") }
                guard shape.height >= 2, shape.width >= 2 else {
                    throw SpecError(message: "\(at): 2x2 pooling needs at least a 2x2 input")
                }
                next = TensorShape(shape.height / 2, shape.width / 2, shape.channels)
            case let .dense(u):
                seenDense = true
                next = TensorShape(1, 1, u)
            case .dropout:
                next = shape
            }
            guard next.count <= 1 << 24, shape.count * next.channels <= 1 << 28 else {
                throw SpecError(message: "\(at): layer too large")
            }
            let kind: ResolvedLayer.Kind = {
                switch layer { case .conv: .conv; case .maxPool: .pool; case .dense: .dense; case .dropout: .dropout }
            }()
            counts[kind, default: 0] += 1
            let prefix = kind == .dense ? "fc" : kind.rawValue
            let relu: Bool = {
                switch layer { case .conv: true; case .dense: i != lastDense; default: false }
            }()
            out.append(ResolvedLayer(name: "\(prefix)\(counts[kind]!)", layer: layer, input: shape, output: next, relu: relu))
            shape = next
        }
        return out
    }

    public func parameterCount() throws -> (weights: Int, total: Int) {
        let r = try resolve()
        return (r.reduce(0) { $0 + $1.weightCount }, r.reduce(0) { $0 + $1.parameterCount })
    }
}
