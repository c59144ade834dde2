import CKernels
import Foundation
import Testing
@testable import TinyConv

/// Every kernel choice the tuner can make (tile, blocking, variant) gives the shape rule's
/// bits, over a sweep of shapes, on every ISA, with random floats (not only exact
/// small-integer data), for the plain kernels and the fused conv + pool.
@Suite("Every algorithm choice computes the rule's bits")
struct AlgorithmChoiceTests {
    /// The models' conv and dense shapes at a shard of 3 and odd ones: Cin = 1 narrow and wide,
    /// channel counts off the vector width, batch 1, padding, 1x1 convs, dense layers.
    static let shapes: [ConvShape] = [
        ConvShape(batch: 3, height: 28, width: 28, inChannels: 1, outChannels: 6, kernel: 5, padding: 2),
        ConvShape(batch: 2, height: 28, width: 28, inChannels: 1, outChannels: 120, kernel: 5, padding: 0),
        ConvShape(batch: 3, height: 14, width: 14, inChannels: 6, outChannels: 16, kernel: 5, padding: 0),
        ConvShape(batch: 2, height: 12, width: 12, inChannels: 120, outChannels: 6, kernel: 1, padding: 0),
        ConvShape(batch: 2, height: 12, width: 12, inChannels: 6, outChannels: 150, kernel: 3, padding: 0),
        ConvShape(batch: 3, height: 5, width: 5, inChannels: 150, outChannels: 12, kernel: 1, padding: 0),
        ConvShape(batch: 8, height: 1, width: 1, inChannels: 400, outChannels: 120, kernel: 1, padding: 0),
        ConvShape(batch: 5, height: 1, width: 1, inChannels: 84, outChannels: 10, kernel: 1, padding: 0),
        ConvShape(batch: 1, height: 9, width: 7, inChannels: 1, outChannels: 7, kernel: 3, padding: 1),
        ConvShape(batch: 2, height: 11, width: 6, inChannels: 1, outChannels: 17, kernel: 5, padding: 2),
        ConvShape(batch: 1, height: 7, width: 9, inChannels: 3, outChannels: 5, kernel: 3, padding: 1),
        ConvShape(batch: 2, height: 13, width: 12, inChannels: 1, outChannels: 13, kernel: 4, padding: 0),
    ]

    /// The tuner's candidates for a direction plus blockings that split every dimension into
    /// several blocks (so each chain continues through C across blocks) and the analytical one.
    static func choices(_ s: ConvShape, _ d: ConvAlgorithm.Direction) -> [KernelChoice] {
        let tuner = KernelTuner(mode: .fresh, wisdomPath: nil)
        let rule = ConvAlgorithm.resolvedRule(s)[d]
        var list = tuner.candidates(s, d, rule: rule)
        guard ConvAlgorithm.options(s, d).contains(.blocking) else { return list }
        let small = KernelChoice.Blocking(kc: 16, nc: 40, mc: 13)
        let big = KernelChoice.Blocking(kc: 1024, nc: 4096, mc: 2048)
        for c in list where c.variant != .alt || d != .forward {
            list.append(KernelChoice(tile: c.tile, blocking: small, variant: c.variant))
        }
        list.append(KernelChoice(tile: rule.tile, blocking: big, variant: rule.variant))
        list += tuner.blockings(s, d, best: rule, rule: rule)
        return list
    }

    @Test("each candidate forced equals the rule bit for bit (forward, backward data, weight gradient), every ISA",
          arguments: shapes)
    func forcedCandidates(_ s: ConvShape) throws {
        var rng = TestRNG(fixedSeed(41, s.batch, s.height, s.width, s.inChannels, s.outChannels, s.kernel, s.padding))
        let x = FloatBuffer(rng.array(s.inputCount)), w = FloatBuffer(rng.array(s.weightCount)), b = FloatBuffer(rng.array(s.outChannels))
        let dy = FloatBuffer(rng.array(s.outputCount)), dwInit = rng.array(s.weightCount), dbInit = rng.array(s.outChannels)
        var checked = 0
        try forEachISA { isa in
            func run(_ a: ConvAlgorithm, _ d: ConvAlgorithm.Direction) throws -> [Float] {
                let k = try Conv2DKernel(s, algorithm: a)
                let ws = FloatBuffer(count: k.workspaceFloats, value: .nan)
                switch d {
                case .forward:
                    let y = FloatBuffer(count: s.outputCount, value: .nan)
                    k.forward(batch: s.batch, x: x.pointer, weights: w.pointer, bias: b.pointer, y: y.pointer, relu: true, workspace: ws.pointer)
                    return y.array
                case .backwardData:
                    let dx = FloatBuffer(count: s.inputCount, value: .nan)
                    k.backwardData(batch: s.batch, dy: dy.pointer, weights: w.pointer, dx: dx.pointer, workspace: ws.pointer)
                    return dx.array
                case .backwardWeights:  // accumulating onto values, and overwriting a stale buffer
                    let dw = FloatBuffer(dwInit), db = FloatBuffer(dbInit)
                    k.backwardWeights(batch: s.batch, x: x.pointer, dy: dy.pointer, dw: dw.pointer, db: db.pointer, accumulate: true,
                                      workspace: ws.pointer)
                    let dw2 = FloatBuffer(count: s.weightCount, value: .nan)
                    k.backwardWeights(batch: s.batch, x: x.pointer, dy: dy.pointer, dw: dw2.pointer, db: nil, accumulate: false,
                                      workspace: ws.pointer)
                    return dw.array + db.array + dw2.array
                }
            }
            for d in ConvAlgorithm.Direction.allCases {
                let want = try run(.rule, d)
                for c in Self.choices(s, d) {
                    var a = ConvAlgorithm.rule
                    a[d] = c
                    let got = try run(a, d)
                    let i = firstBitDifference(got, want)
                    #expect(i == nil, "\(s) \(d) \(c) on \(isa): index \(i ?? -1): got \(i.map { got[$0] } ?? 0), want \(i.map { want[$0] } ?? 0)")
                    checked += 1
                }
            }
        }
        #expect(checked > 0)
    }

    @Test("the fused conv + pool under every forward and weight-gradient candidate equals the rule, every ISA",
          arguments: shapes.filter { Conv2DMaxPoolKernel.supports($0) })
    func fusedCandidates(_ s: ConvShape) throws {
        var rng = TestRNG(fixedSeed(43, s.batch, s.height, s.width, s.inChannels, s.outChannels, s.kernel))
        let x = FloatBuffer(rng.array(s.inputCount)), w = FloatBuffer(rng.array(s.weightCount)), b = FloatBuffer(rng.array(s.outChannels))
        let pooled = s.batch * (s.outHeight / 2) * (s.outWidth / 2) * s.outChannels
        let dy = FloatBuffer(rng.array(pooled))
        try forEachISA { isa in
            func run(_ a: ConvAlgorithm) throws -> [Float] {
                let k = try Conv2DMaxPoolKernel(s, algorithm: a)
                let ws = FloatBuffer(count: k.workspaceFloats, value: .nan)
                let y = FloatBuffer(count: pooled, value: .nan), dx = FloatBuffer(count: s.inputCount, value: .nan)
                let dw = FloatBuffer(count: s.weightCount, value: .nan), db = FloatBuffer(count: s.outChannels, value: .nan)
                var code = [UInt8](repeating: 0xff, count: pooled)
                code.withUnsafeMutableBufferPointer { cp in
                    k.forward(batch: s.batch, x: x.pointer, weights: w.pointer, bias: b.pointer, y: y.pointer, code: cp.baseAddress!,
                              workspace: ws.pointer)
                    k.backward(batch: s.batch, x: x.pointer, weights: w.pointer, code: cp.baseAddress!, dy: dy.pointer, dx: dx.pointer,
                               dw: dw.pointer, db: db.pointer, accumulate: false, workspace: ws.pointer)
                }
                return y.array + code.map { Float($0) } + dx.array + dw.array + db.array
            }
            let want = try run(.rule)
            for d in [ConvAlgorithm.Direction.forward, .backwardWeights] {
                for c in Self.choices(s, d) {
                    var a = ConvAlgorithm.rule
                    a[d] = c
                    let got = try run(a)
                    let i = firstBitDifference(got, want)
                    #expect(i == nil, "fused \(s) \(d) \(c) on \(isa): index \(i ?? -1)")
                }
            }
        }
    }

    @Test("the direct Cin = 1 forward is offered exactly for Cin = 1 shapes, and tiles come from the ISA's table")
    func options() {
        let cin1 = ConvShape(batch: 2, height: 28, width: 28, inChannels: 1, outChannels: 6, kernel: 5, padding: 2)
        let other = ConvShape(batch: 2, height: 14, width: 14, inChannels: 6, outChannels: 16, kernel: 5, padding: 0)
        #expect(ConvAlgorithm.options(cin1, .forward).contains(.variant))
        #expect(!ConvAlgorithm.options(other, .forward).contains(.variant))
        #expect(ConvAlgorithm.options(cin1, .backwardWeights).isEmpty, "6 channels: the narrow weight-gradient kernel, nothing to choose")
        #expect(ConvAlgorithm.options(other, .backwardWeights) == [.tile, .blocking, .variant, .direct])
        for isa in ISA.supported {
            let tiles = isa.tiles
            #expect(tiles.count >= 5 && Set(tiles).count == tiles.count, "\(isa): \(tiles)")
            #expect(tiles.allSatisfy { $0.columns % (isa == .avx512 ? 8 : isa.vectorFloats) == 0 }, "\(isa): \(tiles)")
        }
    }

    @Test("choices print and parse back; malformed text is refused")
    func text() {
        let a = ConvAlgorithm(forward: KernelChoice(variant: .alt),
                              backwardData: KernelChoice(tile: .init(8, 32), blocking: .init(kc: 256, nc: 4096, mc: 384), variant: .gemm),
                              backwardWeights: .rule)
        #expect(ConvAlgorithm(text: a.description) == a)
        let p = PlanChoices(layers: [0: .init(algorithm: a, fused: true), 3: .init(algorithm: .rule, fused: nil),
                                     5: .init(algorithm: a, fused: false)])
        #expect(PlanChoices(text: p.text) == p)
        for bad in ["", "gemm/12x32", "fast/12x32/fixed", "gemm/12y32/fixed", "gemm/0x32/fixed", "gemm/12x32/kc0.nc1.mc1",
                    "gemm/12x32/kc1.nc1", "gemm/999x32/fixed"] {
            #expect(KernelChoice(text: bad) == nil, "\(bad)")
        }
        #expect(PlanChoices(text: "x rule/rule/fixed;rule/rule/fixed;rule/rule/fixed -") == nil)
        #expect(PlanChoices(text: "1 rule/rule/fixed;rule/rule/fixed -") == nil)
    }
}
