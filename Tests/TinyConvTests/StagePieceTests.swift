import Testing
@testable import TinyConv

/// Work below the shard: the cuts partition what they cut, and every stage's pieces, run one
/// after another into buffers filled with NaN, write exactly the bits of the whole call (an
/// element no piece wrote stays NaN and fails the comparison).
@Suite("Stage pieces: work below the shard")
struct StagePieceTests {
    @Test("image and channel ranges partition 0..<n into contiguous non-empty pieces")
    func ranges() {
        for n in 1...33 {
            for pieces in [1, 2, 3, 4, 5, 7, 8, 16, 40] {
                for cut in [StagePiece.ranges(n, pieces: pieces)] + [1, 8, 16].map({ StagePiece.channelRanges(n, pieces: pieces, multiple: $0) }) {
                    #expect(cut.first?.lowerBound == 0 && cut.last?.upperBound == n, "\(n)/\(pieces): \(cut)")
                    #expect(cut.allSatisfy { !$0.isEmpty } && cut.count <= pieces, "\(n)/\(pieces): \(cut)")
                    #expect(zip(cut, cut.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(n)/\(pieces): \(cut)")
                }
                let even = StagePiece.ranges(n, pieces: pieces).map(\.count)
                #expect(even.max()! - even.min()! <= 1)
                for m in [8, 16] {
                    #expect(StagePiece.channelRanges(n, pieces: pieces, multiple: m).dropLast().allSatisfy { $0.count % m == 0 })
                }
            }
        }
    }

    static let specs = ["lenet5", "custom", "custom-1x1-then-pool", "lenet5-avgpool", TrainingTests.dropoutSpec,
                        "conv3x3x37:same,pool,conv1x1x19,fc33,fc10"]

    @Test("each stage's pieces write every output exactly as the whole call, at many splits and shard sizes",
          arguments: specs)
    func piecesEqualWhole(_ model: String) throws {
        let net = try Network(spec: try ModelZoo.spec(model), seed: 4)
        for fuse in [true, false] {
            let plan = try ExecutionPlan(network: net, capacity: 8, fuseLayers: fuse)
            for images in [1, 5, 8] {
                for budget in [1, 2, 3, 4, 7, 16] {
                    try check(plan, images: images, budget: budget)
                }
            }
        }
    }

    private func check(_ plan: ExecutionPlan, images n: Int, budget: Int) throws {
        let net = plan.network
        let whole = ShardWorkspace(plan: plan), split = ShardWorkspace(plan: plan)
        var rng = TestRNG(UInt64(n * 100 + budget))
        for (a, b) in zip(whole.activations + whole.activationGradients, split.activations + split.activationGradients) {
            for i in 0..<a.count { let v = Float(Int(rng.next() % 2001) - 1000) / 997; a.pointer[i] = v; b.pointer[i] = v }
        }
        let gWhole = FloatBuffer(count: net.parameterCount, value: .nan), gSplit = FloatBuffer(count: net.parameterCount, value: .nan)
        for (i, stage) in plan.stages.enumerated() {
            let piecewise = try #require(stage as? any PiecewiseStage, "\(stage.label) does not split")
            let first = stage.layers.lowerBound, last = stage.layers.upperBound
            let inFloats = net.resolved[first].input.count * n, outFloats = net.resolved[last].output.count * n
            let ctx = { (w: ShardWorkspace, g: FloatBuffer) in
                w.context(net, layers: stage.layers, count: n, firstSample: 3, gradients: g.pointer, seed: 9, step: 2, training: true)
            }
            let (a, b) = (ctx(whole, gWhole), ctx(split, gSplit))
            let where_ = "\(stage.label) (stage \(i)), \(n) images, budget \(budget)"
            // forward
            b.y.update(repeating: .nan, count: outFloats)
            stage.forward(a)
            for p in piecewise.forwardPieces(images: n, budget: budget) { piecewise.forward(b, piece: p) }
            #expect(bits(a.y, outFloats) == bits(b.y, outFloats), "forward y: \(where_)")
            let maskBytes = stage.maskBytesPerSample * n
            #expect(Array(UnsafeBufferPointer(start: a.mask, count: maskBytes)) == Array(UnsafeBufferPointer(start: b.mask, count: maskBytes)),
                    "forward mask: \(where_)")
            // backward: parameter gradients, input gradient and dy (a fused ReLU's backward is in place)
            if let dx = b.dx { dx.update(repeating: .nan, count: inFloats) }
            stage.backward(a)
            for phase in piecewise.backwardPhases(images: n, budget: budget, inputGradient: first > 0) {
                for p in phase { piecewise.backward(b, piece: p) }
            }
            let lo = net.parameterOffsets[first], hi = last + 1 < net.parameterOffsets.count ? net.parameterOffsets[last + 1] : net.parameterCount
            #expect(bits(gWhole.pointer + lo, hi - lo) == bits(gSplit.pointer + lo, hi - lo), "parameter gradients: \(where_)")
            #expect(bits(a.dy, outFloats) == bits(b.dy, outFloats), "dy: \(where_)")
            if first > 0, let dxa = a.dx, let dxb = b.dx {
                #expect(bits(dxa, inFloats) == bits(dxb, inFloats), "input gradient: \(where_)")
            }
        }
    }

    private func bits(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> [UInt32] {
        UnsafeBufferPointer(start: p, count: n).map(\.bitPattern)
    }
}

@Suite("The split below the shard is measured, not assumed")
struct SplitDecisionTests {
    func steps(_ s: MinibatchScheduler, _ n: Int, count: Int = 16) {
        let data = syntheticData(count: count, seed: 5)
        let idx = (0..<Int32(count)).map { $0 }
        for t in 0..<n {
            _ = data.images.withUnsafeBufferPointer { img in data.labels.withUnsafeBufferPointer { lab in idx.withUnsafeBufferPointer {
                s.step(images: img.baseAddress!, labels: lab.baseAddress!, indices: $0.baseAddress!, count: count,
                       hyper: .init(), seed: 1, stepIndex: UInt64(t))
            } } }
        }
    }

    @Test("decided after the trial steps where it may split; never tried where it may not")
    func decided() throws {
        let net = try Network(spec: try ModelZoo.spec("lenet5"), seed: 2)
        let split = try MinibatchScheduler(network: net, maxBatch: 16, shardSize: 8, threads: 4)  // 2 shards, 4 threads
        steps(split, MinibatchScheduler.splitTrialSteps - 1)
        #expect(split.splitDecision == nil && split.measuringSplit)
        steps(split, 1)
        #expect(split.splitDecision != nil && !split.measuringSplit && split.splitSummary != nil)
        #expect(split.splitBest.pieces < UInt64.max && split.splitBest.whole < UInt64.max)  // both ways were timed
        let whole = try MinibatchScheduler(network: net, maxBatch: 16, shardSize: 8, threads: 2)  // 2 shards, 2 threads
        steps(whole, MinibatchScheduler.splitTrialSteps)
        #expect(whole.splitDecision == nil && !whole.measuringSplit)
        let off = try MinibatchScheduler(network: net, maxBatch: 16, shardSize: 8, threads: 4, splitBelowShard: false)
        steps(off, MinibatchScheduler.splitTrialSteps)
        #expect(off.splitDecision == nil && !off.measuringSplit && off.splitBest.pieces == UInt64.max)
    }
}
