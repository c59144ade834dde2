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
