import TinyConv

/// How a layer kind appears in an ONNX inference graph. Each kind the specs allow
/// conforms here; a kind without a conformance is reported, never silently skipped.
protocol ONNXLayer {
    /// Appends the layer's nodes and initializers, reading and advancing `g.current`.
    func export(_ layer: ResolvedLayer, weights: [String: [Float]], into g: inout ONNXGraphBuilder) throws
}

extension ONNXLayer {
    /// The ReLU TinyConv fuses after a layer, as its own node.
    func relu(_ layer: ResolvedLayer, into g: inout ONNXGraphBuilder) {
        if layer.relu { g.apply("Relu", name: layer.name) }
    }
}

extension Conv2D: ONNXLayer {
    // W: TinyConv HWIO [k][k][Cin][Cout] -> ONNX OIHW [Cout][Cin][k][k]
    func export(_ layer: ResolvedLayer, weights: [String: [Float]], into g: inout ONNXGraphBuilder) throws {
        let hwio = weights["weight"]!, k = kernel, cin = layer.input.channels, cout = filters
        var oihw = [Float](repeating: 0, count: hwio.count)
        for ky in 0..<k { for kx in 0..<k { for ci in 0..<cin { for co in 0..<cout {
            oihw[((co * cin + ci) * k + ky) * k + kx] = hwio[((ky * k + kx) * cin + ci) * cout + co]
        } } } }
        g.initializer("\(layer.name).weight", dims: [cout, cin, k, k], values: oihw)
        g.initializer("\(layer.name).bias", dims: [cout], values: weights["bias"]!)
        g.apply("Conv", name: layer.name, extraInputs: ["\(layer.name).weight", "\(layer.name).bias"],
                attributes: [.ints("kernel_shape", [k, k]), .ints("strides", [1, 1]), .ints("pads", [pad, pad, pad, pad])])
        relu(layer, into: &g)
    }
}

extension MaxPool: ONNXLayer {
    func export(_ layer: ResolvedLayer, weights: [String: [Float]], into g: inout ONNXGraphBuilder) throws {
        g.apply("MaxPool", name: layer.name, attributes: [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])])
    }
}

extension AvgPool: ONNXLayer {
    func export(_ layer: ResolvedLayer, weights: [String: [Float]], into g: inout ONNXGraphBuilder) throws {
        g.apply("AveragePool", name: layer.name, attributes: [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])])
    }
}

extension Dense: ONNXLayer {
    // Gemm: Y = X [N][in] * W [in][out] + b, W as trained (transB = 0)
    func export(_ layer: ResolvedLayer, weights: [String: [Float]], into g: inout ONNXGraphBuilder) throws {
        g.flattenNHWC(name: layer.name)
        g.initializer("\(layer.name).weight", dims: [layer.input.count, units], values: weights["weight"]!)
        g.initializer("\(layer.name).bias", dims: [units], values: weights["bias"]!)
        g.apply("Gemm", name: layer.name, extraInputs: ["\(layer.name).weight", "\(layer.name).bias"])
        relu(layer, into: &g)
    }
}

extension Dropout: ONNXLayer {
    /// Inference: dropout is the identity, so it adds no node.
    func export(_ layer: ResolvedLayer, weights: [String: [Float]], into g: inout ONNXGraphBuilder) throws {}
}
