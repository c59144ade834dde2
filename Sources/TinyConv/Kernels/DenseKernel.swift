import CKernels

/// Shape of a fully connected layer: x [batch][inputs] * w [inputs][outputs] + b -> y [batch][outputs].
public struct DenseShape: Hashable, Sendable {
    public var batch, inputs, outputs: Int
    public init(batch: Int, inputs: Int, outputs: Int) {
        (self.batch, self.inputs, self.outputs) = (batch, inputs, outputs)
    }
    public var weightCount: Int { inputs * outputs }
    public var macs: Int { batch * inputs * outputs }
    public var workspaceFloats: Int { Int(tc_dense_workspace_floats(Int32(batch), Int32(inputs), Int32(outputs))) }

    public func validate(_ kernel: String = "dense") throws {
        try require(batch > 0 && inputs > 0 && outputs > 0, kernel,
                    "every dimension must be positive, got batch \(batch), \(inputs) -> \(outputs)")
        try require([batch, inputs, outputs].allSatisfy { $0 < Int(Int32.max) }, kernel, "dimensions too large")
    }
}

/// Shape-checked entry points to the C dense kernels.
public enum DenseKernel {
    public static func forward(
        _ s: DenseShape, x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        bias b: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>, relu: Bool,
        workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "dense_forward"
        try s.validate(name)
        try requireCount(x.count, s.batch * s.inputs, name, "x")
        try requireCount(w.count, s.weightCount, name, "weights")
        if let b { try requireCount(b.count, s.outputs, name, "bias") }
        try requireCount(y.count, s.batch * s.outputs, name, "y")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        tc_dense_forward(Int32(s.batch), Int32(s.inputs), Int32(s.outputs), x.baseAddress, w.baseAddress,
                         b?.baseAddress, y.baseAddress, relu ? 1 : 0, workspace.baseAddress)
    }

    public static func backwardData(
        _ s: DenseShape, dy: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>,
        dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "dense_backward_data"
        try s.validate(name)
        try requireCount(dy.count, s.batch * s.outputs, name, "dy")
        try requireCount(w.count, s.weightCount, name, "weights")
        try requireCount(dx.count, s.batch * s.inputs, name, "dx")
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        tc_dense_backward_data(Int32(s.batch), Int32(s.inputs), Int32(s.outputs), dy.baseAddress,
                               w.baseAddress, dx.baseAddress, workspace.baseAddress)
    }

    public static func backwardWeights(
        _ s: DenseShape, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
        dw: UnsafeMutableBufferPointer<Float>, db: UnsafeMutableBufferPointer<Float>?,
        accumulate: Bool, workspace: UnsafeMutableBufferPointer<Float>
    ) throws {
        let name = "dense_backward_weights"
        try s.validate(name)
        try requireCount(x.count, s.batch * s.inputs, name, "x")
        try requireCount(dy.count, s.batch * s.outputs, name, "dy")
        try requireCount(dw.count, s.weightCount, name, "dw")
        if let db { try requireCount(db.count, s.outputs, name, "db") }
        try requireCount(workspace.count, s.workspaceFloats, name, "workspace")
        tc_dense_backward_weights(Int32(s.batch), Int32(s.inputs), Int32(s.outputs), x.baseAddress,
                                  dy.baseAddress, dw.baseAddress, db?.baseAddress, accumulate ? 1 : 0,
                                  workspace.baseAddress)
    }
}
