/// The minibatch a step runs on: images (the floats a network reads), labels and the sample
/// order, read-only while workers run. Shard s is samples [s * shardSize, min((s+1) * shardSize, count)).
struct BatchInput {
    var images: UnsafePointer<Float>
    var labels: UnsafePointer<UInt8>
    var indices: UnsafePointer<Int32>
    var count: Int
    var shardSize: Int

    var shardCount: Int { (count + shardSize - 1) / shardSize }

    func shard(_ s: Int) -> (first: Int, count: Int) {
        let first = s * shardSize
        return (first, min(shardSize, count - first))
    }

    /// Copies shard s's images into the workspace input and its labels.
    func gather(shard s: Int, into slot: ShardWorkspace, pixels: Int) {
        let (first, n) = shard(s)
        let x = slot.input
        for j in 0..<n {
            let idx = Int(indices[first + j])
            (x + j * pixels).update(from: images + idx * pixels, count: pixels)
            slot.labels[j] = Int32(labels[idx])
        }
    }
}

/// Softmax cross-entropy on a shard's logits, and its correct count.
enum SoftmaxLoss {
    /// Summed loss and correct predictions over the first n rows; when training, the
    /// logit gradient scaled by `gradScale` (1/batch, so shard gradients sum to the mean).
    static func run(_ slot: ShardWorkspace, rows n: Int, classes: Int, training: Bool, gradScale: Float) -> (Double, Int) {
        let logits = slot.logits
        let loss = SoftmaxCrossEntropyKernel.forwardBackward(
            rows: n, classes: classes, logits: logits, labels: slot.labels, probabilities: slot.probabilities.pointer,
            dlogits: training ? slot.logitGradients : nil, gradScale: gradScale)
        var correct = 0
        for j in 0..<n {
            let row = logits + j * classes
            var best = 0
            for c in 1..<classes where row[c] > row[best] { best = c }
            if best == Int(slot.labels[j]) { correct += 1 }
        }
        return (loss, correct)
    }
}
