import Testing
@testable import TinyConv

@Suite("Bad kernel arguments give clear errors, not crashes in C")
struct KernelArgumentTests {
    @Test("shape mismatches and zero dimensions")
    func badArguments() throws {
        let good = ConvShape(batch: 1, height: 8, width: 8, inChannels: 2, outChannels: 3, kernel: 3)
        let x = FloatBuffer(count: good.inputCount), w = FloatBuffer(count: good.weightCount)
        let y = FloatBuffer(count: good.outputCount), ws = FloatBuffer(count: good.workspaceFloats)
        let xb = x.buffer, wb = w.buffer, yb = y.buffer, wsb = ws.buffer

        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let e as KernelArgumentError { return e.description } catch { return "\(error)" }
        }
        let short = message {
            try Conv2DKernel.forward(good, x: UnsafeBufferPointer(rebasing: xb[0..<10]), weights: UnsafeBufferPointer(wb),
                                     bias: nil, y: yb, relu: false, workspace: wsb)
        }
        #expect(short?.contains("x holds 10 floats, the shape needs 128") == true, "\(short ?? "no error")")
        var zero = good; zero.inChannels = 0
        let z = message {
            try Conv2DKernel.forward(zero, x: UnsafeBufferPointer(xb), weights: UnsafeBufferPointer(wb), bias: nil, y: yb,
                                     relu: false, workspace: wsb)
        }
        #expect(z?.contains("every dimension must be positive") == true)
        var tooBig = good; tooBig.kernel = 11; tooBig.padding = 0
        let tb = message {
            try Conv2DKernel.backwardData(tooBig, dy: UnsafeBufferPointer(yb), weights: UnsafeBufferPointer(wb), dx: xb, workspace: wsb)
        }
        #expect(tb?.contains("does not fit") == true)
        let dense = message {
            try DenseKernel.forward(DenseShape(batch: 2, inputs: 0, outputs: 3), x: UnsafeBufferPointer(xb),
                                    weights: UnsafeBufferPointer(wb), bias: nil, y: yb, relu: false, workspace: wsb)
        }
        #expect(dense?.hasPrefix("dense_forward:") == true)
        let pool = message {
            try MaxPoolKernel.forward(batch: 1, height: 1, width: 8, channels: 2, x: UnsafeBufferPointer(xb), y: yb)
        }
        #expect(pool?.contains("at least 2x2") == true)
        let labels: [Int32] = [12]
        let xent = message {
            _ = try labels.withUnsafeBufferPointer {
                try SoftmaxCrossEntropyKernel.forwardBackward(rows: 1, classes: 10, logits: UnsafeBufferPointer(yb), labels: $0,
                                                             probabilities: yb, dlogits: nil, gradScale: 1)
            }
        }
        #expect(xent?.contains("label 12 at row 0 is outside 0..<10") == true)
        let drop = message {
            var m = [UInt8](repeating: 0, count: 4)
            try m.withUnsafeMutableBufferPointer {
                try DropoutKernel.forward(rate: 1.5, seed: 0, stream: 0, first: 0, x: UnsafeBufferPointer(rebasing: xb[0..<4]),
                                          y: yb, mask: $0)
            }
        }
        #expect(drop?.contains("rate 1.5") == true)
        withExtendedLifetime((x, w, y, ws)) {}
    }
}
