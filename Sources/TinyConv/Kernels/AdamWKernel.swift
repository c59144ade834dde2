import CKernels
import Foundation

/// PyTorch's AdamW, one step over a parameter range (C: tc_adamw): decoupled weight decay,
/// then the moments, then the bias-corrected update at step t (counted from 1).
public enum AdamWKernel {
    @inlinable public static func step(count: Int, lr: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
                                       t: Int, weights: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
                                       v: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>) {
        let (bc1, bc2) = corrections(beta1: beta1, beta2: beta2, t: t)
        tc_adamw(count, lr, beta1, beta2, epsilon, weightDecay, bc1, bc2, weights, m, v, gradient)
    }

    /// 1 - beta1^t and sqrt(1 - beta2^t), in double then rounded (as PyTorch computes them).
    @inlinable public static func corrections(beta1: Float, beta2: Float, t: Int) -> (Float, Float) {
        let b1 = 1 - pow(Double(beta1), Double(t)), b2 = 1 - pow(Double(beta2), Double(t))
        return (Float(b1), Float(b2.squareRoot()))
    }
}
