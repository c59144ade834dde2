import CKernels
import Foundation
import Testing
@testable import TinyConv

/// The `avgpool` layer kind end to end: kernel vs twin (bit-equal: the same summation
/// order), finite differences, and the layer unit in specs, plans and checkpoints.
@Suite("Average pooling: kernel, gradient, layer unit")
struct AvgPoolTests {
    @Test("avgpool forward/backward equal the twin to the bit: odd and even sizes, channels off the SIMD width",
          arguments: [(1, 2, 2, 1), (2, 3, 5, 3), (3, 28, 28, 6), (7, 24, 24, 120), (1, 10, 10, 150), (2, 10, 10, 16),
                      (32, 5, 7, 17), (1, 13, 11, 7), (2, 27, 2, 12)])
    func twin(_ d: (Int, Int, Int, Int)) throws {
        let (n, h, w, c) = d
        let s = PoolShape(batch: n, height: h, width: w, channels: c)
        var rng = TestRNG(0xA7 &+ UInt64(s.inputCount))
        let x = rng.array(s.inputCount), dy = rng.array(s.outputCount)
        var refY = [Float](repeating: 0, count: s.outputCount), refDX = [Float](repeating: 0, count: s.inputCount)
        tc_ref_avgpool2x2_forward(Int32(n), Int32(h), Int32(w), Int32(c), x, &refY)
        tc_ref_avgpool2x2_backward(Int32(n), Int32(h), Int32(w), Int32(c), dy, &refDX)
        try forEachISA { isa in
            // NaN-prefilled outputs: every element must be written (dropped odd rows too)
            let y = FloatBuffer(count: s.outputCount, value: .nan), dx = FloatBuffer(count: s.inputCount, value: .nan)
            try x.withUnsafeBufferPointer { try AvgPoolKernel.forward(s, x: $0, y: y.buffer) }
            try dy.withUnsafeBufferPointer { try AvgPoolKernel.backward(s, dy: $0, dx: dx.buffer) }
            #expect(y.array.map(\.bitPattern) == refY.map(\.bitPattern), "avgpool forward \(d) on \(isa)")
            #expect(dx.array.map(\.bitPattern) == refDX.map(\.bitPattern), "avgpool backward \(d) on \(isa)")
        }
    }

    @Test("avgpool backward matches finite differences of sum(r * avgpool(x))")
    func gradient() throws {
        let s = PoolShape(batch: 2, height: 7, width: 6, channels: 5)
        var rng = TestRNG(31)
        let x = rng.array(s.inputCount), r = rng.array(s.outputCount)
        func loss(_ x: [Float]) throws -> Double {
            let y = FloatBuffer(count: s.outputCount)
            try x.withUnsafeBufferPointer { try AvgPoolKernel.forward(s, x: $0, y: y.buffer) }
            return zip(y.array, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let dx = FloatBuffer(count: s.inputCount)
        try r.withUnsafeBufferPointer { try AvgPoolKernel.backward(s, dy: $0, dx: dx.buffer) }
        let h: Float = 0.01
        for i in 0..<x.count {
            var up = x, down = x
            up[i] += h
            down[i] -= h
            let numeric = (try loss(up) - loss(down)) / Double(2 * h)
            #expect(abs(numeric - Double(dx[i])) < 1e-3, "element \(i): numeric \(numeric), analytic \(dx[i])")
        }
    }

    @Test("bad avgpool arguments are one-line errors")
    func badArguments() throws {
        let x = FloatBuffer(count: 16), y = FloatBuffer(count: 4)
        #expect(throws: KernelArgumentError.self) {
            try AvgPoolKernel.forward(PoolShape(batch: 1, height: 1, width: 4, channels: 4), x: x.readOnly, y: y.buffer)
        }
        let e = #expect(throws: KernelArgumentError.self) {
            try AvgPoolKernel.forward(PoolShape(batch: 1, height: 4, width: 4, channels: 2), x: x.readOnly, y: y.buffer)
        }
        #expect(e?.description == "avgpool_forward: x holds 16 floats, the shape needs 32")
    }

    @Test("avgpool in a spec: parses, round-trips, shapes, FLOPs, plan stage and checkpoint")
    func layerUnit() throws {
        let spec = try ModelZoo.spec("lenet5-avgpool")
        #expect(spec.description == "conv5x5x6:same,avgpool,conv5x5x16,avgpool,fc120,fc84,fc10")
        #expect(try NetworkSpec.parse(spec.description) == spec)
        let net = try Network(spec: spec, seed: 3)
        #expect(net.resolved.map(\.name) == ["conv1", "avgpool1", "conv2", "avgpool2", "fc1", "fc2", "fc3"])
        #expect(net.resolved[1].output == TensorShape(14, 14, 6) && net.resolved[3].output == TensorShape(5, 5, 16))
        #expect(net.parameterCount == 61_706 && net.macsPerSample == 416_520)
        let plan = try ExecutionPlan(network: net, capacity: 8)
        #expect(plan.stages.map(\.label) == net.resolved.map(\.name))
        #expect(plan.kind(stage: 1) == "avgpool")
        // no ReLU-backward fusion into an average pool: the conv applies its own
        #expect((plan.stages[0] as? LinearStage<Conv2DKernel>)?.decisions.reluBackwardDoneByNext == false)
        #expect((try ExecutionPlan(network: Network(spec: ModelZoo.spec("lenet5"), seed: 1), capacity: 8, fuseLayers: false).stages[0] as? LinearStage<Conv2DKernel>)?.decisions.reluBackwardDoneByNext == true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("avgpool-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.write(path, network: net, config: TrainingConfig(), progress: TrainingProgress())
        let back = try Network(spec: spec, seed: 99)
        try Checkpoint.load(path, into: back)
        #expect(back.parameters.array == net.parameters.array)
        do {
            _ = try NetworkSpec.parse("conv5x5x6,fc10,avgpool,fc10")
            Issue.record("avgpool after a dense layer was accepted")
        } catch let e as SpecError {
            #expect(e.message.contains("an avgpool cannot follow a dense layer") || e.message.contains("cannot follow a dense layer"))
        }
    }
}
