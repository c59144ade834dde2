import CKernels
import Foundation
import Testing
@testable import TinyConv

/// Batch normalization: the five kernels against their double twins, the layer's gradient by
/// finite differences, and the minibatch statistics' independence from how the batch is split.
@Suite("Batch normalization kernels and layer")
struct BatchNormTests {
    /// rows x channels: one row, channels off both SIMD widths, a dense layer's 120, many rows
    static let shapes = [(1, 1), (1, 17), (7, 3), (64, 6), (33, 15), (100, 16), (5, 33), (576, 7), (9, 120)]

    /// A sum of `rows` floats in order against a double: at most rows ulps of the magnitude.
    static func close(_ a: [Float], _ b: [Float], magnitude: [Float], rows: Int) -> Int? {
        a.indices.first { abs(a[$0] - b[$0]) > Float.ulpOfOne * Float(rows + 4) * magnitude[$0] + 1e-30 }
    }

    @Test("sums, squares, normalize (with and without ReLU), backward sums and data vs twins on every ISA",
          arguments: shapes)
    func kernels(_ shape: (Int, Int)) throws {
        let (rows, c) = shape
        var rng = TestRNG(fixedSeed(rows, c, 31))
        let x = rng.array(rows * c).map { $0 * 3 + 0.5 }, dy = rng.array(rows * c)
        let mean = rng.array(c).map { $0 * 0.5 }, invStd = rng.array(c).map { abs($0) + 0.5 }
        let scale = rng.array(c), shift = rng.array(c), k = rng.array(c)
        let g1 = rng.array(c).map { $0 * Float(rows) }, g2 = rng.array(c).map { $0 * Float(rows) }
        let invN = 1 / Float(rows)
        func column(_ v: [Float], _ f: (Float) -> Float) -> [Float] {
            (0..<c).map { ch in (0..<rows).reduce(0) { $0 + f(v[$1 * c + ch]) } }
        }
        var rSums = [Float](repeating: 0, count: c), rSquares = rSums, rG1 = rSums, rG2 = rSums
        var rY = [Float](repeating: 0, count: rows * c), rYRelu = rY, rDX = rY
        tc_ref_bn_sums(rows, Int32(c), x, &rSums)
        tc_ref_bn_squares(rows, Int32(c), x, mean, &rSquares)
        tc_ref_bn_normalize(rows, Int32(c), x, mean, scale, shift, 0, &rY)
        tc_ref_bn_normalize(rows, Int32(c), x, mean, scale, shift, 1, &rYRelu)
        tc_ref_bn_backward_sums(rows, Int32(c), x, mean, invStd, dy, &rG1, &rG2)
        tc_ref_bn_backward_data(rows, Int32(c), x, mean, invStd, k, g1, g2, invN, dy, &rDX)
        // the twins themselves: a plain column sum, and ReLU = max(0, .)
        #expect(Self.close(rSums, column(x) { $0 }, magnitude: column(x) { abs($0) }, rows: rows) == nil)
        #expect(rYRelu == rY.map { max(0, $0) })

        let absX = column(x) { abs($0) }
        let sqMag = (0..<c).map { ch in (0..<rows).reduce(Float(0)) { let d = x[$1 * c + ch] - mean[ch]; return $0 + d * d } }
        let g1Mag = column(dy) { abs($0) }
        let g2Mag = (0..<c).map { ch in
            (0..<rows).reduce(Float(0)) { $0 + abs(dy[$1 * c + ch] * (x[$1 * c + ch] - mean[ch]) * invStd[ch]) }
        }
        try forEachISA { isa in
            let s = FloatBuffer(count: c, value: .nan), q = FloatBuffer(count: c, value: .nan)
            let y = FloatBuffer(count: rows * c, value: .nan), yr = FloatBuffer(count: rows * c, value: .nan)
            let a1 = FloatBuffer(count: c, value: .nan), a2 = FloatBuffer(count: c, value: .nan)
            let dx = FloatBuffer(count: rows * c, value: .nan)
            BatchNormKernel.sums(rows: rows, channels: c, x: x, into: s.pointer)
            BatchNormKernel.squares(rows: rows, channels: c, x: x, mean: mean, into: q.pointer)
            BatchNormKernel.normalize(rows: rows, channels: c, x: x, mean: mean, scale: scale, shift: shift, relu: false, y: y.pointer)
            BatchNormKernel.normalize(rows: rows, channels: c, x: x, mean: mean, scale: scale, shift: shift, relu: true, y: yr.pointer)
            BatchNormKernel.backwardSums(rows: rows, channels: c, x: x, mean: mean, invStd: invStd, dy: dy, g1: a1.pointer, g2: a2.pointer)
            BatchNormKernel.backwardData(rows: rows, channels: c, x: x, mean: mean, invStd: invStd, k: k, g1: g1, g2: g2,
                                         totalRows: rows, dy: dy, dx: dx.pointer)
            #expect(Self.close(s.array, rSums, magnitude: absX, rows: rows) == nil, "sums \(shape) on \(isa)")
            #expect(Self.close(q.array, rSquares, magnitude: sqMag, rows: rows) == nil, "squares \(shape) on \(isa)")
            #expect(Self.close(a1.array, rG1, magnitude: g1Mag, rows: rows) == nil, "backward g1 \(shape) on \(isa)")
            #expect(Self.close(a2.array, rG2, magnitude: g2Mag, rows: rows) == nil, "backward g2 \(shape) on \(isa)")
            // element-wise: a few ulps of the terms' magnitudes
            for i in 0..<(rows * c) {
                let ch = i % c
                let yMag = abs((x[i] - mean[ch]) * scale[ch]) + abs(shift[ch]) + abs(mean[ch] * scale[ch])
                #expect(abs(y[i] - rY[i]) <= 4 * Float.ulpOfOne * yMag, "normalize \(shape)[\(i)] on \(isa)")
                #expect(abs(yr[i] - rYRelu[i]) <= 4 * Float.ulpOfOne * yMag && yr[i] >= 0, "normalize+ReLU \(shape)[\(i)] on \(isa)")
                let xhat = abs((x[i] - mean[ch]) * invStd[ch]) + abs(mean[ch] * invStd[ch])
                let dxMag = abs(k[ch]) * (abs(dy[i]) + abs(g1[ch] * invN) + xhat * abs(g2[ch] * invN))
                #expect(abs(dx[i] - rDX[i]) <= 6 * Float.ulpOfOne * dxMag, "backward data \(shape)[\(i)] on \(isa)")
            }
        }
    }

    /// Training-mode batch norm over x [rows][c] built from the kernels, as the layer runs it.
    static func forward(_ x: [Float], rows: Int, c: Int, gamma: [Float], beta: [Float], relu: Bool = false)
        -> (y: [Float], mean: [Float], invStd: [Float]) {
        var s = [Float](repeating: 0, count: c), q = s
        BatchNormKernel.sums(rows: rows, channels: c, x: x, into: &s)
        let mean = s.map { $0 / Float(rows) }
        BatchNormKernel.squares(rows: rows, channels: c, x: x, mean: mean, into: &q)
        let invStd = q.map { 1 / ($0 / Float(rows) + BatchNorm.epsilon).squareRoot() }
        let scale = zip(gamma, invStd).map(*)
        var y = [Float](repeating: 0, count: rows * c)
        BatchNormKernel.normalize(rows: rows, channels: c, x: x, mean: mean, scale: scale, shift: beta, relu: relu, y: &y)
        return (y, mean, invStd)
    }

    @Test("gradient by finite differences: dx through the batch statistics, dgamma, dbeta")
    func gradient() throws {
        let (rows, c) = (12, 5)
        var rng = TestRNG(77)
        let x = rng.array(rows * c).map { $0 * 2 + 1 }, gamma = rng.array(c).map { $0 + 1.5 }, beta = rng.array(c)
        let r = rng.array(rows * c)
        func loss(_ x: [Float], _ gamma: [Float], _ beta: [Float]) -> Double {
            GradientCheckTests.dot(Self.forward(x, rows: rows, c: c, gamma: gamma, beta: beta).y, r)
        }
        let (_, mean, invStd) = Self.forward(x, rows: rows, c: c, gamma: gamma, beta: beta)
        var g1 = [Float](repeating: 0, count: c), g2 = g1, dx = [Float](repeating: 0, count: rows * c)
        BatchNormKernel.backwardSums(rows: rows, channels: c, x: x, mean: mean, invStd: invStd, dy: r, g1: &g1, g2: &g2)
        let k = zip(gamma, invStd).map(*)
        BatchNormKernel.backwardData(rows: rows, channels: c, x: x, mean: mean, invStd: invStd, k: k, g1: g1, g2: g2,
                                     totalRows: rows, dy: r, dx: &dx)
        GradientCheckTests.check("dx", x, analytic: dx, h: 1e-2, relTol: 3e-3) { loss($0, gamma, beta) }
        GradientCheckTests.check("dgamma", gamma, analytic: g2, h: 1e-2) { loss(x, $0, beta) }
        GradientCheckTests.check("dbeta", beta, analytic: g1, h: 1e-2) { loss(x, gamma, $0) }
        // normalized per channel: mean 0, variance 1 (biased, plus eps)
        let y = Self.forward(x, rows: rows, c: c, gamma: [Float](repeating: 1, count: c), beta: [Float](repeating: 0, count: c)).y
        for ch in 0..<c {
            let col = (0..<rows).map { Double(y[$0 * c + ch]) }
            let m = col.reduce(0, +) / Double(rows), v = col.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(rows)
            #expect(abs(m) < 1e-6 && abs(v - 1) < 1e-3, "channel \(ch): mean \(m), variance \(v)")
        }
    }

    static let spec = "conv3x3x5:same,bn,pool,conv3x3x7,bn,pool,fc12,bn,fc10"

    @Test("the spec: bn takes the ReLU of the conv or dense before it; misplaced bn refused")
    func specRules() throws {
        let s = try NetworkSpec.parse(Self.spec)
        let r = try s.resolve()
        #expect(r.map(\.name) == ["conv1", "bn1", "pool1", "conv2", "bn2", "pool2", "fc1", "bn3", "fc2"])
        #expect(r.map(\.relu) == [false, true, false, false, true, false, false, true, false])
        #expect(r[1].parameters.map(\.name) == ["weight", "bias", "running_mean", "running_var"])
        #expect(r[1].parameters.map(\.trainable) == [true, true, false, false])
        // the bias before a bn is frozen at zero (PyTorch: bias=False); the last dense keeps its own
        #expect(r[0].parameters.map(\.trainable) == [true, false] && r[6].parameters.map(\.trainable) == [true, false])
        #expect(r[8].parameters.map(\.trainable) == [true, true])
        for bad in ["bn,conv3x3x4,fc10", "conv3x3x4,pool,bn,fc10", "conv3x3x4,bn,bn,fc10"] {
            #expect(throws: SpecError.self, "\(bad)") { try NetworkSpec.parse(bad).resolve() }
        }
        #expect(try NetworkSpec.parse(Self.spec).description == Self.spec)
    }

    @Test("evaluation uses the running statistics: a sample's logits do not depend on the rest of its batch")
    func evaluationIsPerSample() throws {
        let data = syntheticData(count: 64, seed: 12)
        let t = try makeTrainer(Self.spec, threads: 2, epochs: 1, data: data, lr: 0.05)
        try t.run()
        let net = t.network
        // the running statistics moved away from their initial 0 and 1
        let bn = try #require(net.tensors.first { $0.layer.name == "bn1" && $0.tensor.name == "running_mean" })
        #expect((0..<5).contains { net.parameters[bn.offset + $0] != 0 })
        func logits(_ d: Dataset, threads: Int) throws -> [Float] {
            let s = try MinibatchScheduler(network: net, maxBatch: 32, threads: threads)
            let out = FloatBuffer(count: d.count * 10, value: .nan)
            _ = s.evaluate(d, logits: out.pointer)
            return out.array
        }
        let all = try logits(data.slice(0..<9), threads: 2), one = try logits(data.slice(4..<5), threads: 1)
        #expect(Array(all[40..<50]) == one)
    }
}
