import CKernels
import Testing
@testable import TinyConv

/// Builder-style tester: one conv shape, all three directions, fast vs naive twin on
/// every ISA, tolerance from the magnitude of the summed terms (the reference run on
/// absolute values).
struct ConvTester {
    var shape: ConvShape
    var relu = false
    var seed: UInt64 = 1

    var shapeSeed: UInt64 {
        fixedSeed(Int(self.seed), shape.batch, shape.height, shape.width, shape.inChannels, shape.outChannels, shape.kernel, shape.padding)
    }

    /// Small-integer inputs: every direction must equal the twin to the bit, with outputs
    /// written over NaN (overwrite mode: accumulate = false into a stale buffer).
    func testExact() throws {
        let s = shape, seedValue = shapeSeed
        var rng = TestRNG(seedValue)
        let x = rng.integers(s.inputCount), w = rng.integers(s.weightCount), b = rng.integers(s.outChannels)
        let dy = rng.integers(s.outputCount)
        var refY = [Float](repeating: 0, count: s.outputCount), refDX = [Float](repeating: 0, count: s.inputCount)
        var refDW = [Float](repeating: 0, count: s.weightCount), refDB = [Float](repeating: 0, count: s.outChannels)
        tc_ref_conv2d_forward(s.c, x, w, b, &refY, relu ? 1 : 0)
        tc_ref_conv2d_backward_data(s.c, dy, w, &refDX)
        tc_ref_conv2d_backward_weights(s.c, x, dy, &refDW, &refDB, 0)
        let ws = FloatBuffer(count: s.workspaceFloats, value: .nan)
        let k = try Conv2DKernel(s)
        try forEachISA { isa in
            let y = FloatBuffer(count: s.outputCount, value: .nan), dx = FloatBuffer(count: s.inputCount, value: .nan)
            let dw = FloatBuffer(count: s.weightCount, value: .nan), db = FloatBuffer(count: s.outChannels, value: .nan)
            let xb = FloatBuffer(x), wb = FloatBuffer(w), bb = FloatBuffer(b), dyb = FloatBuffer(dy)
            k.forward(batch: s.batch, x: xb.pointer, weights: wb.pointer, bias: bb.pointer, y: y.pointer, relu: relu, workspace: ws.pointer)
            k.backwardData(batch: s.batch, dy: dyb.pointer, weights: wb.pointer, dx: dx.pointer, workspace: ws.pointer)
            k.backwardWeights(batch: s.batch, x: xb.pointer, dy: dyb.pointer, dw: dw.pointer, db: db.pointer, accumulate: false,
                              workspace: ws.pointer)
            let tag = "\(s) relu=\(relu) on \(isa), seed \(seedValue)"
            for (name, got, want) in [("forward", y.array, refY), ("backward-data", dx.array, refDX),
                                      ("backward-weights", dw.array, refDW), ("bias gradient", db.array, refDB)] {
                let i = firstBitDifference(got, want)
                #expect(i == nil, "exact \(name) \(tag): index \(i ?? -1): got \(i.map { got[$0] } ?? 0), want \(i.map { want[$0] } ?? 0)")
            }
        }
    }

    func test() throws {
        let s = shape
        let seedValue = shapeSeed
        var rng = TestRNG(seedValue)
        let x = rng.array(s.inputCount), w = rng.array(s.weightCount), b = rng.array(s.outChannels)
        let dy = rng.array(s.outputCount)
        let dwInit = rng.array(s.weightCount), dbInit = rng.array(s.outChannels)
        var refY = [Float](repeating: 0, count: s.outputCount), magY = refY
        var refDX = [Float](repeating: 0, count: s.inputCount), magDX = refDX
        var refDW = dwInit, magDW = dwInit.absolute, refDB = dbInit, magDB = dbInit.absolute
        tc_ref_conv2d_forward(s.c, x, w, b, &refY, relu ? 1 : 0)
        tc_ref_conv2d_forward(s.c, x.absolute, w.absolute, b.absolute, &magY, 0)
        tc_ref_conv2d_backward_data(s.c, dy, w, &refDX)
        tc_ref_conv2d_backward_data(s.c, dy.absolute, w.absolute, &magDX)
        tc_ref_conv2d_backward_weights(s.c, x, dy, &refDW, &refDB, 1)
        tc_ref_conv2d_backward_weights(s.c, x.absolute, dy.absolute, &magDW, &magDB, 1)
        let taps = s.kernel * s.kernel * s.inChannels
        let rows = s.batch * s.outHeight * s.outWidth
        let ws = FloatBuffer(count: s.workspaceFloats, value: .nan)
        try forEachISA { isa in
            let y = FloatBuffer(count: s.outputCount, value: .nan)
            let dx = FloatBuffer(count: s.inputCount, value: .nan)
            let dw = FloatBuffer(dwInit), db = FloatBuffer(dbInit)
            try x.withUnsafeBufferPointer { xp in
                try w.withUnsafeBufferPointer { wp in
                    try b.withUnsafeBufferPointer { bp in
                        try dy.withUnsafeBufferPointer { dyp in
                            try Conv2DKernel.forward(s, x: xp, weights: wp, bias: bp, y: y.buffer, relu: relu,
                                                     workspace: ws.buffer)
                            try Conv2DKernel.backwardData(s, dy: dyp, weights: wp, dx: dx.buffer,
                                                          workspace: ws.buffer)
                            try Conv2DKernel.backwardWeights(s, x: xp, dy: dyp, dw: dw.buffer,
                                                             db: db.buffer, accumulate: true,
                                                             workspace: ws.buffer)
                        }
                    }
                }
            }
            let f = firstMismatch(y.array, refY, magnitude: magY, terms: taps + 1)
            #expect(f == nil, "forward \(s) relu=\(relu) on \(isa), seed \(seedValue): \(f!)")
            let d = firstMismatch(dx.array, refDX, magnitude: magDX, terms: s.kernel * s.kernel * s.outChannels)
            #expect(d == nil, "backward-data \(s) on \(isa): \(d!)")
            let g = firstMismatch(dw.array, refDW, magnitude: magDW, terms: rows + 1)
            #expect(g == nil, "backward-weights \(s) on \(isa): \(g!)")
            let gb = firstMismatch(db.array, refDB, magnitude: magDB, terms: rows + 1)
            #expect(gb == nil, "bias gradient \(s) on \(isa): \(gb!)")
        }
    }
}


@Suite("Conv2D kernels vs naive twins")
struct ConvKernelTests {
    static let channels = [1, 3, 6, 7, 16, 17, 120, 150]
    static let batches = [1, 2, 3, 7, 32]
    static let sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 23, 24, 27, 28]

    /// Every (k, padding, Cin, Cout) combination, with batch and H/W rotating through
    /// their lists so all values appear; the work per case is capped so the sweep stays fast.
    static var sweep: [ConvShape] {
        var out: [ConvShape] = []
        var i = 0
        for k in [1, 3, 5] {
            for same in [false, true] where !(k == 1 && same) {
                for cin in channels {
                    for cout in channels {
                        i += 1
                        var batch = batches[i % batches.count]
                        var h = sizes[(i * 7) % sizes.count], w = sizes[(i * 11 + 3) % sizes.count]
                        if !same { h = max(h, k); w = max(w, k) }
                        // keep the naive reference affordable on the big channel counts
                        while batch * h * w * k * k * cin * cout > 4_000_000 && (h > k || w > k || batch > 1) {
                            if batch > 1 { batch = max(1, batch / 2) } else if h >= w { h -= 1 } else { w -= 1 }
                        }
                        out.append(ConvShape(batch: batch, height: h, width: w, inChannels: cin, outChannels: cout,
                                             kernel: k, padding: same ? (k - 1) / 2 : 0))
                    }
                }
            }
        }
        return out
    }

    @Test("sweep of shapes: odd/even sizes, channel counts off the SIMD width, batch 1..32, both paddings",
          arguments: sweep)
    func sweepShape(_ shape: ConvShape) throws {
        try ConvTester(shape: shape, relu: shape.outChannels % 2 == 1).test()
    }

    @Test("exact arithmetic: small-integer data, every direction bit-equal to the twin, outputs written over NaN",
          arguments: sweep)
    func exactSweep(_ shape: ConvShape) throws {
        try ConvTester(shape: shape, relu: shape.outChannels % 2 == 0).testExact()
    }

    @Test("every conv layer of LeNet-5 and both Custom variants at batch 32")
    func modelLayers() throws {
        for (name, layer) in try modelLayerShapes(batch: 32) {
            guard let conv = layer.unit as? Conv2D else { continue }
            let s = conv.shape(layer, batch: 32)
            _ = name
            try ConvTester(shape: s, relu: true).test()
            try ConvTester(shape: s, relu: true).testExact()
        }
    }

    @Test("forward without accumulation ignores stale output; backward-weights can overwrite")
    func overwriteSemantics() throws {
        let s = ConvShape(batch: 2, height: 9, width: 8, inChannels: 7, outChannels: 17, kernel: 3, padding: 1)
        var rng = TestRNG(5)
        let x = rng.array(s.inputCount), dy = rng.array(s.outputCount)
        let ws = FloatBuffer(count: s.workspaceFloats)
        let dw = FloatBuffer(count: s.weightCount, value: 1e9), db = FloatBuffer(count: 17, value: 1e9)
        var refDW = [Float](repeating: 0, count: s.weightCount), refDB = [Float](repeating: 0, count: 17)
        tc_ref_conv2d_backward_weights(s.c, x, dy, &refDW, &refDB, 0)
        try x.withUnsafeBufferPointer { xp in
            try dy.withUnsafeBufferPointer { dyp in
                try Conv2DKernel.backwardWeights(s, x: xp, dy: dyp, dw: dw.buffer, db: db.buffer,
                                                 accumulate: false, workspace: ws.buffer)
            }
        }
        for i in 0..<dw.count { #expect(abs(dw[i] - refDW[i]) < 1e-3) }
        for i in 0..<db.count { #expect(abs(db[i] - refDB[i]) < 1e-3) }
    }
}
