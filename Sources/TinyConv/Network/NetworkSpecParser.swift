import Foundation

/// A spec string that does not describe a valid network.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { "model spec: \(message)" }
}

extension NetworkSpec {
    /// Limits that keep a spec from asking for more than a CPU engine can build or train
    /// (docs/model-spec.md): layers per network, floats per activation, per layer.
    public static let maxLayers = 256
    public static let maxActivationFloats = 1 << 24
    public static let maxLayerProduct = 1 << 28
    public static let maxParameters = 1 << 26

    /// Parses `conv5x5x6:same,pool,conv5x5x16,pool,fc120,dropout0.3,fc84,fc10,l2:0.001`:
    /// one token per layer (each kind in `LayerRegistry` parses its own), plus `l2:LAMBDA`.
    /// The network is checked against its input shape and class count (MNIST's by default).
    public static func parse(_ text: String, input: TensorShape = TensorShape(28, 28, 1), classes: Int = 10) throws -> NetworkSpec {
        var layers: [any LayerUnit] = []
        var l2: Float = 0
        var l2Token: String? = nil
        let tokens = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard tokens.count <= maxLayers + 1 else {
            throw SpecError(message: "\(tokens.count) tokens: a network has at most \(maxLayers) layers")
        }
        for (i, token) in tokens.enumerated() {
            let at = "token \(i + 1) '\(token)'"
            if token.isEmpty { throw SpecError(message: "\(at) is empty") }
            if token.hasPrefix("l2:") {
                if let first = l2Token { throw SpecError(message: "\(at): two l2: tokens (\(first) already sets the penalty)") }
                guard let v = Float(token.dropFirst(3)), v >= 0, v.isFinite else {
                    throw SpecError(message: "\(at): expected l2:LAMBDA with LAMBDA >= 0")
                }
                l2 = v
                l2Token = token
            } else {
                layers.append(try LayerRegistry.parse(token, at: at))
            }
        }
        let spec = NetworkSpec(layers: layers, l2: l2, input: input, classes: classes)
        _ = try spec.resolve()
        return spec
    }

    /// Works out every layer's shapes, names and parameters; throws SpecError for an
    /// impossible network.
    public func resolve() throws -> [ResolvedLayer] {
        guard !layers.isEmpty else { throw SpecError(message: "no layers") }
        guard layers.count <= Self.maxLayers else {
            throw SpecError(message: "\(layers.count) layers: a network has at most \(Self.maxLayers)")
        }
        if layers.last is Dropout { throw SpecError(message: "dropout cannot be the last layer") }
        // The output layer: the last one that is not dropout must be one logit per class.
        guard let output = layers.lastIndex(where: { !($0 is Dropout) }), (layers[output] as? Dense)?.units == classes else {
            throw SpecError(message: "the last layer must be fc\(classes) (one logit per class)")
        }
        var shape = input
        var counts: [String: Int] = [:]
        var out: [ResolvedLayer] = []
        var seenDense = false
        for (i, unit) in layers.enumerated() {
            let at = "layer \(i + 1) (\(unit.token)) on input \(shape)"
            if unit.needsSpatialInput && seenDense {
                throw SpecError(message: "\(at): a \(type(of: unit).namePrefix) cannot follow a dense layer")
            }
            if unit is Dense { seenDense = true }
            let next = try unit.outputShape(shape, at: at)
            guard next.count <= Self.maxActivationFloats, shape.count * next.channels <= Self.maxLayerProduct else {
                throw SpecError(message: "\(at): layer too large")
            }
            let prefix = type(of: unit).namePrefix
            counts[prefix, default: 0] += 1
            if unit.takesPreviousReLU && !(i > 0 && (layers[i - 1] is Conv2D || layers[i - 1] is Dense)) {
                throw SpecError(message: "\(at): \(unit.token) must follow a conv or dense layer")
            }
            // A layer followed by one that takes its ReLU (batch norm) hands it over.
            let nextTakes = i + 1 < layers.count && layers[i + 1].takesPreviousReLU
            let relu = unit.takesPreviousReLU ? layers[i - 1].fusesReLU(isOutputLayer: i - 1 == output)
                : unit.fusesReLU(isOutputLayer: i == output) && !nextTakes
            // Its bias is frozen at zero: the normalization subtracts the channel mean, so the bias
            // has no effect and a zero true gradient (only rounding noise, which AdamW would turn
            // into steps of about lr); PyTorch nets write such a layer with bias=False.
            let parameters = unit.parameters(input: shape, output: next).map {
                nextTakes && $0.name == "bias" ? $0.frozen : $0
            }
            out.append(ResolvedLayer(index: i, name: "\(prefix)\(counts[prefix]!)", unit: unit, input: shape, output: next,
                                     relu: relu, parameters: parameters))
            shape = next
        }
        let parameters = out.reduce(0) { $0 + $1.parameterCount }
        guard parameters <= Self.maxParameters else {
            throw SpecError(message: "\(parameters) parameters: a network has at most \(Self.maxParameters)")
        }
        return out
    }

    public func parameterCount() throws -> (weights: Int, total: Int) {
        let r = try resolve()
        return (r.reduce(0) { $0 + $1.weightCount }, r.reduce(0) { $0 + $1.parameterCount })
    }
}
