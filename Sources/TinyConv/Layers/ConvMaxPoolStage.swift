/// One plan stage for a conv (with its ReLU) and the 2x2 max pool after it (any conv whose
/// output is at least 2x2). The conv's activation is never stored in the plan's buffers (two
/// rows at a time for Cin = 1 convs, the shard in scratch otherwise); the per-element pool codes live in the
/// stage's mask bytes. Profiled as one stage, labelled with both layers (`conv1+pool1`).
final class ConvMaxPoolStage: PiecewiseStage {
    let label: String
    let layers: ClosedRange<Int>
    let kernel: Conv2DMaxPoolKernel
    let weightCount, inputFloats, outputFloats: Int

    /// conv: the conv layer; the max pool is the layer after it.
    init(conv layer: ResolvedLayer, pool: ResolvedLayer, kernel: Conv2DMaxPoolKernel) {
        (label, layers, self.kernel) = ("\(layer.name)+\(pool.name)", layer.index...pool.index, kernel)
        weightCount = layer.weightCount
        (inputFloats, outputFloats) = (layer.input.count, pool.output.count)
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

    // Pieces: the forward by images (each image's conv, ReLU and pool are its own); the backward
    // whole (the pool codes give the conv's gradient that both parameter and input gradients read:
    // cutting it would redo that per piece). Many-core plans run conv and pool apart instead.
    func forwardPieces(images: Int, budget: Int) -> [StagePiece] {
        StagePiece.ranges(images, pieces: budget).map { .images($0) }
    }
    func backwardPhases(images: Int, budget: Int, inputGradient: Bool) -> [[StagePiece]] { [[.whole]] }
    func forward(_ c: StageContext, piece: StagePiece) {
        guard case .images(let r) = piece else { forward(c); return }
        forward(c.images(r, inputFloats: inputFloats, outputFloats: outputFloats, maskBytes: maskBytesPerSample))
    }
    func backward(_ c: StageContext, piece: StagePiece) { backward(c) }
}
