/// One plan stage for a conv (with its ReLU) and the 2x2 max pool after it (any conv whose
/// output is at least 2x2). The conv's activation is never stored in the plan's buffers (two
/// rows at a time for Cin = 1 convs, the shard in scratch otherwise); the per-element pool codes live in the
/// stage's mask bytes. Profiled as one stage, labelled with both layers (`conv1+pool1`).
final class ConvMaxPoolStage: PlanStage {
    let label: String
    let layers: ClosedRange<Int>
    let kernel: Conv2DMaxPoolKernel
    let weightCount: Int

    /// conv: the conv layer; the max pool is the layer after it.
    init(conv layer: ResolvedLayer, pool: ResolvedLayer, kernel: Conv2DMaxPoolKernel) {
        (label, layers, self.kernel) = ("\(layer.name)+\(pool.name)", layer.index...pool.index, kernel)
        weightCount = layer.weightCount
    }
    var scratchFloats: Int { kernel.workspaceFloats }
    var maskBytesPerSample: Int { kernel.pooledPerSample }

    // y [n][Ho/2][Wo/2][Cout] = maxpool(relu(conv(x [n][H][W][Cin]) + b)); codes -> c.mask
    func forward(_ c: StageContext) {
        kernel.forward(batch: c.count, x: c.x, weights: c.parameters, bias: c.parameters + weightCount, y: c.y, code: c.mask,
                       workspace: c.scratch)
    }
    func backward(_ c: StageContext) {
        kernel.backward(batch: c.count, x: c.x, weights: c.parameters, code: c.mask, dy: c.dy, dx: c.dx, dw: c.gradients,
                        db: c.gradients + weightCount, accumulate: false, workspace: c.scratch)
    }
}
