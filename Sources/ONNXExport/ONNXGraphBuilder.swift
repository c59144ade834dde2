import Foundation
import TinyConv

/// Builds an ONNX inference graph node by node. Tracks the layout of the tensor flowing
/// through it: images enter as N x C x H x W (ONNX's convention) and stay NCHW through
/// convs and pools; the first dense layer makes TinyConv's NHWC flatten explicit
/// (Transpose to N x H x W x C, then Flatten), so dense weights are used as trained.
struct ONNXGraphBuilder {
    var graph = Onnx_GraphProto()
    /// The tensor the next layer reads, and whether it is still an N x C x H x W image.
    var current: String
    var isImage = true
    private var counter = 0

    init(name: String, input: String) {
        graph.name = name
        current = input
    }

    /// A fresh, readable tensor name: "<base>" then "<base>_2", ...
    mutating func name(_ base: String) -> String {
        counter += 1
        return "\(base)_\(counter)"
    }

    mutating func initializer(_ name: String, dims: [Int], values: [Float]) {
        precondition(dims.reduce(1, *) == values.count, "initializer \(name): shape \(dims) holds \(values.count) values")
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        // raw_data is little-endian float32, as the ONNX spec fixes
        var raw = [UInt8]()
        raw.reserveCapacity(4 * values.count)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        t.rawData = Data(raw)
        graph.initializer.append(t)
    }

    /// Appends a node reading `inputs` and writing one new tensor; returns its name.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], output: String? = nil, name: String,
                       attributes: [Onnx_AttributeProto] = []) -> String {
        let out = output ?? self.name("\(name)_\(op.lowercased())")
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = "\(name)/\(op)"
        n.input = inputs
        n.output = [out]
        n.attribute = attributes
        graph.node.append(n)
        return out
    }

    /// Runs `op` on the current tensor and makes its output current.
    mutating func apply(_ op: String, name: String, extraInputs: [String] = [], attributes: [Onnx_AttributeProto] = []) {
        current = node(op, [current] + extraInputs, name: name, attributes: attributes)
    }

    /// Makes the current tensor a flat N x features matrix in TinyConv's NHWC order.
    mutating func flattenNHWC(name: String) {
        guard isImage else { return }
        apply("Transpose", name: name, attributes: [.ints("perm", [0, 2, 3, 1])])
        apply("Flatten", name: name, attributes: [.int("axis", 1)])
        isImage = false
    }
}

extension Onnx_AttributeProto {
    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }
    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }
}

extension Onnx_ValueInfoProto {
    /// A float tensor with a symbolic batch dimension: [N, dims...].
    static func floatTensor(_ name: String, batched dims: [Int]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        var n = Onnx_TensorShapeProto.Dimension()
        n.dimParam = "N"
        shape.dim = [n] + dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type = type
        return v
    }
}
