extension MinibatchScheduler {
    /// Forward passes over a whole data set (no dropout): summed loss and correct count.
    /// Runs the training code path with training = false, in chunks of maxBatch samples,
    /// on Dispatch workers whatever the training backend. With `logits` (data.count x
    /// classes floats), every sample's logits are written there too. `shouldStop` is asked
    /// between chunks: nil when it said stop (a signal during evaluation).
    public func evaluate(_ data: Dataset, logits: UnsafeMutablePointer<Float>? = nil,
                         shouldStop: () -> Bool = { false }) -> (lossSum: Double, correct: Int)? {
        guard data.count > 0 else { return (0, 0) }
        let savedProfiler = profiler
        profiler = nil
        defer { profiler = savedProfiler; logitsSink = nil }
        let order = (0..<Int32(data.count)).map { $0 }
        var lossSum = 0.0, correct = 0, stopped = false
        data.images.withUnsafeBufferPointer { img in
            data.labels.withUnsafeBufferPointer { lab in
                order.withUnsafeBufferPointer { idx in
                    for start in stride(from: 0, to: data.count, by: maxBatch) {
                        if shouldStop() { stopped = true; return }
                        logitsSink = logits.map { $0 + start * network.classes }
                        let r = forwardOnly(images: img.baseAddress!, labels: lab.baseAddress!, indices: idx.baseAddress! + start,
                                            count: min(maxBatch, data.count - start))
                        lossSum += r.lossSum
                        correct += r.correct
                    }
                }
            }
        }
        return stopped ? nil : (lossSum, correct)
    }
}
