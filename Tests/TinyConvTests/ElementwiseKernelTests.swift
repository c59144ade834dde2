import CKernels
import Testing
@testable import TinyConv

@Suite("Pooling, activation, dropout, loss and optimizer kernels vs naive twins")
struct ElementwiseKernelTests {
    @Test("max pool forward/backward: odd and even sizes, channels off the SIMD width",
          arguments: [(1, 2, 2, 1), (2, 3, 5, 3), (3, 28, 28, 6), (7, 24, 24, 120), (1, 10, 10, 150), (2, 10, 10, 16),
                      (32, 5, 7, 17), (1, 13, 11, 7), (2, 27, 2, 12)])
    func maxPool(_ d: (Int, Int, Int, Int)) throws {
        let (n, h, w, c) = d
        var rng = TestRNG(UInt64(n * h * w * c))
        var x = rng.array(n * h * w * c)
        // plant exact ties so the first-maximum rule is exercised
        for i in stride(from: 0, to: x.count - c, by: 5) { x[i + c] = x[i] }
        let dy = rng.array(n * (h / 2) * (w / 2) * c)
        // as after a ReLU: a third of the inputs are exact zeros (whole zero windows included)
        for i in stride(from: 0, to: x.count, by: 3) { x[i] = 0 }
        if x.count >= 4 * c { for i in 0..<(2 * c) { x[i] = 0 } }
        var refY = [Float](repeating: 0, count: dy.count), refDX = [Float](repeating: 0, count: x.count)
        var refMasked = refDX
        tc_ref_maxpool2x2_forward(Int32(n), Int32(h), Int32(w), Int32(c), x, &refY)
        tc_ref_maxpool2x2_backward(Int32(n), Int32(h), Int32(w), Int32(c), x, refY, dy, &refDX, 0)
        tc_ref_maxpool2x2_backward(Int32(n), Int32(h), Int32(w), Int32(c), x, refY, dy, &refMasked, 1)
        // the fused mask equals pool backward followed by ReLU backward
        var unfused = refDX
        tc_ref_relu_backward(x.count, x, refDX, &unfused)
        #expect(unfused == refMasked)
        try forEachISA { isa in
            let y = FloatBuffer(count: dy.count, value: .nan), dx = FloatBuffer(count: x.count, value: .nan)
            let masked = FloatBuffer(count: x.count, value: .nan)
            try x.withUnsafeBufferPointer { xp in
                try MaxPoolKernel.forward(batch: n, height: h, width: w, channels: c, x: xp, y: y.buffer)
                do {
                    let yp = y.readOnly
                    try dy.withUnsafeBufferPointer { dyp in
                        try MaxPoolKernel.backward(batch: n, height: h, width: w, channels: c, x: xp, y: yp, dy: dyp,
                                                   dx: dx.buffer)
                        try MaxPoolKernel.backward(batch: n, height: h, width: w, channels: c, x: xp, y: yp, dy: dyp,
                                                   dx: masked.buffer, reluMask: true)
                    }
                }
            }
            #expect(y.array == refY, "maxpool forward \(d) on \(isa)")
            #expect(dx.array == refDX, "maxpool backward \(d) on \(isa)")
            #expect(masked.array == refMasked, "maxpool backward with the ReLU mask \(d) on \(isa)")
        }
    }

    @Test("ReLU forward/backward, in place too", arguments: [0, 1, 15, 16, 17, 33, 1000, 4097])
    func relu(_ count: Int) throws {
        var rng = TestRNG(UInt64(count) + 7)
        var x = rng.array(count)
        if count > 3 { x[1] = 0; x[2] = -0.0 }
        let dy = rng.array(count)
        var refY = [Float](repeating: 0, count: count), refDX = refY
        tc_ref_relu_forward(count, x, &refY)
        tc_ref_relu_backward(count, refY, dy, &refDX)
        try forEachISA { isa in
            let y = FloatBuffer(count: count, value: .nan)
            try x.withUnsafeBufferPointer { try ReLUKernel.forward(x: $0, y: y.buffer) }
            let inPlace = FloatBuffer(dy)  // dx aliases dy
            try ReLUKernel.backward(y: y.readOnly, dy: inPlace.readOnly, dx: inPlace.buffer)
            #expect(y.array == refY, "relu forward \(count) on \(isa)")
            #expect(inPlace.array == refDX, "relu backward \(count) on \(isa)")
        }
    }

    @Test("dropout: mask is a pure function of (seed, stream, index), any split and ISA gives the same bits",
          arguments: [0, 1, 6, 15, 16, 17, 33, 120, 1000, 4097])
    func dropout(_ count: Int) throws {
        let rate: Float = 0.3, scale: Float = 1 / (1 - rate)
        var rng = TestRNG(UInt64(count) + 3)
        var x = rng.array(count)
        if count > 2 { x[1] = -0.0; x[2] = .infinity }
        let dy = rng.array(count)
        var refY = [Float](repeating: 0, count: count), refMask = [UInt8](repeating: 0, count: count)
        tc_ref_dropout_forward(count, rate, 42, 9, 100, x, &refY, &refMask)
        var refDX = [Float](repeating: 0, count: count)
        tc_ref_dropout_backward(count, rate, refMask, dy, &refDX)
        // The fast kernels multiply by 1/(1-rate) where the twin divides: exactly this.
        let expectY = (0..<count).map { refMask[$0] != 0 ? x[$0] * scale : 0 }
        let expectDX = (0..<count).map { refMask[$0] != 0 ? dy[$0] * scale : 0 }
        for i in 0..<count { #expect(abs(expectY[i] - refY[i]) <= 1e-6 * abs(refY[i]) || expectY[i] == refY[i]) }
        // Uneven pieces, as workers would compute them; pieces shorter than a vector use the tail.
        let cuts = [0, min(7, count), min(610, count), count]
        try forEachISA { isa in
            var y = [Float](repeating: .nan, count: count), mask = [UInt8](repeating: 9, count: count)
            for p in 0..<3 where cuts[p] < cuts[p + 1] {
                let (lo, hi) = (cuts[p], cuts[p + 1])
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        mask.withUnsafeMutableBufferPointer { mp in
                            tc_dropout_forward(hi - lo, rate, 42, 9, UInt64(100 + lo), xp.baseAddress! + lo,
                                               yp.baseAddress! + lo, mp.baseAddress! + lo)
                        }
                    }
                }
            }
            #expect(mask == refMask, "dropout mask, \(count) elements on \(isa)")
            #expect(y.map(\.bitPattern) == expectY.map(\.bitPattern), "dropout forward, \(count) elements on \(isa)")
            let dx = FloatBuffer(count: count, value: .nan)
            try mask.withUnsafeBufferPointer { mp in
                try dy.withUnsafeBufferPointer { try DropoutKernel.backward(rate: rate, mask: mp, dy: $0, dx: dx.buffer) }
            }
            #expect(dx.array.map(\.bitPattern) == expectDX.map(\.bitPattern), "dropout backward, \(count) on \(isa)")
        }
        for i in 0..<count { #expect(abs(expectDX[i] - refDX[i]) <= 1e-6 * abs(refDX[i])) }
        guard count >= 1000 else { return }
        let kept = refMask.reduce(0) { $0 + Int($1) }
        #expect(abs(Double(kept) / Double(count) - 0.7) < 0.05, "keep fraction \(kept)/\(count)")
        // other seeds and streams give other masks
        var other = [UInt8](repeating: 0, count: count), tmp = x
        tc_dropout_forward(count, rate, 43, 9, 100, x, &tmp, &other)
        #expect(other != refMask)
        tc_dropout_forward(count, rate, 42, 10, 100, x, &tmp, &other)
        #expect(other != refMask)
    }

    @Test("softmax cross-entropy matches the double-precision twin, including extreme logits")
    func softmaxXent() throws {
        let n = 37, classes = 10
        var rng = TestRNG(11)
        var logits = rng.array(n * classes).map { $0 * 8 }
        logits[3] = 80; logits[15] = -90  // overflow / underflow territory
        let labels = (0..<n).map { Int32($0 % classes) }
        var refP = [Float](repeating: 0, count: n * classes), refD = refP
        let refLoss = tc_ref_softmax_xent(Int32(n), Int32(classes), logits, labels, &refP, &refD, 1.0 / Float(n))
        let p = FloatBuffer(count: refP.count, value: .nan), d = FloatBuffer(count: refD.count, value: .nan)
        let loss = try logits.withUnsafeBufferPointer { lp in
            try labels.withUnsafeBufferPointer { lb in
                try SoftmaxCrossEntropyKernel.forwardBackward(rows: n, classes: classes, logits: lp, labels: lb,
                                                             probabilities: p.buffer, dlogits: d.buffer,
                                                             gradScale: 1.0 / Float(n))
            }
        }
        #expect(abs(loss - refLoss) <= 1e-5 * abs(refLoss))
        for i in 0..<p.count {
            #expect(abs(p[i] - refP[i]) <= 1e-6)
            #expect(abs(d[i] - refD[i]) <= 1e-6 / Float(n) + 1e-6 * abs(refD[i]))
        }
    }

    @Test("SGD with momentum and L2 (Keras semantics)", arguments: [1, 15, 16, 17, 61_706])
    func sgd(_ count: Int) throws {
        var rng = TestRNG(UInt64(count))
        let w0 = rng.array(count), v0 = rng.array(count), g = rng.array(count)
        var refW = w0, refV = v0
        tc_ref_sgd_momentum(count, 0.01, 0.9, 0.001, &refW, &refV, g)
        try forEachISA { isa in
            let w = FloatBuffer(w0), v = FloatBuffer(v0)
            try g.withUnsafeBufferPointer { try SGDKernel.step(lr: 0.01, momentum: 0.9, l2: 0.001, weights: w.buffer,
                                                               velocity: v.buffer, gradient: $0) }
            for i in 0..<count {
                #expect(abs(w[i] - refW[i]) <= 2 * Float.ulpOfOne * (abs(w0[i]) + abs(refV[i]) + 1e-3), "w[\(i)] on \(isa)")
                #expect(abs(v[i] - refV[i]) <= 2 * Float.ulpOfOne * (abs(v0[i]) + 0.01 * abs(g[i]) + 1e-3), "v[\(i)] on \(isa)")
            }
        }
        // Keras: one step from v=0 moves w by -lr * (g + 2*l2*w)
        var w = [Float](repeating: 1, count: 1), v = [Float](repeating: 0, count: 1)
        tc_sgd_momentum(1, 0.5, 0.9, 0.25, &w, &v, [2])
        #expect(w[0] == 1 - 0.5 * (2 + 2 * 0.25 * 1))
    }

    @Test("AdamW against its twin (PyTorch's formula in double), every ISA; chunking never changes an element",
          arguments: [1, 15, 16, 17, 61_706])
    func adamw(_ count: Int) throws {
        var rng = TestRNG(UInt64(count) + 99)
        let w0 = rng.array(count), m0 = rng.array(count).map { $0 * 0.1 }, v0 = rng.array(count).map { abs($0) * 0.01 }
        let g = rng.array(count)
        for t in [1, 7, 1000] {
            let (bc1, bc2) = AdamWKernel.corrections(beta1: 0.9, beta2: 0.999, t: t)
            var refW = w0, refM = m0, refV = v0
            tc_ref_adamw(count, 0.001, 0.9, 0.999, 1e-8, 0.01, bc1, bc2, &refW, &refM, &refV, g)
            try forEachISA { isa in
                let w = FloatBuffer(w0), m = FloatBuffer(m0), v = FloatBuffer(v0)
                g.withUnsafeBufferPointer {
                    AdamWKernel.step(count: count, lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, t: t,
                                     weights: w.pointer, m: m.pointer, v: v.pointer, gradient: $0.baseAddress!)
                }
                for i in 0..<count {
                    #expect(abs(w[i] - refW[i]) <= 4 * Float.ulpOfOne * (abs(refW[i]) + 0.01), "w[\(i)] t=\(t) on \(isa)")
                    #expect(abs(m[i] - refM[i]) <= 4 * Float.ulpOfOne * (abs(refM[i]) + abs(g[i])), "m[\(i)] on \(isa)")
                    #expect(abs(v[i] - refV[i]) <= 4 * Float.ulpOfOne * (abs(refV[i]) + g[i] * g[i]), "v[\(i)] on \(isa)")
                }
                // the same elements in other chunks (the optimizer's work items): the same bits
                if count > 20 {
                    let w2 = FloatBuffer(w0), m2 = FloatBuffer(m0), v2 = FloatBuffer(v0)
                    g.withUnsafeBufferPointer { gp in
                        for (lo, hi) in [(0, 13), (13, 20), (20, count)] {
                            AdamWKernel.step(count: hi - lo, lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, t: t,
                                             weights: w2.pointer + lo, m: m2.pointer + lo, v: v2.pointer + lo, gradient: gp.baseAddress! + lo)
                        }
                    }
                    #expect(firstBitDifference(w2.array, w.array) == nil && firstBitDifference(v2.array, v.array) == nil)
                }
            }
        }
        // PyTorch's first step from zero moments moves a weight by about -lr * sign(g), after the decay
        var w = [Float](repeating: 1, count: 1), m = [Float](repeating: 0, count: 1), v = [Float](repeating: 0, count: 1)
        let (bc1, bc2) = AdamWKernel.corrections(beta1: 0.9, beta2: 0.999, t: 1)
        tc_adamw(1, 0.1, 0.9, 0.999, 1e-8, 0.01, bc1, bc2, &w, &m, &v, [2])
        #expect(abs(w[0] - (1 * (1 - 0.1 * 0.01) - 0.1)) < 1e-6)
    }

    @Test("learning-rate schedules: constant, step, cosine with warm-up; bad text refused")
    func schedules() throws {
        #expect(try LearningRateSchedule(parsing: "constant").rate(0.1, step: 500, stepsPerEpoch: 10, epochs: 100) == 0.1)
        let step = try LearningRateSchedule(parsing: "step:2:0.5")
        #expect(step.rate(0.1, step: 19, stepsPerEpoch: 10, epochs: 9) == 0.1)
        #expect(step.rate(0.1, step: 20, stepsPerEpoch: 10, epochs: 9) == 0.05)
        #expect(step.rate(0.1, step: 45, stepsPerEpoch: 10, epochs: 9) == Float(0.1 * 0.25))
        let cos = try LearningRateSchedule(parsing: "cosine:1")
        #expect(cos.rate(1, step: 0, stepsPerEpoch: 10, epochs: 5) == 0.1)    // warm-up: (t+1)/10
        #expect(cos.rate(1, step: 9, stepsPerEpoch: 10, epochs: 5) == 1)
        #expect(cos.rate(1, step: 10, stepsPerEpoch: 10, epochs: 5) == 1)     // cosine starts at the peak
        #expect(abs(cos.rate(1, step: 30, stepsPerEpoch: 10, epochs: 5) - 0.5) < 1e-6)  // halfway through 40 steps
        #expect(cos.rate(1, step: 49, stepsPerEpoch: 10, epochs: 5) < 0.01)
        #expect(try LearningRateSchedule(parsing: "cosine").description == "cosine")
        for bad in ["", "linear", "step:0:0.5", "step:2", "step:2:-1", "cosine:-1", "cosine:1:2", "constant:3"] {
            #expect(throws: TrainingConfig.Invalid.self, "\(bad)") { try LearningRateSchedule(parsing: bad) }
        }
    }

    @Test("fixed-tree buffer sum equals a pairwise sum and is independent of element chunking",
          arguments: [1, 2, 3, 4, 5, 8, 13])
    func sumBuffers(_ nsrc: Int) throws {
        let count = 1000
        var rng = TestRNG(UInt64(nsrc))
        let srcs = (0..<nsrc).map { _ in rng.array(count) }
        func tree(_ lo: Int, _ hi: Int, _ i: Int) -> Float {
            hi - lo == 1 ? srcs[lo][i] : tree(lo, lo + (hi - lo) / 2, i) + tree(lo + (hi - lo) / 2, hi, i)
        }
        try forEachISA { isa in
            var whole = [Float](repeating: 0, count: count), chunked = whole
            withPointers(srcs, offset: 0) { tc_sum_buffers(count, Int32(nsrc), $0, &whole) }
            for (lo, hi) in [(0, 333), (333, 334), (334, count)] {
                withPointers(srcs, offset: lo) { ptrs in
                    chunked.withUnsafeMutableBufferPointer { tc_sum_buffers(hi - lo, Int32(nsrc), ptrs, $0.baseAddress! + lo) }
                }
            }
            for i in 0..<count { #expect(whole[i] == tree(0, nsrc, i), "element \(i) on \(isa)") }
            #expect(whole == chunked)
        }
    }
}

func withPointers<R>(_ arrays: [[Float]], offset: Int, _ body: (UnsafePointer<UnsafePointer<Float>?>) -> R) -> R {
    let ptrs = arrays.map { a -> UnsafeMutablePointer<Float> in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: a.count)
        p.initialize(from: a, count: a.count)
        return p
    }
    defer { ptrs.forEach { $0.deallocate() } }
    let list: [UnsafePointer<Float>?] = ptrs.map { UnsafePointer($0 + offset) }
    return list.withUnsafeBufferPointer { body($0.baseAddress!) }
}
