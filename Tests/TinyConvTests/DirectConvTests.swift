import CKernels
import Testing
@testable import TinyConv

/// The direct convolutions (TC_VARIANT_DIRECT: k x k, Cin > 1, no im2col or col2im) against the
/// naive twins with small-integer data (exact on every ISA), and against the GEMM path bit for
/// bit with random floats: the tuner may swap them per layer without changing a result.
@Suite("Direct convolutions")
struct DirectConvTests {
    /// Odd sizes, channel counts off every vector width (and past 8 and 16, the AVX-512 lane
    /// switch and two channel blocks), batch 1, padding, rows narrower than a register block,
    /// the zoo's two shapes (LeNet-5's conv2, the Custom net's conv3).
    static let shapes: [ConvShape] = [
        ConvShape(batch: 3, height: 14, width: 14, inChannels: 6, outChannels: 16, kernel: 5, padding: 0),
        ConvShape(batch: 2, height: 12, width: 12, inChannels: 6, outChannels: 150, kernel: 3, padding: 0),
        ConvShape(batch: 1, height: 7, width: 9, inChannels: 3, outChannels: 5, kernel: 3, padding: 1),
        ConvShape(batch: 2, height: 5, width: 4, inChannels: 2, outChannels: 17, kernel: 2, padding: 0),
        ConvShape(batch: 1, height: 9, width: 11, inChannels: 11, outChannels: 33, kernel: 4, padding: 0),
        ConvShape(batch: 2, height: 8, width: 8, inChannels: 19, outChannels: 7, kernel: 5, padding: 2),
        ConvShape(batch: 1, height: 3, width: 3, inChannels: 9, outChannels: 64, kernel: 3, padding: 0),
        ConvShape(batch: 4, height: 20, width: 18, inChannels: 16, outChannels: 24, kernel: 3, padding: 1),
        // one and two output channels: a 64-wide tile's ragged panel reads past dy's last 63 rows
        ConvShape(batch: 2, height: 6, width: 7, inChannels: 3, outChannels: 1, kernel: 3, padding: 0),
        ConvShape(batch: 1, height: 5, width: 5, inChannels: 4, outChannels: 2, kernel: 2, padding: 1),
    ]

    static var direct: ConvAlgorithm {
        ConvAlgorithm(forward: KernelChoice(variant: .direct), backwardData: KernelChoice(variant: .direct),
                      backwardWeights: KernelChoice(variant: .direct))
    }

    @Test("every direction of the direct variant equals the naive twin exactly, outputs over NaN, every ISA",
          arguments: shapes)
    func exact(_ s: ConvShape) throws {
        #expect(ConvAlgorithm.options(s, .forward).contains(.direct))
        var rng = TestRNG(fixedSeed(61, s.batch, s.height, s.width, s.inChannels, s.outChannels, s.kernel, s.padding))
        let x = rng.integers(s.inputCount), w = rng.integers(s.weightCount), b = rng.integers(s.outChannels)
        let dy = rng.integers(s.outputCount), start = rng.integers(s.weightCount)
        var refY = [Float](repeating: 0, count: s.outputCount), refDX = [Float](repeating: 0, count: s.inputCount)
        var refDW = start, refDB = [Float](repeating: 0, count: s.outChannels)
        tc_ref_conv2d_forward(s.c, x, w, b, &refY, 1)
        tc_ref_conv2d_backward_data(s.c, dy, w, &refDX)
        tc_ref_conv2d_backward_weights(s.c, x, dy, &refDW, &refDB, 1)
        let k = try Conv2DKernel(s, algorithm: Self.direct)
        let xb = FloatBuffer(x), wb = FloatBuffer(w), bb = FloatBuffer(b), dyb = FloatBuffer(dy)
        try forEachISA { isa in
            let ws = FloatBuffer(count: k.workspaceFloats, value: .nan)
            let y = FloatBuffer(count: s.outputCount, value: .nan), dx = FloatBuffer(count: s.inputCount, value: .nan)
            let dw = FloatBuffer(start), db = FloatBuffer(count: s.outChannels, value: 0)
            k.forward(batch: s.batch, x: xb.pointer, weights: wb.pointer, bias: bb.pointer, y: y.pointer, relu: true, workspace: ws.pointer)
            k.backwardData(batch: s.batch, dy: dyb.pointer, weights: wb.pointer, dx: dx.pointer, workspace: ws.pointer)
            k.backwardWeights(batch: s.batch, x: xb.pointer, dy: dyb.pointer, dw: dw.pointer, db: db.pointer, accumulate: true,
                              workspace: ws.pointer)
            for (name, got, want) in [("forward", y.array, refY), ("input gradient", dx.array, refDX),
                                      ("weight gradient", dw.array, refDW), ("bias gradient", db.array, refDB)] {
                let i = firstBitDifference(got, want)
                #expect(i == nil, "direct \(name) \(s) on \(isa): index \(i ?? -1): got \(i.map { got[$0] } ?? 0), want \(i.map { want[$0] } ?? 0)")
            }
        }
    }

    @Test("the direct variant, every tile, gives the GEMM path's bits with random floats; weight gradient by channel ranges too",
          arguments: shapes)
    func sameBitsAsGEMM(_ s: ConvShape) throws {
        var rng = TestRNG(fixedSeed(67, s.batch, s.height, s.width, s.inChannels, s.outChannels, s.kernel, s.padding))
        let x = FloatBuffer(rng.array(s.inputCount)), w = FloatBuffer(rng.array(s.weightCount)), b = FloatBuffer(rng.array(s.outChannels))
        let dy = FloatBuffer(rng.array(s.outputCount)), start = rng.array(s.weightCount)
        try forEachISA { isa in
            func run(_ a: ConvAlgorithm, columns: [Range<Int>]) throws -> [Float] {
                let k = try Conv2DKernel(s, algorithm: a)
                let ws = FloatBuffer(count: k.workspaceFloats, value: .nan)
                let y = FloatBuffer(count: s.outputCount, value: .nan), dx = FloatBuffer(count: s.inputCount, value: .nan)
                let dw = FloatBuffer(start), dw2 = FloatBuffer(count: s.weightCount, value: .nan)
                k.forward(batch: s.batch, x: x.pointer, weights: w.pointer, bias: b.pointer, y: y.pointer, relu: false, workspace: ws.pointer)
                k.backwardData(batch: s.batch, dy: dy.pointer, weights: w.pointer, dx: dx.pointer, workspace: ws.pointer)
                for r in columns {
                    k.backwardWeights(batch: s.batch, x: x.pointer, dy: dy.pointer, dw: dw.pointer, db: nil, accumulate: true,
                                      workspace: ws.pointer, columns: r)
                    k.backwardWeights(batch: s.batch, x: x.pointer, dy: dy.pointer, dw: dw2.pointer, db: nil, accumulate: false,
                                      workspace: ws.pointer, columns: r)
                }
                return y.array + dx.array + dw.array + dw2.array
            }
            let whole = [0..<s.outChannels]
            let gemm = KernelChoice(variant: .gemm)
            let want = try run(ConvAlgorithm(forward: gemm, backwardData: gemm, backwardWeights: gemm), columns: whole)
            var choices: [KernelChoice] = [KernelChoice(variant: .direct)]
            choices += isa.tiles.map { KernelChoice(tile: $0, variant: .direct) }
            choices.append(KernelChoice(blocking: .init(kc: 7, nc: 40, mc: 13), variant: .direct))  // position blocks of 7
            for c in choices {
                let a = ConvAlgorithm(forward: c, backwardData: c, backwardWeights: c)
                let got = try run(a, columns: whole)
                let i = firstBitDifference(got, want)
                #expect(i == nil, "\(s) \(c) on \(isa): index \(i ?? -1) of \(want.count)")
            }
            let pieces = StagePiece.channelRanges(s.outChannels, pieces: 3, multiple: 16)
            let got = try run(Self.direct, columns: pieces)
            #expect(firstBitDifference(got, want) == nil, "\(s) direct in pieces \(pieces) on \(isa)")
        }
    }

    @Test("conv_input_gradient_rows == its twin on every ISA, adding onto dx: runs of 1 to 4 vectors and longer, rows narrower than a group",
          arguments: [(1, 6, 6, 6, 16, 5), (2, 14, 14, 6, 16, 5), (1, 12, 12, 6, 150, 3), (1, 3, 4, 17, 3, 2),
                      (2, 9, 13, 9, 5, 4), (1, 5, 30, 33, 2, 3), (1, 4, 20, 2, 7, 2), (1, 6, 9, 40, 3, 3)])
    func inputGradientKernel(_ p: (Int, Int, Int, Int, Int, Int)) throws {
        let (n, h, w, cin, cout, k) = p
        let ho = h - k + 1, wo = w - k + 1, krun = k * cin, runp = (krun + 15) / 16 * 16
        var rng = TestRNG(fixedSeed(71, n, h, w, cin, cout, k))
        let dy = rng.integers(n * ho * wo * cout), start = rng.integers(n * h * w * cin)
        var wr = [Float](repeating: 0, count: k * cout * runp)  // [k][Cout][runp], zero past the run
        for r in 0..<(k * cout) {
            for j in 0..<krun { wr[r * runp + j] = Float(Int(rng.next() % 9) - 4) }
        }
        var want = start
        tc_ref_conv_input_gradient_rows(Int32(n), Int32(h), Int32(w), Int32(cin), Int32(cout), Int32(k), dy, wr, &want)
        try forEachISA { isa in
            var got = start
            tc_conv_input_gradient_rows(Int32(n), Int32(h), Int32(w), Int32(cin), Int32(cout), Int32(k), dy, wr, &got)
            let i = firstBitDifference(got, want)
            #expect(i == nil, "\(p) on \(isa): index \(i ?? -1)")
        }
    }

    @Test("the tuner offers the direct variant exactly for k x k convs with Cin > 1, every direction")
    func offered() {
        let tuner = KernelTuner(mode: .fresh, wisdomPath: nil)
        for s in Self.shapes {
            for d in ConvAlgorithm.Direction.allCases {
                let list = tuner.candidates(s, d, rule: ConvAlgorithm.resolvedRule(s)[d])
                #expect(list.contains { $0.variant == .direct }, "\(s) \(d)")
            }
        }
        for s in [ConvShape(batch: 2, height: 28, width: 28, inChannels: 1, outChannels: 6, kernel: 5, padding: 2),
                  ConvShape(batch: 2, height: 12, width: 12, inChannels: 120, outChannels: 6, kernel: 1, padding: 0)] {
            for d in ConvAlgorithm.Direction.allCases { #expect(!ConvAlgorithm.options(s, d).contains(.direct), "\(s) \(d)") }
        }
        #expect(KernelChoice(text: "direct/12x16/fixed") == KernelChoice(tile: .init(12, 16), variant: .direct))
        // what runs, for people: the direct rule's own tiles, none for the input gradient's fixed block
        let lenetConv2 = Self.shapes[0]
        let r = Self.direct.resolved(lenetConv2)
        #expect(r.forward.tile != nil && r.backwardWeights.tile != nil && r.backwardData.tile == nil, "\(r)")
        #expect(ConvAlgorithm.rule.resolved(lenetConv2).backwardWeights.variant == .direct, "the weight gradient's rule")
        var mr: Int32 = 0, nr: Int32 = 0
        tc_conv2d_direct_tile(lenetConv2.c, Int32(ConvAlgorithm.Direction.forward.rawValue), &mr, &nr)
        #expect(r.forward.tile == KernelChoice.Tile(Int(mr), Int(nr)) && ISA.active.tiles.contains(r.forward.tile!))
    }
}
