import CKernels
import Testing
@testable import TinyConv

/// The fused conv + ReLU + max pool (ConvMaxPoolStage) and the coded max pool under it:
/// against the composition of the naive twins, against the unfused fast kernels bit for
/// bit, on every ISA, and as a plan stage (same weights as the unfused plan).
@Suite("Fused conv + ReLU + max pool vs the composition of its parts")
struct ConvMaxPoolTests {
    @Test("coded max pool: forward codes and backward from codes alone, vs the twins, every ISA",
          arguments: [(1, 2, 2, 1), (2, 3, 5, 3), (3, 28, 28, 6), (2, 24, 24, 120), (1, 10, 10, 150), (32, 5, 7, 17),
                      (1, 13, 11, 7), (2, 27, 2, 12), (1, 4, 4, 16)])
    func codedPool(_ d: (Int, Int, Int, Int)) throws {
        let (n, h, w, c) = d
        var rng = TestRNG(UInt64(n * h * w * c) + 5)
        // as after a ReLU: a third exact zeros, planted exact ties, some whole zero windows
        var x = rng.array(n * h * w * c).map { max($0, 0) }
        for i in stride(from: 0, to: x.count - c, by: 5) { x[i + c] = x[i] }
        for i in stride(from: 0, to: x.count, by: 3) { x[i] = 0 }
        if x.count >= 4 * c { for i in 0..<(2 * c) { x[i] = 0 } }
        let dy = rng.array(n * (h / 2) * (w / 2) * c)
        var refY = [Float](repeating: 0, count: dy.count), refCode = [UInt8](repeating: 0, count: dy.count)
        var refDX = [Float](repeating: 0, count: x.count), refFromCode = refDX
        tc_ref_maxpool2x2_forward_code(Int32(n), Int32(h), Int32(w), Int32(c), x, &refY, &refCode)
        tc_ref_maxpool2x2_backward(Int32(n), Int32(h), Int32(w), Int32(c), x, refY, dy, &refDX, 1)
        tc_ref_maxpool2x2_backward_code(Int32(n), Int32(h), Int32(w), Int32(c), refCode, dy, &refFromCode)
        // the codes carry everything the ReLU-masked backward needs
        #expect(refFromCode.map(\.bitPattern) == refDX.map(\.bitPattern))
        if dy.count >= 64 { #expect(refCode.contains { $0 & 4 == 0 } && refCode.contains { $0 & 3 != 0 }, "the sweep covers blocked and non-first windows") }
        forEachISA { isa in
            var y = [Float](repeating: .nan, count: dy.count), code = [UInt8](repeating: 0xff, count: dy.count)
            var dx = [Float](repeating: .nan, count: x.count)
            tc_maxpool2x2_forward_code(Int32(n), Int32(h), Int32(w), Int32(c), x, &y, &code)
            tc_maxpool2x2_backward_code(Int32(n), Int32(h), Int32(w), Int32(c), refCode, dy, &dx)
            #expect(y.map(\.bitPattern) == refY.map(\.bitPattern), "coded pool forward \(d) on \(isa)")
            #expect(code == refCode, "pool codes \(d) on \(isa)")
            #expect(dx.map(\.bitPattern) == refDX.map(\.bitPattern), "pool backward from codes \(d) on \(isa)")
        }
    }

    /// Conv shapes: LeNet-5's and the Custom net's first layers (Cin = 1), the other convs a
    /// pool follows (LeNet-5's conv2, the 1x1-then-pool variant's 1x1 convs), odd sizes (the
    /// pool drops a row / column), channel counts off the vector width, batch 1.
    static let shapes: [ConvShape] = [
        ConvShape(batch: 2, height: 14, width: 14, inChannels: 6, outChannels: 16, kernel: 5, padding: 0),
        ConvShape(batch: 2, height: 12, width: 12, inChannels: 120, outChannels: 6, kernel: 1, padding: 0),
        ConvShape(batch: 1, height: 10, width: 10, inChannels: 150, outChannels: 12, kernel: 1, padding: 0),
        ConvShape(batch: 2, height: 7, width: 9, inChannels: 3, outChannels: 5, kernel: 3, padding: 1),
        ConvShape(batch: 1, height: 5, width: 5, inChannels: 4, outChannels: 3, kernel: 2, padding: 0),
        ConvShape(batch: 2, height: 28, width: 28, inChannels: 1, outChannels: 6, kernel: 5, padding: 2),
        ConvShape(batch: 2, height: 28, width: 28, inChannels: 1, outChannels: 120, kernel: 5, padding: 0),
        ConvShape(batch: 1, height: 9, width: 7, inChannels: 1, outChannels: 7, kernel: 3, padding: 1),
        ConvShape(batch: 3, height: 11, width: 6, inChannels: 1, outChannels: 17, kernel: 5, padding: 2),
        ConvShape(batch: 4, height: 12, width: 13, inChannels: 1, outChannels: 16, kernel: 3, padding: 0),
        ConvShape(batch: 1, height: 5, width: 5, inChannels: 1, outChannels: 1, kernel: 3, padding: 0),
        ConvShape(batch: 2, height: 8, width: 9, inChannels: 1, outChannels: 150, kernel: 2, padding: 0),
    ]

    @Test("fused conv + ReLU + pool equals the naive twins composed (exact arithmetic), every ISA", arguments: shapes)
    func againstTwins(_ s: ConvShape) throws {
        var rng = TestRNG(fixedSeed(s.batch, s.height, s.width, s.outChannels, s.kernel, s.padding))
        let x = rng.integers(s.inputCount), w = rng.integers(s.weightCount), b = rng.integers(s.outChannels)
        let (po, pw) = (s.outHeight / 2, s.outWidth / 2)
        let pooled = s.batch * po * pw * s.outChannels
        let dy = rng.integers(pooled)
        // the twins: conv + ReLU, pool, pool backward through the ReLU, conv backward
        var conv = [Float](repeating: 0, count: s.outputCount), refY = [Float](repeating: 0, count: pooled)
        var refCode = [UInt8](repeating: 0, count: pooled), dconv = conv
        var refDX = [Float](repeating: 0, count: s.inputCount), refDW = [Float](repeating: 0, count: s.weightCount)
        var refDB = [Float](repeating: 0, count: s.outChannels)
        let (n, ho, wo, co) = (Int32(s.batch), Int32(s.outHeight), Int32(s.outWidth), Int32(s.outChannels))
        tc_ref_conv2d_forward(s.c, x, w, b, &conv, 1)
        tc_ref_maxpool2x2_forward_code(n, ho, wo, co, conv, &refY, &refCode)
        tc_ref_maxpool2x2_backward(n, ho, wo, co, conv, refY, dy, &dconv, 1)
        tc_ref_conv2d_backward_data(s.c, dconv, w, &refDX)
        tc_ref_conv2d_backward_weights(s.c, x, dconv, &refDW, &refDB, 0)
        let k = try Conv2DMaxPoolKernel(s)
        let ws = FloatBuffer(count: k.workspaceFloats, value: .nan)
        let xb = FloatBuffer(x), wb = FloatBuffer(w), bb = FloatBuffer(b), dyb = FloatBuffer(dy)
        forEachISA { isa in
            let y = FloatBuffer(count: pooled, value: .nan), dx = FloatBuffer(count: s.inputCount, value: .nan)
            let dw = FloatBuffer(count: s.weightCount, value: .nan), db = FloatBuffer(count: s.outChannels, value: .nan)
            var code = [UInt8](repeating: 0xff, count: pooled)
            code.withUnsafeMutableBufferPointer { cp in
                k.forward(batch: s.batch, x: xb.pointer, weights: wb.pointer, bias: bb.pointer, y: y.pointer, code: cp.baseAddress!,
                          workspace: ws.pointer)
                k.backward(batch: s.batch, x: xb.pointer, weights: wb.pointer, code: cp.baseAddress!, dy: dyb.pointer, dx: dx.pointer,
                           dw: dw.pointer, db: db.pointer, accumulate: false, workspace: ws.pointer)
            }
            // without an input gradient (as for a first layer)
            let dwFirst = FloatBuffer(count: s.weightCount, value: .nan), dbFirst = FloatBuffer(count: s.outChannels, value: .nan)
            code.withUnsafeBufferPointer { cp in
                k.backward(batch: s.batch, x: xb.pointer, weights: wb.pointer, code: cp.baseAddress!, dy: dyb.pointer, dx: nil,
                           dw: dwFirst.pointer, db: dbFirst.pointer, accumulate: false, workspace: ws.pointer)
            }
            let tag = "\(s) on \(isa)"
            #expect(code == refCode, "codes \(tag)")
            for (name, got, want) in [("pooled output", y.array, refY), ("input gradient", dx.array, refDX),
                                      ("weight gradient", dw.array, refDW), ("bias gradient", db.array, refDB),
                                      ("weight gradient, no dx", dwFirst.array, refDW), ("bias gradient, no dx", dbFirst.array, refDB)] {
                let i = firstBitDifference(got, want)
                #expect(i == nil, "\(name) \(tag): index \(i ?? -1): got \(i.map { got[$0] } ?? 0), want \(i.map { want[$0] } ?? 0)")
            }
        }
    }

    @Test("fused conv + ReLU + pool equals the unfused fast kernels bit for bit (random floats, accumulate), every ISA",
          arguments: shapes)
    func againstUnfused(_ s: ConvShape) throws {
        var rng = TestRNG(fixedSeed(7, s.batch, s.height, s.width, s.outChannels, s.kernel))
        let x = FloatBuffer(rng.array(s.inputCount)), w = FloatBuffer(rng.array(s.weightCount)), b = FloatBuffer(rng.array(s.outChannels))
        let (po, pw) = (s.outHeight / 2, s.outWidth / 2)
        let pooled = s.batch * po * pw * s.outChannels
        let dy = FloatBuffer(rng.array(pooled)), dwInit = rng.array(s.weightCount), dbInit = rng.array(s.outChannels)
        let conv = try Conv2DKernel(s), fused = try Conv2DMaxPoolKernel(s)
        let pool = try MaxPoolKernel(PoolShape(batch: s.batch, height: s.outHeight, width: s.outWidth, channels: s.outChannels))
        let ws = FloatBuffer(count: max(conv.workspaceFloats, fused.workspaceFloats), value: .nan)
        forEachISA { isa in
            // unfused: conv + ReLU -> pool -> pool backward with the ReLU mask -> conv backward
            let a = FloatBuffer(count: s.outputCount), y1 = FloatBuffer(count: pooled), da = FloatBuffer(count: s.outputCount)
            let dx1 = FloatBuffer(count: s.inputCount), dw1 = FloatBuffer(dwInit), db1 = FloatBuffer(dbInit)
            conv.forward(batch: s.batch, x: x.pointer, weights: w.pointer, bias: b.pointer, y: a.pointer, relu: true, workspace: ws.pointer)
            pool.forward(batch: s.batch, x: a.pointer, y: y1.pointer)
            pool.backward(batch: s.batch, x: a.pointer, y: y1.pointer, dy: dy.pointer, dx: da.pointer, reluMask: true)
            conv.backwardWeights(batch: s.batch, x: x.pointer, dy: da.pointer, dw: dw1.pointer, db: db1.pointer, accumulate: true,
                                 workspace: ws.pointer)
            conv.backwardData(batch: s.batch, dy: da.pointer, weights: w.pointer, dx: dx1.pointer, workspace: ws.pointer)
            // fused
            let y2 = FloatBuffer(count: pooled, value: .nan), dx2 = FloatBuffer(count: s.inputCount, value: .nan)
            let dw2 = FloatBuffer(dwInit), db2 = FloatBuffer(dbInit)
            var code = [UInt8](repeating: 0, count: pooled)
            code.withUnsafeMutableBufferPointer { cp in
                fused.forward(batch: s.batch, x: x.pointer, weights: w.pointer, bias: b.pointer, y: y2.pointer, code: cp.baseAddress!,
                              workspace: ws.pointer)
                fused.backward(batch: s.batch, x: x.pointer, weights: w.pointer, code: cp.baseAddress!, dy: dy.pointer, dx: dx2.pointer,
                               dw: dw2.pointer, db: db2.pointer, accumulate: true, workspace: ws.pointer)
            }
            for (name, got, want) in [("pooled output", y2.array, y1.array), ("input gradient", dx2.array, dx1.array),
                                      ("weight gradient", dw2.array, dw1.array), ("bias gradient", db2.array, db1.array)] {
                let i = firstBitDifference(got, want)
                #expect(i == nil, "\(name) \(s) on \(isa): index \(i ?? -1)")
            }
        }
    }

    @Test("the plan fuses every conv + pool, and fused plans train to the same bits", arguments: ModelZoo.named.map(\.name))
    func planEquivalence(_ model: String) throws {
        let data = syntheticData(count: 40, seed: 2), idx = (0..<40).map { Int32(($0 * 7) % 40) }
        var hashes: [Bool: UInt64] = [:]
        for fuse in [true, false] {
            let net = try Network(spec: try ModelZoo.spec(model), seed: 5)
            let s = try MinibatchScheduler(network: net, maxBatch: 20, shardSize: 8, threads: 2, fuseLayers: fuse)
            let labels = s.plan.stages.map(\.label)
            let kinds = net.resolved.map(\.kind)
            let pairs = zip(kinds, kinds.dropFirst()).filter { $0 == ("conv", "pool") }.count
            #expect(labels.filter { $0.contains("+") }.count == (fuse ? pairs : 0), "\(model) fuse=\(fuse): \(labels)")
            #expect(model == "lenet5-avgpool" || pairs >= 2, "\(model): \(kinds)")
            let hyper = MinibatchScheduler.Hyperparameters(learningRate: 0.05, momentum: 0.9, l2: 0.001)
            for step in 0..<2 {
                data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in
                    idx.withUnsafeBufferPointer {
                        _ = s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress! + 20 * step, count: 20,
                                   hyper: hyper, seed: 3, stepIndex: UInt64(step))
                    }
                } }
            }
            hashes[fuse] = weightHash(net)
        }
        #expect(hashes[true] == hashes[false], "\(model): fused and unfused plans diverged")
    }
}
