import TinyConv

/// The inference operators a layer kind describes (InferenceOp) as ONNX nodes and
/// initializers: the exporter knows no layer kind.
extension ONNXGraphBuilder {
    mutating func append(_ ops: [InferenceOp], layer: String) {
        for op in ops {
            if op.flattenFirst { flattenNHWC(name: layer) }
            for c in op.constants { initializer(c.name, dims: c.dims, values: c.values) }
            apply(op.op, name: layer, extraInputs: op.constants.map(\.name), attributes: op.attributes.map(\.onnx))
        }
    }
}

extension InferenceOp.Attribute {
    var onnx: Onnx_AttributeProto {
        switch self {
        case let .ints(name, values): return .ints(name, values)
        case let .int(name, value): return .int(name, value)
        case let .float(name, value): return .float(name, value)
        }
    }
}

extension InferenceOp {
    /// A BatchNormalization right after a Conv or Gemm folded into that operator's weights and
    /// bias, as inference engines do: with s = scale / sqrt(var + eps) per output channel,
    /// W' = W s and b' = (b - mean) s + shift. (ONNX's operator semantics, not a layer kind.)
    static func foldingBatchNormalization(_ ops: [(layer: String, op: InferenceOp)]) -> [(layer: String, op: InferenceOp)] {
        var out: [(layer: String, op: InferenceOp)] = []
        for (layer, op) in ops {
            guard op.op == "BatchNormalization", let last = out.last, ["Conv", "Gemm"].contains(last.op.op),
                  last.op.constants.count == 2, op.constants.count == 4 else {
                out.append((layer, op))
                continue
            }
            var eps: Float = 1e-5
            for case let .float("epsilon", e) in op.attributes { eps = e }
            let (gamma, beta, mean, variance) = (op.constants[0].values, op.constants[1].values, op.constants[2].values,
                                                 op.constants[3].values)
            let scale = (0..<gamma.count).map { Double(gamma[$0]) / (Double(variance[$0]) + Double(eps)).squareRoot() }
            var folded = last.op
            var w = folded.constants[0], b = folded.constants[1]
            let channels = gamma.count
            if last.op.op == "Conv" {  // OIHW: output channel first
                let per = w.values.count / channels
                for i in w.values.indices { w.values[i] = Float(Double(w.values[i]) * scale[i / per]) }
            } else {  // Gemm weight [in][out]: output channel last
                for i in w.values.indices { w.values[i] = Float(Double(w.values[i]) * scale[i % channels]) }
            }
            for c in 0..<channels { b.values[c] = Float((Double(b.values[c]) - Double(mean[c])) * scale[c] + Double(beta[c])) }
            folded.constants = [w, b]
            out[out.count - 1] = (last.layer, folded)
        }
        return out
    }
}
