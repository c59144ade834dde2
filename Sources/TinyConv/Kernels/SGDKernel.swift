import CKernels

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
