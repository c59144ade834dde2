import CKernels
import Testing
@testable import TinyConv

/// The range forms of the kernels behind work below the shard (`tc_conv2d_backward_weights_columns`,
/// `tc_dense_*_columns`) and the tree's one-node merge (`tc_add_buffer`), against their naive
/// twins on every ISA: small-integer data, so each piece's elements must equal the twin to the
/// bit; pieces written into NaN-filled buffers, so an element no piece wrote fails too.
@Suite("Column-range kernels and the tree merge against their twins, every ISA")
struct ColumnRangeKernelTests {
    /// Odd sizes: channel counts off the vector width, batch 1, padding, 1x1, a dense-like 1x1x1 image.
    static let convShapes: [ConvShape] = [
        ConvShape(batch: 1, height: 7, width: 5, inChannels: 3, outChannels: 17, kernel: 3, padding: 1),
        ConvShape(batch: 3, height: 10, width: 9, inChannels: 6, outChannels: 33, kernel: 5, padding: 0),
        ConvShape(batch: 2, height: 6, width: 6, inChannels: 13, outChannels: 7, kernel: 1, padding: 0),
        ConvShape(batch: 8, height: 12, width: 12, inChannels: 120, outChannels: 6, kernel: 1, padding: 0),
    ]
    static let denseShapes: [(n: Int, inputs: Int, outputs: Int)] = [(1, 5, 3), (8, 400, 120), (5, 37, 19), (3, 16, 65)]
    static let cuts: [(Int, Int)] = [(1, 1), (2, 1), (3, 16), (5, 8), (40, 1)]  // (pieces, channel multiple)

    @Test("conv weight gradient by output-channel ranges == the twin, overwrite and accumulate", arguments: convShapes)
    func convWeightColumns(_ s: ConvShape) throws {
        var rng = TestRNG(UInt64(s.outChannels * 100 + s.inChannels))
        let x = rng.integers(s.inputCount), dy = rng.integers(s.outputCount), start = rng.integers(s.weightCount)
        let k = try Conv2DKernel(s)
        guard k.weightGradientSplits else { return }
        for accumulate in [false, true] {
            var refDW = start, refDB = [Float](repeating: 0, count: s.outChannels)
            tc_ref_conv2d_backward_weights(s.c, x, dy, &refDW, &refDB, accumulate ? 1 : 0)
            try forEachISA { isa in
                for (pieces, multiple) in Self.cuts {
                    let dw = FloatBuffer(accumulate ? start : [Float](repeating: .nan, count: s.weightCount))
                    let db = FloatBuffer(count: s.outChannels, value: .nan), ws = FloatBuffer(count: s.workspaceFloats, value: .nan)
                    let xb = FloatBuffer(x), dyb = FloatBuffer(dy)
                    if !accumulate { db.pointer.update(repeating: 0, count: s.outChannels) }
                    for r in StagePiece.channelRanges(s.outChannels, pieces: pieces, multiple: multiple) {
                        k.backwardWeights(batch: s.batch, x: xb.pointer, dy: dyb.pointer, dw: dw.pointer,
                                          db: r.lowerBound == 0 && !accumulate ? db.pointer : nil, accumulate: accumulate,
                                          workspace: ws.pointer, columns: r)
                    }
                    let i = firstBitDifference(dw.array, refDW)
                    #expect(i == nil, "\(s) accumulate \(accumulate) on \(isa), \(pieces) pieces: dw[\(i ?? -1)]")
                    if !accumulate { #expect(firstBitDifference(db.array, refDB) == nil, "\(s) on \(isa): bias gradient") }
                }
            }
        }
    }

    @Test("dense forward, input gradient and weight gradient by feature ranges == the twins")
    func denseColumns() throws {
        for (n, inputs, outputs) in Self.denseShapes {
            var rng = TestRNG(UInt64(n * 1000 + inputs))
            let x = rng.integers(n * inputs), w = rng.integers(inputs * outputs), b = rng.integers(outputs)
            let dy = rng.integers(n * outputs)
            var refY = [Float](repeating: 0, count: n * outputs), refDX = [Float](repeating: 0, count: n * inputs)
            var refDW = [Float](repeating: 0, count: inputs * outputs), refDB = [Float](repeating: 0, count: outputs)
            tc_ref_dense_forward(Int32(n), Int32(inputs), Int32(outputs), x, w, b, &refY, 1)
            tc_ref_dense_backward_data(Int32(n), Int32(inputs), Int32(outputs), dy, w, &refDX)
            tc_ref_dense_backward_weights(Int32(n), Int32(inputs), Int32(outputs), x, dy, &refDW, &refDB, 0)
            let shape = DenseShape(batch: n, inputs: inputs, outputs: outputs)
            let k = try DenseKernel(shape)
            let xb = FloatBuffer(x), wb = FloatBuffer(w), bb = FloatBuffer(b), dyb = FloatBuffer(dy)
            try forEachISA { isa in
                for (pieces, multiple) in Self.cuts {
                    let ws = FloatBuffer(count: shape.workspaceFloats, value: .nan)
                    let y = FloatBuffer(count: n * outputs, value: .nan), dx = FloatBuffer(count: n * inputs, value: .nan)
                    let dw = FloatBuffer(count: inputs * outputs, value: .nan), db = FloatBuffer(count: outputs, value: .nan)
                    for r in StagePiece.channelRanges(outputs, pieces: pieces, multiple: multiple) {
                        k.forward(batch: n, x: xb.pointer, weights: wb.pointer, bias: bb.pointer, y: y.pointer, relu: true,
                                  workspace: ws.pointer, columns: r)
                        k.backwardWeights(batch: n, x: xb.pointer, dy: dyb.pointer, dw: dw.pointer,
                                          db: r.lowerBound == 0 ? db.pointer : nil, accumulate: false, workspace: ws.pointer, columns: r)
                    }
                    for r in StagePiece.channelRanges(inputs, pieces: pieces, multiple: multiple) {
                        k.backwardData(batch: n, dy: dyb.pointer, weights: wb.pointer, dx: dx.pointer, workspace: ws.pointer, columns: r)
                    }
                    let tag = "\(n)x\(inputs)->\(outputs) on \(isa), \(pieces) pieces"
                    for (name, got, want) in [("forward", y.array, refY), ("input gradient", dx.array, refDX),
                                              ("weight gradient", dw.array, refDW), ("bias gradient", db.array, refDB)] {
                        let i = firstBitDifference(got, want)
                        #expect(i == nil, "\(name) \(tag): index \(i ?? -1)")
                    }
                }
            }
        }
    }

    @Test("tc_add_buffer: one tree node, the bits of tc_sum_buffers over its two halves, odd lengths")
    func addBuffer() {
        var rng = TestRNG(3)
        forEachISA { isa in
            for count in [1, 7, 16, 255, 256, 257, 1000] {
                let left = rng.array(count), right = rng.array(count)
                let l = FloatBuffer(left), r = FloatBuffer(right), sum = FloatBuffer(count: count, value: .nan)
                let src = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 2)
                defer { src.deallocate() }
                (src[0], src[1]) = (UnsafePointer(l.pointer), UnsafePointer(r.pointer))
                GradientSumKernel.sum(count: count, sources: 2, src: src, dst: sum.pointer)
                GradientSumKernel.merge(count: count, right: r.pointer, into: l.pointer)
                #expect(firstBitDifference(l.array, sum.array) == nil, "\(count) on \(isa)")
                #expect(firstBitDifference(l.array, zip(left, right).map { $0 + $1 }) == nil, "\(count) on \(isa): naive")
            }
        }
    }
}
