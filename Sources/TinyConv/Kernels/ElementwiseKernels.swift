import CKernels

/// Max pool 2x2 stride 2 (floor) over NHWC: [n][h][w][c] -> [n][h/2][w/2][c].
public enum MaxPoolKernel {
    static func check(_ name: String, _ n: Int, _ h: Int, _ w: Int, _ c: Int) throws {
        try require(n > 0 && h >= 2 && w >= 2 && c > 0, name,
                    "needs a positive batch and channels and at least 2x2 input, got \(n)x\(h)x\(w)x\(c)")
    }
    public static func forward(batch n: Int, height h: Int, width w: Int, channels c: Int,
                               x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        try check("maxpool_forward", n, h, w, c)
        try requireCount(x.count, n * h * w * c, "maxpool_forward", "x")
        try requireCount(y.count, n * (h / 2) * (w / 2) * c, "maxpool_forward", "y")
        tc_maxpool2x2_forward(Int32(n), Int32(h), Int32(w), Int32(c), x.baseAddress, y.baseAddress)
    }
    public static func backward(batch n: Int, height h: Int, width w: Int, channels c: Int,
                                x: UnsafeBufferPointer<Float>, y: UnsafeBufferPointer<Float>,
                                dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
                                reluMask: Bool = false) throws {
        try check("maxpool_backward", n, h, w, c)
        let outCount = n * (h / 2) * (w / 2) * c
        try requireCount(x.count, n * h * w * c, "maxpool_backward", "x")
        try requireCount(y.count, outCount, "maxpool_backward", "y")
        try requireCount(dy.count, outCount, "maxpool_backward", "dy")
        try requireCount(dx.count, n * h * w * c, "maxpool_backward", "dx")
        tc_maxpool2x2_backward(Int32(n), Int32(h), Int32(w), Int32(c), x.baseAddress, y.baseAddress,
                               dy.baseAddress, dx.baseAddress, reluMask ? 1 : 0)
    }
}

public enum ReLUKernel {
    public static func forward(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) throws {
        try requireCount(y.count, x.count, "relu_forward", "y")
        tc_relu_forward(x.count, x.baseAddress, y.baseAddress)
    }
    /// dx = dy where y > 0; dx may be dy itself.
    public static func backward(y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>) throws {
        try requireCount(dy.count, y.count, "relu_backward", "dy")
        try requireCount(dx.count, y.count, "relu_backward", "dx")
        tc_relu_backward(y.count, y.baseAddress, dy.baseAddress, dx.baseAddress)
    }
}

/// Inverted dropout with a counter-based mask: element i of a stream is kept iff
/// uniform(seed, stream, first + i) >= rate, whatever thread computes it.
public enum DropoutKernel {
    public static func forward(rate: Float, seed: UInt64, stream: UInt64, first: UInt64,
                               x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                               mask: UnsafeMutableBufferPointer<UInt8>) throws {
        try require(rate >= 0 && rate < 1, "dropout_forward", "rate \(rate) must be in [0, 1)")
        try requireCount(y.count, x.count, "dropout_forward", "y")
        try requireCount(mask.count, x.count, "dropout_forward", "mask")
        tc_dropout_forward(x.count, rate, seed, stream, first, x.baseAddress, y.baseAddress, mask.baseAddress)
    }
    public static func backward(rate: Float, mask: UnsafeBufferPointer<UInt8>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>) throws {
        try require(rate >= 0 && rate < 1, "dropout_backward", "rate \(rate) must be in [0, 1)")
        try requireCount(mask.count, dy.count, "dropout_backward", "mask")
        try requireCount(dx.count, dy.count, "dropout_backward", "dx")
        tc_dropout_backward(dy.count, rate, mask.baseAddress, dy.baseAddress, dx.baseAddress)
    }
}

public enum SoftmaxCrossEntropyKernel {
    /// Returns the summed loss over the rows; dlogits = (p - onehot) * gradScale.
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
        return tc_softmax_xent(Int32(n), Int32(classes), logits.baseAddress, labels.baseAddress,
                               probabilities.baseAddress, dlogits?.baseAddress, gradScale)
    }
}

/// Keras SGD with momentum and l2(lambda): v = m*v - lr*(g + 2*lambda*w); w += v.
public enum SGDKernel {
    public static func step(lr: Float, momentum: Float, l2: Float, weights: UnsafeMutableBufferPointer<Float>,
                            velocity: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) throws {
        try requireCount(velocity.count, weights.count, "sgd_momentum", "velocity")
        try requireCount(gradient.count, weights.count, "sgd_momentum", "gradient")
        tc_sgd_momentum(weights.count, lr, momentum, l2, weights.baseAddress, velocity.baseAddress,
                        gradient.baseAddress)
    }
}
