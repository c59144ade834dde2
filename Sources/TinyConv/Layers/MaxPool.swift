import CKernels

/// Max pooling 2x2, stride 2 (odd trailing rows/columns dropped).
public final class MaxPool: Layer {
    public let spec: ResolvedLayer
    /// The layer before is a conv whose ReLU backward this layer applies (one pass fewer
    /// over the conv's output gradient; the conv then skips it).
    public let fusesReLUBackward: Bool
    public init(_ spec: ResolvedLayer, fusesReLUBackward: Bool = false) {
        self.spec = spec
        self.fusesReLUBackward = fusesReLUBackward
    }

    // y [n][H/2][W/2][C] = max over each 2x2 window of x [n][H][W][C]
    public func forward(_ c: LayerContext) {
        tc_maxpool2x2_forward(Int32(c.count), Int32(spec.input.height), Int32(spec.input.width),
                              Int32(spec.input.channels), c.x, c.y)
    }

    public func backward(_ c: LayerContext) {
        guard let dx = c.dx else { return }
        tc_maxpool2x2_backward(Int32(c.count), Int32(spec.input.height), Int32(spec.input.width),
                               Int32(spec.input.channels), c.x, c.y, c.dy, dx, fusesReLUBackward ? 1 : 0)
    }
}
