import CKernels

/// Shape of a stride-1 k x k convolution over an NHWC batch.
/// x: [batch][height][width][inChannels], w: [k][k][inChannels][outChannels],
/// y: [batch][outHeight][outWidth][outChannels].
public struct ConvShape: Hashable, Sendable, CustomStringConvertible {
    public var batch, height, width, inChannels, outChannels, kernel, padding: Int

    public init(batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int,
                kernel: Int, padding: Int = 0) {
        (self.batch, self.height, self.width) = (batch, height, width)
        (self.inChannels, self.outChannels, self.kernel, self.padding) = (inChannels, outChannels, kernel, padding)
    }

    public var outHeight: Int { Int(tc_conv_out_h(c)) }  // the C kernels' rule (its one home)
    public var outWidth: Int { Int(tc_conv_out_w(c)) }
    public var inputCount: Int { batch * height * width * inChannels }
    public var outputCount: Int { batch * outHeight * outWidth * outChannels }
    public var weightCount: Int { kernel * kernel * inChannels * outChannels }
    /// Multiply-adds of one forward pass (each direction of backward costs the same).
    public var macs: Int { batch * outHeight * outWidth * weightCount }
    public var description: String {
        "\(kernel)x\(kernel) conv \(batch)x\(height)x\(width)x\(inChannels) -> \(outChannels) pad \(padding)"
    }

    /// Scratch floats any of the three conv kernels needs for this shape under the shape rules.
    public var workspaceFloats: Int { workspaceFloats(.rule) }
    /// The same under an algorithm choice.
    public func workspaceFloats(_ algorithm: ConvAlgorithm) -> Int {
        withUnsafePointer(to: algorithm.c) { Int(tc_conv2d_workspace_floats(c, $0)) }
    }

    var c: tc_conv_shape {
        tc_conv_shape(n: Int32(batch), h: Int32(height), w: Int32(width), cin: Int32(inChannels),
                      cout: Int32(outChannels), k: Int32(kernel), pad: Int32(padding))
    }

    /// Throws unless every dimension is positive, the output is non-empty and the
    /// sizes fit the kernels' 32-bit dimensions.
    public func validate(_ kernel: String = "conv2d") throws {
        let dims = [batch, height, width, inChannels, outChannels, self.kernel]
        try require(dims.allSatisfy { $0 > 0 }, kernel, "every dimension must be positive, got \(self)")
        try require(padding >= 0 && padding < self.kernel, kernel, "padding \(padding) must be in 0..<\(self.kernel)")
        try require(outHeight > 0 && outWidth > 0, kernel,
                    "a \(self.kernel)x\(self.kernel) kernel does not fit a \(height)x\(width) input with padding \(padding)")
        let big = dims.allSatisfy { $0 < Int(Int32.max) }
            && inputCount.multipliedReportingOverflow(by: 1).overflow == false
        try require(big, kernel, "dimensions too large: \(self)")
    }
}
