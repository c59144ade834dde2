import CKernels
import Testing
@testable import TinyConv

@Suite("Dense and GEMM kernels vs naive twins")
struct DenseAndGemmKernelTests {
    static let sizes = [1, 3, 6, 7, 10, 16, 17, 84, 120, 150, 300, 400]

    static var denseShapes: [DenseShape] {
        var out: [DenseShape] = []
        var i = 0
        for inputs in sizes {
            for outputs in sizes {
                i += 1
                out.append(DenseShape(batch: [1, 2, 3, 7, 32][i % 5], inputs: inputs, outputs: outputs))
            }
        }
        return out
    }

    /// Small-integer data: bit equality with the twin in every direction, over NaN outputs.
    func checkExact(_ s: DenseShape, relu: Bool) throws {
        let seedValue = fixedSeed(s.batch, s.inputs, s.outputs, 2)
        var rng = TestRNG(seedValue)
        let x = rng.integers(s.batch * s.inputs), w = rng.integers(s.weightCount), b = rng.integers(s.outputs)
        let dy = rng.integers(s.batch * s.outputs)
        var refY = [Float](repeating: 0, count: s.batch * s.outputs), refDX = [Float](repeating: 0, count: s.batch * s.inputs)
        var refDW = [Float](repeating: 0, count: s.weightCount), refDB = [Float](repeating: 0, count: s.outputs)
        let (n, i, o) = (Int32(s.batch), Int32(s.inputs), Int32(s.outputs))
        tc_ref_dense_forward(n, i, o, x, w, b, &refY, relu ? 1 : 0)
        tc_ref_dense_backward_data(n, i, o, dy, w, &refDX)
        tc_ref_dense_backward_weights(n, i, o, x, dy, &refDW, &refDB, 0)
        let k = try DenseKernel(s)
        let ws = FloatBuffer(count: s.workspaceFloats, value: .nan)
        try forEachISA { isa in
            let y = FloatBuffer(count: refY.count, value: .nan), dx = FloatBuffer(count: refDX.count, value: .nan)
            let dw = FloatBuffer(count: refDW.count, value: .nan), db = FloatBuffer(count: refDB.count, value: .nan)
            let xb = FloatBuffer(x), wb = FloatBuffer(w), bb = FloatBuffer(b), dyb = FloatBuffer(dy)
            k.forward(batch: s.batch, x: xb.pointer, weights: wb.pointer, bias: bb.pointer, y: y.pointer, relu: relu, workspace: ws.pointer)
            k.backwardData(batch: s.batch, dy: dyb.pointer, weights: wb.pointer, dx: dx.pointer, workspace: ws.pointer)
            k.backwardWeights(batch: s.batch, x: xb.pointer, dy: dyb.pointer, dw: dw.pointer, db: db.pointer, accumulate: false,
                              workspace: ws.pointer)
            for (name, got, want) in [("forward", y.array, refY), ("backward-data", dx.array, refDX),
                                      ("backward-weights", dw.array, refDW), ("bias gradient", db.array, refDB)] {
                let at = firstBitDifference(got, want)
                #expect(at == nil, "exact dense \(name) \(s.batch)x\(s.inputs)->\(s.outputs) on \(isa), seed \(seedValue): index \(at ?? -1)")
            }
        }
    }

    func check(_ s: DenseShape, relu: Bool) throws {
        var rng = TestRNG(fixedSeed(s.batch, s.inputs, s.outputs, 1))
        let x = rng.array(s.batch * s.inputs), w = rng.array(s.weightCount), b = rng.array(s.outputs)
        let dy = rng.array(s.batch * s.outputs)
        var refY = [Float](repeating: 0, count: s.batch * s.outputs), magY = refY
        var refDX = [Float](repeating: 0, count: s.batch * s.inputs), magDX = refDX
        var refDW = [Float](repeating: 0, count: s.weightCount), magDW = refDW
        var refDB = [Float](repeating: 0, count: s.outputs), magDB = refDB
        let (n, i, o) = (Int32(s.batch), Int32(s.inputs), Int32(s.outputs))
        tc_ref_dense_forward(n, i, o, x, w, b, &refY, relu ? 1 : 0)
        tc_ref_dense_forward(n, i, o, x.absolute, w.absolute, b.absolute, &magY, 0)
        tc_ref_dense_backward_data(n, i, o, dy, w, &refDX)
        tc_ref_dense_backward_data(n, i, o, dy.absolute, w.absolute, &magDX)
        tc_ref_dense_backward_weights(n, i, o, x, dy, &refDW, &refDB, 0)
        tc_ref_dense_backward_weights(n, i, o, x.absolute, dy.absolute, &magDW, &magDB, 0)
        let ws = FloatBuffer(count: s.workspaceFloats, value: .nan)
        try forEachISA { isa in
            let y = FloatBuffer(count: refY.count, value: .nan), dx = FloatBuffer(count: refDX.count, value: .nan)
            let dw = FloatBuffer(count: refDW.count, value: .nan), db = FloatBuffer(count: refDB.count, value: .nan)
            try x.withUnsafeBufferPointer { xp in
                try w.withUnsafeBufferPointer { wp in
                    try b.withUnsafeBufferPointer { bp in
                        try dy.withUnsafeBufferPointer { dyp in
                            try DenseKernel.forward(s, x: xp, weights: wp, bias: bp, y: y.buffer, relu: relu,
                                                    workspace: ws.buffer)
                            try DenseKernel.backwardData(s, dy: dyp, weights: wp, dx: dx.buffer,
                                                         workspace: ws.buffer)
                            try DenseKernel.backwardWeights(s, x: xp, dy: dyp, dw: dw.buffer, db: db.buffer,
                                                            accumulate: false, workspace: ws.buffer)
                        }
                    }
                }
            }
            let tag = "\(s.batch)x\(s.inputs)->\(s.outputs) on \(isa)"
            let f = firstMismatch(y.array, refY, magnitude: magY, terms: s.inputs + 1)
            #expect(f == nil, "dense forward \(tag): \(f!)")
            let d = firstMismatch(dx.array, refDX, magnitude: magDX, terms: s.outputs)
            #expect(d == nil, "dense backward-data \(tag): \(d!)")
            let g = firstMismatch(dw.array, refDW, magnitude: magDW, terms: s.batch)
            #expect(g == nil, "dense backward-weights \(tag): \(g!)")
            let gb = firstMismatch(db.array, refDB, magnitude: magDB, terms: s.batch)
            #expect(gb == nil, "dense bias gradient \(tag): \(gb!)")
        }
    }

    @Test("exact dense sweep: small integers, bit-equal to the twin", arguments: denseShapes)
    func exactDense(_ s: DenseShape) throws {
        try checkExact(s, relu: s.outputs % 2 == 0)
    }

    @Test("dense sweep: in/out in 1..400, batch 1..32", arguments: denseShapes)
    func dense(_ s: DenseShape) throws { try check(s, relu: s.outputs % 2 == 0) }

    @Test("every dense layer of the report's models at batch 32")
    func modelLayers() throws {
        for (_, layer) in try modelLayerShapes(batch: 32) {
            if let dense = layer.unit as? Dense { try check(dense.shape(layer, batch: 32), relu: layer.relu) }
        }
    }

    @Test("transpose (the GEMM packings' copy) equals its twin on every ISA: partial 8x8 blocks, pitches, nothing else written",
          arguments: [1, 3, 6, 7, 8, 9, 16, 17, 28, 33])
    func transpose(_ rows: Int) throws {
        for cols in [1, 2, 6, 8, 9, 15, 16, 24, 30] {
            var rng = TestRNG(UInt64(rows * 101 + cols))
            let lds = cols + 3, ldd = rows + 5
            let src = rng.array(rows * lds), untouched = rng.array(cols * ldd)
            var ref = untouched
            tc_ref_transpose(rows, cols, src, lds, &ref, ldd)
            try forEachISA { isa in
                var got = untouched
                tc_transpose(rows, cols, src, lds, &got, ldd)
                #expect(got.map(\.bitPattern) == ref.map(\.bitPattern), "transpose \(rows)x\(cols) on \(isa)")
            }
        }
    }

    @Test("GEMM with every transpose combination, accumulate, bias and ReLU",
          arguments: [(1, 1, 1), (5, 7, 3), (13, 33, 17), (37, 6, 200), (100, 100, 400), (12, 32, 193), (25, 120, 700),
                     (6, 120, 50), (3, 70, 10), (6, 64, 385), (8, 120, 400), (16, 150, 384), (7, 40, 9), (15, 84, 200)])
    func gemm(_ dims: (Int, Int, Int)) throws {
        let (m, n, k) = dims
        var rng = TestRNG(UInt64(m * 131 + n * 17 + k))
        let a = rng.array(m * k), b = rng.array(k * n), bias = rng.array(n), c0 = rng.array(m * n)
        var ws = [Float](repeating: .nan, count: Int(tc_gemm_workspace_floats(m, n, k)))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (rsA, csA) = ta ? (1, m) : (k, 1)
            let (rsB, csB) = tb ? (1, k) : (n, 1)
            for (accumulate, relu, useBias) in [(false, false, false), (false, true, true), (true, false, false), (true, true, false)] {
                var ref = c0, mag = c0.absolute
                tc_ref_gemm(m, n, k, a, rsA, csA, b, rsB, csB, &ref, n, accumulate ? 1 : 0, useBias ? bias : nil, relu ? 1 : 0)
                tc_ref_gemm(m, n, k, a.absolute, rsA, csA, b.absolute, rsB, csB, &mag, n, accumulate ? 1 : 0,
                            useBias ? bias.absolute : nil, 0)
                try forEachISA { isa in
                    var c = c0
                    ws.withUnsafeMutableBufferPointer { wsp in
                        tc_gemm(m, n, k, a, rsA, csA, b, rsB, csB, &c, n, accumulate ? 1 : 0, useBias ? bias : nil,
                                relu ? 1 : 0, wsp.baseAddress)
                    }
                    let mm = firstMismatch(c, ref, magnitude: mag, terms: k + 1)
                    #expect(mm == nil, "gemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb) acc=\(accumulate) relu=\(relu) on \(isa): \(mm!)")
                }
            }
        }
    }
}
