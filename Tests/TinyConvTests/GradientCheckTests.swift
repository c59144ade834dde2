import CKernels
import Testing
@testable import TinyConv

/// Finite-difference checks of every backward kernel and the loss: for a scalar
/// L = sum(r * f(x)) with fixed random r, compare the kernel's gradient with the
/// central difference (L(x + h e_i) - L(x - h e_i)) / 2h, evaluated in double.
@Suite("Finite-difference gradient checks")
struct GradientCheckTests {
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Checks `analytic` against finite differences of `loss` at a spread of indices.
    static func check(_ what: String, _ x: [Float], analytic: [Float], h: Float = 1e-2, relTol: Double = 2e-3,
                      loss: ([Float]) throws -> Double) rethrows {
        let scale = analytic.map { abs(Double($0)) }.max() ?? 1
        for i in Set((0..<12).map { ($0 * 7919) % x.count }) {
            var xp = x, xm = x
            xp[i] += h; xm[i] -= h
            let fd = (try loss(xp) - loss(xm)) / (2 * Double(h))
            #expect(abs(fd - Double(analytic[i])) <= relTol * max(scale, 1e-3),
                    "\(what)[\(i)]: finite difference \(fd), kernel \(analytic[i])")
        }
    }

    @Test("conv2d backward-data and backward-weights", arguments: [
        ConvShape(batch: 2, height: 7, width: 6, inChannels: 3, outChannels: 5, kernel: 3, padding: 1),
        ConvShape(batch: 1, height: 9, width: 9, inChannels: 1, outChannels: 6, kernel: 5, padding: 2),
        ConvShape(batch: 3, height: 6, width: 5, inChannels: 17, outChannels: 7, kernel: 1, padding: 0),
        ConvShape(batch: 2, height: 8, width: 8, inChannels: 6, outChannels: 16, kernel: 5, padding: 0),
    ])
    func conv(_ s: ConvShape) throws {
        var rng = TestRNG(99)
        let x = rng.array(s.inputCount), w = rng.array(s.weightCount), b = rng.array(s.outChannels)
        let r = rng.array(s.outputCount)
        let ws = FloatBuffer(count: s.workspaceFloats)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) throws -> Double {
            let y = FloatBuffer(count: s.outputCount)
            try x.withUnsafeBufferPointer { xp in try w.withUnsafeBufferPointer { wp in try b.withUnsafeBufferPointer { bp in
                try Conv2DKernel.forward(s, x: xp, weights: wp, bias: bp, y: y.buffer, relu: false, workspace: ws.buffer)
            } } }
            return Self.dot(y.array, r)
        }
        let dx = FloatBuffer(count: s.inputCount), dw = FloatBuffer(count: s.weightCount)
        let db = FloatBuffer(count: s.outChannels)
        try r.withUnsafeBufferPointer { rp in
            try w.withUnsafeBufferPointer { wp in
                try Conv2DKernel.backwardData(s, dy: rp, weights: wp, dx: dx.buffer, workspace: ws.buffer)
            }
            try x.withUnsafeBufferPointer { xp in
                try Conv2DKernel.backwardWeights(s, x: xp, dy: rp, dw: dw.buffer, db: db.buffer,
                                                 accumulate: false, workspace: ws.buffer)
            }
        }
        try Self.check("dx", x, analytic: dx.array) { try forward($0, w, b) }
        try Self.check("dw", w, analytic: dw.array) { try forward(x, $0, b) }
        try Self.check("db", b, analytic: db.array) { try forward(x, w, $0) }
    }

    @Test("dense backward-data and backward-weights")
    func dense() throws {
        let s = DenseShape(batch: 3, inputs: 17, outputs: 10)
        var rng = TestRNG(5)
        let x = rng.array(51), w = rng.array(170), b = rng.array(10), r = rng.array(30)
        let ws = FloatBuffer(count: s.workspaceFloats)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) throws -> Double {
            let y = FloatBuffer(count: 30)
            try x.withUnsafeBufferPointer { xp in try w.withUnsafeBufferPointer { wp in try b.withUnsafeBufferPointer { bp in
                try DenseKernel.forward(s, x: xp, weights: wp, bias: bp, y: y.buffer, relu: false, workspace: ws.buffer)
            } } }
            return Self.dot(y.array, r)
        }
        let dx = FloatBuffer(count: 51), dw = FloatBuffer(count: 170), db = FloatBuffer(count: 10)
        try r.withUnsafeBufferPointer { rp in
            try w.withUnsafeBufferPointer { try DenseKernel.backwardData(s, dy: rp, weights: $0, dx: dx.buffer, workspace: ws.buffer) }
            try x.withUnsafeBufferPointer {
                try DenseKernel.backwardWeights(s, x: $0, dy: rp, dw: dw.buffer, db: db.buffer, accumulate: false,
                                                workspace: ws.buffer)
            }
        }
        try Self.check("dx", x, analytic: dx.array) { try forward($0, w, b) }
        try Self.check("dw", w, analytic: dw.array) { try forward(x, $0, b) }
        try Self.check("db", b, analytic: db.array) { try forward(x, w, $0) }
    }

    @Test("max pool and ReLU backward (inputs kept away from ties and kinks)")
    func poolAndRelu() throws {
        let (n, h, w, c) = (2, 6, 5, 7)
        var rng = TestRNG(8)
        // distinct values spaced by more than 2h, so no perturbation changes a window's argmax
        var x = (0..<(n * h * w * c)).map { Float($0) * 0.05 - 10 }
        for i in stride(from: x.count - 1, to: 0, by: -1) { x.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let outCount = n * (h / 2) * (w / 2) * c
        let r = rng.array(outCount)
        func forward(_ x: [Float]) throws -> Double {
            let y = FloatBuffer(count: outCount), z = FloatBuffer(count: outCount)
            try x.withUnsafeBufferPointer { try MaxPoolKernel.forward(batch: n, height: h, width: w, channels: c, x: $0, y: y.buffer) }
            try ReLUKernel.forward(x: y.readOnly, y: z.buffer)
            return Self.dot(z.array, r)
        }
        let y = FloatBuffer(count: outCount), z = FloatBuffer(count: outCount), dz = FloatBuffer(count: outCount)
        let dx = FloatBuffer(count: x.count)
        try x.withUnsafeBufferPointer { try MaxPoolKernel.forward(batch: n, height: h, width: w, channels: c, x: $0, y: y.buffer) }
        try ReLUKernel.forward(x: y.readOnly, y: z.buffer)
        try r.withUnsafeBufferPointer { try ReLUKernel.backward(y: z.readOnly, dy: $0, dx: dz.buffer) }
        try x.withUnsafeBufferPointer {
            try MaxPoolKernel.backward(batch: n, height: h, width: w, channels: c, x: $0, y: y.readOnly, dy: dz.readOnly, dx: dx.buffer)
        }
        try Self.check("dx", x, analytic: dx.array, h: 0.01) { try forward($0) }
    }

    @Test("softmax cross-entropy gradient")
    func loss() throws {
        let n = 4, classes = 10
        var rng = TestRNG(21)
        let logits = rng.array(n * classes).map { $0 * 3 }
        let labels: [Int32] = [3, 0, 9, 5]
        func value(_ z: [Float]) throws -> Double {
            let p = FloatBuffer(count: n * classes)
            return try z.withUnsafeBufferPointer { zp in try labels.withUnsafeBufferPointer {
                try SoftmaxCrossEntropyKernel.forwardBackward(rows: n, classes: classes, logits: zp, labels: $0,
                                                             probabilities: p.buffer, dlogits: nil, gradScale: 1)
            } }
        }
        let p = FloatBuffer(count: n * classes), d = FloatBuffer(count: n * classes)
        _ = try logits.withUnsafeBufferPointer { zp in try labels.withUnsafeBufferPointer {
            try SoftmaxCrossEntropyKernel.forwardBackward(rows: n, classes: classes, logits: zp, labels: $0,
                                                         probabilities: p.buffer, dlogits: d.buffer, gradScale: 1)
        } }
        try Self.check("dlogits", logits, analytic: d.array, h: 1e-2, relTol: 2e-3) { try value($0) }
    }
}
