/// Work below the shard: one stage's pass over one shard cut into pieces that never split a
/// sum, so that several workers can share a shard when a step has fewer shards than threads
/// (docs/performance.md, "many cores"). Every output element is written by exactly one piece,
/// with the operations the whole call would use in the same order: the pieces of a split give
/// the bits of the whole call, whatever the split.
public enum StagePiece: Sendable, Equatable {
    /// The whole pass (a stage that does not split, or a budget of one).
    case whole
    /// Images [lo, hi) of the shard: forward, or a backward that is per image (pools, dropout).
    case images(Range<Int>)
    /// The in-place backward of a fused ReLU on images [lo, hi) (before the gradients read dy).
    case reluBackward(Range<Int>)
    /// The input gradient of images [lo, hi).
    case inputGradient(Range<Int>)
    /// The weight gradient's output channels [lo, hi) over the whole shard; the piece that
    /// starts at 0 also writes the bias gradient.
    case weightColumns(Range<Int>)
    /// A dense layer's outputs [lo, hi) for the whole shard (forward): a slice of the weights
    /// each, where an image split would read all of them on every piece.
    case outputColumns(Range<Int>)
    /// A dense layer's input gradient for inputs [lo, hi) over the whole shard.
    case inputColumns(Range<Int>)

    /// n items cut into at most `pieces` contiguous ranges of sizes differing by at most one.
    public static func ranges(_ n: Int, pieces: Int) -> [Range<Int>] {
        let p = max(1, min(pieces, n))
        return (0..<p).map { (n * $0 / p)..<(n * ($0 + 1) / p) }
    }

    /// `channels` output channels in at most `pieces` ranges, each a multiple of `multiple`
    /// channels but the last (whole vectors per piece), none empty.
    public static func channelRanges(_ channels: Int, pieces: Int, multiple: Int) -> [Range<Int>] {
        let p = max(1, min(pieces, (channels + multiple - 1) / multiple))
        let step = ((channels + p - 1) / p + multiple - 1) / multiple * multiple
        return stride(from: 0, to: channels, by: step).map { $0..<min(channels, $0 + step) }
    }
}

/// The split a stage offers: its forward as one phase of pieces, its backward as phases run in
/// order (the pieces of one phase run at once). Stages that do not split take the defaults:
/// one whole piece each way.
public protocol PiecewiseStage: PlanStage {
    /// The forward on a shard of `images` samples, for a budget of `budget` pieces.
    func forwardPieces(images: Int, budget: Int) -> [StagePiece]
    /// The backward's phases; `inputGradient`: whether the stage computes one (not the first).
    func backwardPhases(images: Int, budget: Int, inputGradient: Bool) -> [[StagePiece]]
    func forward(_ c: StageContext, piece: StagePiece)
    func backward(_ c: StageContext, piece: StagePiece)
}

/// A stage that computes each image on its own both ways (pools, dropout): images split.
protocol PerImageStage: PiecewiseStage {
    /// Floats per sample of the stage's input and output (mask bytes: `maskBytesPerSample`).
    var inputFloats: Int { get }
    var outputFloats: Int { get }
}

extension PerImageStage {
    public func forwardPieces(images: Int, budget: Int) -> [StagePiece] {
        StagePiece.ranges(images, pieces: budget).map { .images($0) }
    }
    public func backwardPhases(images: Int, budget: Int, inputGradient: Bool) -> [[StagePiece]] {
        [inputGradient ? StagePiece.ranges(images, pieces: budget).map { .images($0) } : [.whole]]
    }
    public func forward(_ c: StageContext, piece: StagePiece) {
        guard case .images(let r) = piece else { forward(c); return }
        forward(c.images(r, inputFloats: inputFloats, outputFloats: outputFloats, maskBytes: maskBytesPerSample))
    }
    public func backward(_ c: StageContext, piece: StagePiece) {
        guard case .images(let r) = piece else { backward(c); return }
        backward(c.images(r, inputFloats: inputFloats, outputFloats: outputFloats, maskBytes: maskBytesPerSample))
    }
}

extension StageContext {
    /// The context of images [lo, hi) of this shard: every per-sample pointer moved to image lo,
    /// the dropout counter too; parameters, gradients and scratch unchanged.
    func images(_ r: Range<Int>, inputFloats: Int, outputFloats: Int, maskBytes: Int) -> StageContext {
        var c = self
        c.count = r.count
        c.firstSample = firstSample + r.lowerBound
        c.x = x + r.lowerBound * inputFloats
        c.dx = dx.map { $0 + r.lowerBound * inputFloats }
        c.y = y + r.lowerBound * outputFloats
        c.dy = dy + r.lowerBound * outputFloats
        c.mask = mask + r.lowerBound * maskBytes
        return c
    }
}
