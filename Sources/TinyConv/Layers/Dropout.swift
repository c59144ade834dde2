import CKernels

/// Inverted dropout. The mask of sample s, element e in step t is a pure function of
/// (seed, stream(t, layer), s * features + e), so it is the same whatever shard or
/// thread computes it. Identity at evaluation.
public final class Dropout: Layer {
    public let spec: ResolvedLayer
    public let rate: Float
    let layerIndex: Int

    public init(_ spec: ResolvedLayer, layerIndex: Int) {
        guard case let .dropout(r) = spec.layer else { preconditionFailure("Dropout needs a dropout spec") }
        self.spec = spec
        rate = r
        self.layerIndex = layerIndex
    }

    public func forward(_ c: LayerContext) {
        let features = spec.input.count
        let count = c.count * features
        if !c.training || rate == 0 {
            c.y.update(from: c.x, count: count)
            return
        }
        let stream = c.step &* 64 &+ UInt64(layerIndex)
        tc_dropout_forward(count, rate, c.seed, stream, UInt64(c.firstSample * features), c.x, c.y, c.mask)
    }

    public func backward(_ c: LayerContext) {
        guard let dx = c.dx else { return }
        let count = c.count * spec.input.count
        if rate == 0 { dx.update(from: c.dy, count: count); return }
        tc_dropout_backward(count, rate, c.mask, c.dy, dx)
    }
}
