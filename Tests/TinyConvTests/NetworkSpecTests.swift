import Testing
@testable import TinyConv

@Suite("Model specs, shapes and parameter counts")
struct NetworkSpecTests {
    @Test("LeNet-5: 61,470 weights, 61,706 with biases")
    func lenet() throws {
        let c = try ModelZoo.spec("lenet5").parameterCount()
        #expect(c.weights == 61_470)
        #expect(c.total == 61_706)
    }

    @Test("both Custom variants: 60,540 weights, 61,042 with biases; flatten 300")
    func custom() throws {
        for name in ["custom", "custom-1x1-then-pool", "pool-then-1x1", "1x1-then-pool"] {
            let spec = try ModelZoo.spec(name)
            let c = try spec.parameterCount()
            #expect(c.weights == 60_540, "\(name)")
            #expect(c.total == 61_042, "\(name)")
            let r = try spec.resolve()
            #expect(r.first { $0.name == "fc1" }?.input.count == 300)
        }
    }

    @Test("the report's forward MAC counts")
    func macs() throws {
        #expect(try Network(spec: ModelZoo.spec("lenet5"), seed: 1).macsPerSample == 416_520)
        #expect(try Network(spec: ModelZoo.spec("custom"), seed: 1).macsPerSample == 2_733_600)
        #expect(try Network(spec: ModelZoo.spec("custom-1x1-then-pool"), seed: 1).macsPerSample == 3_179_640)
    }

    @Test("regularized LeNet-5 has L2 0.001 and two dropout 0.3 layers, same parameters as LeNet-5")
    func regularized() throws {
        let s = try ModelZoo.spec("regularized-lenet5")
        #expect(s.l2 == 0.001)
        #expect(s.layers.filter { ($0 as? Dropout) == Dropout(rate: 0.3) }.count == 2)
        #expect(try s.parameterCount().total == 61_706)
    }

    @Test("spec text round-trips; padding, dropout and l2 are expressible")
    func roundTrip() throws {
        for (_, text) in ModelZoo.named {
            let s = try NetworkSpec.parse(text)
            #expect(try NetworkSpec.parse(s.description) == s)
        }
        let s = try NetworkSpec.parse("conv3x3x8:same, pool, fc32, dropout0.5, fc10, l2:0.01")
        #expect(s.layers.map(\.token) == ["conv3x3x8:same", "pool", "fc32", "dropout0.5", "fc10"])
        #expect(s.layers[0] as? Conv2D == Conv2D(kernel: 3, filters: 8, padding: .same))
        #expect(s.l2 == 0.01)
    }

    @Test("impossible or malformed specs give clear errors", arguments: [
        ("conv11x11x6,pool,conv11x11x6,fc10", "larger than the input"),
        ("conv29x29x6,fc10", "kernel must be 1...11"),
        ("conv5x5x6,pool,pool,pool,pool,pool,fc10", "needs at least a 2x2 input"),
        ("conv5x5x6,fc84", "the last layer must be fc10"),
        ("conv5x5x6,fc10,conv3x3x4,fc10", "a conv cannot follow a dense layer"),
        ("conv5x5x6,fc10,avgpool,fc10", "cannot follow a dense layer"),
        (Array(repeating: "fc16", count: 300).joined(separator: ",") + ",fc10", "at most 256 layers"),
        ("conv5x3x6,fc10", "only square kernels"),
        ("conv4x4x6:same,fc10", "needs an odd kernel"),
        ("conv5x5x6:full,fc10", "padding must be"),
        ("convAxBx6,fc10", "expected convKxKxFILTERS"),
        ("conv5x5x6,,fc10", "is empty"),
        ("conv5x5x6,dropout1.5,fc10", "rate in [0, 1)"),
        ("conv5x5x6,relu,fc10", "is not a layer"),
        ("fc10,dropout0.3", "dropout cannot be the last layer"),
        ("conv3x3x4,pool,fc10,l2:0.1,l2:0.2", "two l2: tokens"),
        ("lenet6", "unknown model"),
        ("", "unknown model"),
    ])
    func bad(_ c: (String, String)) {
        do {
            _ = try ModelZoo.spec(c.0)
            Issue.record("'\(c.0)' was accepted")
        } catch let e as SpecError {
            #expect(e.description.contains(c.1), "'\(c.0)': \(e)")
        } catch { Issue.record("\(error)") }
    }
}
