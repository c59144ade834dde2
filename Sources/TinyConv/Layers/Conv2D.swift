/// k x k convolution, stride 1, valid or same padding, ReLU fused. Token
/// `convKxKxF[:same|:valid]`. Parameters: weight [k][k][Cin][Cout] (HWIO), bias [Cout].
/// 1x1 convs take the GEMM path inside the kernel. The stage's algorithm (tiles, blocking,
/// variants) comes from the plan.
public struct Conv2D: LayerUnit, Equatable {
    public enum Padding: String, Sendable { case valid, same }
    public let kernel: Int
    public let filters: Int
    public let padding: Padding

    public init(kernel: Int, filters: Int, padding: Padding = .valid) {
        (self.kernel, self.filters, self.padding) = (kernel, filters, padding)
    }

    /// Zero padding on each side.
    public var pad: Int { padding == .same ? (kernel - 1) / 2 : 0 }

    public static let namePrefix = "conv"
    public static let tokenForm = "convKxKxF[:same]"
    public static func parse(_ token: String, at: String) throws -> (any LayerUnit)? {
        guard token.hasPrefix("conv") else { return nil }
        let parts = token.dropFirst(4).split(separator: ":", maxSplits: 1)
        let dims = parts.first.map { $0.split(separator: "x").map { Int($0) } } ?? []
        guard dims.count == 3, let k1 = dims[0], let k2 = dims[1], let f = dims[2] else {
            throw SpecError(message: "\(at): expected convKxKxFILTERS, e.g. conv5x5x6")
        }
        guard k1 == k2 else { throw SpecError(message: "\(at): only square kernels are supported") }
        guard (1...11).contains(k1), (1...4096).contains(f) else {
            throw SpecError(message: "\(at): kernel must be 1...11 and filters 1...4096")
        }
        var padding = Padding.valid
        if parts.count == 2 {
            guard let p = Padding(rawValue: String(parts[1])) else {
                throw SpecError(message: "\(at): padding must be 'same' or 'valid'")
            }
            padding = p
        }
        if padding == .same && k1 % 2 == 0 { throw SpecError(message: "\(at): 'same' padding needs an odd kernel") }
        return Conv2D(kernel: k1, filters: f, padding: padding)
    }
    public var token: String { "conv\(kernel)x\(kernel)x\(filters)" + (padding == .same ? ":same" : "") }

    public var needsSpatialInput: Bool { true }
    public func outputShape(_ input: TensorShape, at: String) throws -> TensorShape {
        let s = ConvShape(batch: 1, height: input.height, width: input.width, inChannels: input.channels, outChannels: filters,
                          kernel: kernel, padding: pad)
        guard s.outHeight > 0, s.outWidth > 0 else { throw SpecError(message: "\(at): the kernel is larger than the input") }
        return TensorShape(s.outHeight, s.outWidth, filters)
    }
    public func fusesReLU(isOutputLayer: Bool) -> Bool { true }
    public func parameters(input: TensorShape, output: TensorShape) -> [ParameterTensor] {
        ParameterTensor.weightAndBias([kernel, kernel, input.channels, filters], fanIn: kernel * kernel * input.channels,
                       fanOut: kernel * kernel * filters, outputs: filters)
    }
    public func macsPerSample(input: TensorShape, output: TensorShape) -> Int {
        output.height * output.width * kernel * kernel * input.channels * filters
    }

    /// The kernel shape of a layer of this kind at a batch size.
    public func shape(_ layer: ResolvedLayer, batch: Int) -> ConvShape {
        ConvShape(batch: batch, height: layer.input.height, width: layer.input.width, inChannels: layer.input.channels,
                  outChannels: filters, kernel: kernel, padding: pad)
    }

    public func kernelShape(_ layer: ResolvedLayer, batch: Int) -> ConvShape? { shape(layer, batch: batch) }

    public func makeStage(_ layer: ResolvedLayer, capacity: Int, decisions: StageDecisions) throws -> any PlanStage {
        LinearStage(layer, kernel: try Conv2DKernel(shape(layer, batch: capacity), algorithm: decisions.algorithm, name: layer.name),
                    decisions: decisions)
    }

    // W: TinyConv HWIO [k][k][Cin][Cout] -> ONNX OIHW [Cout][Cin][k][k]
    public func inferenceOps(_ layer: ResolvedLayer, tensors: [String: [Float]]) -> [InferenceOp] {
        let hwio = tensors["weight"]!, k = kernel, cin = layer.input.channels, cout = filters
        var oihw = [Float](repeating: 0, count: hwio.count)
        for ky in 0..<k { for kx in 0..<k { for ci in 0..<cin { for co in 0..<cout {
            oihw[((co * cin + ci) * k + ky) * k + kx] = hwio[((ky * k + kx) * cin + ci) * cout + co]
        } } } }
        return [InferenceOp("Conv", constants: [.init("\(layer.name).weight", dims: [cout, cin, k, k], values: oihw),
                                                .init("\(layer.name).bias", dims: [cout], values: tensors["bias"]!)],
                            attributes: [.ints("kernel_shape", [k, k]), .ints("strides", [1, 1]), .ints("pads", [pad, pad, pad, pad])])]
            + InferenceOp.relu(layer)
    }

    /// conv + ReLU + 2x2 max pool as one stage (any conv whose output is at least 2x2).
    public func makeFusedStage(_ layer: ResolvedLayer, next: ResolvedLayer, capacity: Int, algorithm: ConvAlgorithm) throws -> (any PlanStage)? {
        let s = shape(layer, batch: capacity)
        guard next.unit is MaxPool, layer.relu, Conv2DMaxPoolKernel.supports(s) else { return nil }
        return ConvMaxPoolStage(conv: layer, pool: next,
                                kernel: try Conv2DMaxPoolKernel(s, algorithm: algorithm, name: "\(layer.name)+\(next.name)"))
    }
}
