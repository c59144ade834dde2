import CKernels

public enum SoftmaxCrossEntropyKernel {
    /// Summed loss over the rows; dlogits = (p - onehot) * gradScale. Labels must be in range.
    @inlinable public static func forwardBackward(rows n: Int, classes: Int, logits: UnsafePointer<Float>,
                                                  labels: UnsafePointer<Int32>, probabilities: UnsafeMutablePointer<Float>,
                                                  dlogits: UnsafeMutablePointer<Float>?, gradScale: Float) -> Double {
        tc_softmax_xent(Int32(truncatingIfNeeded: n), Int32(truncatingIfNeeded: classes), logits, labels, probabilities,
                        dlogits, gradScale)
    }

    /// Checked form: returns the summed loss over the rows; dlogits = (p - onehot) * gradScale.
    public static func forwardBackward(
        rows n: Int, classes: Int, logits: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Int32>,
        probabilities: UnsafeMutableBufferPointer<Float>, dlogits: UnsafeMutableBufferPointer<Float>?,
        gradScale: Float
    ) throws -> Double {
        let name = "softmax_xent"
        try require(n > 0 && classes > 0, name, "needs positive rows and classes, got \(n)x\(classes)")
        try requireCount(logits.count, n * classes, name, "logits")
        try requireCount(labels.count, n, name, "labels")
        try requireCount(probabilities.count, n * classes, name, "probabilities")
        if let dlogits { try requireCount(dlogits.count, n * classes, name, "dlogits") }
        for i in 0..<n where labels[i] < 0 || Int(labels[i]) >= classes {
            throw KernelArgumentError(kernel: name, message: "label \(labels[i]) at row \(i) is outside 0..<\(classes)")
        }
        return forwardBackward(rows: n, classes: classes, logits: logits.baseAddress!, labels: labels.baseAddress!,
                               probabilities: probabilities.baseAddress!, dlogits: dlogits?.baseAddress, gradScale: gradScale)
    }
}
