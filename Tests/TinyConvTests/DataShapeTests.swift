import Foundation
import Testing
@testable import ONNXExport
@testable import TinyConv

/// IDX bytes of an unsigned-byte (0x08) or float32 (0x0D, big-endian) tensor.
func idxData(dims: [Int], bytes: [UInt8]? = nil, floats: [Float]? = nil) -> Data {
    var d = Data([0, 0, floats == nil ? 0x08 : 0x0D, UInt8(dims.count)])
    for v in dims { d.append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)]) }
    if let bytes { d.append(contentsOf: bytes) }
    for f in floats ?? [] { withUnsafeBytes(of: f.bitPattern.bigEndian) { d.append(contentsOf: $0) } }
    return d
}

/// A 3-channel 32x32 set of coloured shapes the suite makes itself: class 0-2 a square of red,
/// green or blue, class 3 a red ring, each at a random place on a dim noisy background.
func colouredShapes(count: Int, seed: UInt64) -> (images: [UInt8], labels: [UInt8]) {
    var rng = TestRNG(seed)
    var images = [UInt8](repeating: 0, count: count * 32 * 32 * 3), labels = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        let label = Int(rng.next() % 4)
        labels[i] = UInt8(label)
        let size = 8 + Int(rng.next() % 8), y0 = Int(rng.next() % UInt64(32 - size)), x0 = Int(rng.next() % UInt64(32 - size))
        for y in 0..<32 {
            for x in 0..<32 {
                let base = ((i * 32 + y) * 32 + x) * 3
                for c in 0..<3 { images[base + c] = UInt8(rng.next() % 40) }
                let inside = y >= y0 && y < y0 + size && x >= x0 && x < x0 + size
                let edge = inside && (y == y0 || y == y0 + size - 1 || x == x0 || x == x0 + size - 1)
                if label < 3 ? inside : edge { images[base + (label < 3 ? label : 0)] = 230 }
            }
        }
    }
    return (images, labels)
}

@Suite("Data of any shape: channels, float32 pixels, class counts from the labels")
struct DataShapeTests {
    static func folder(_ files: [String: Data]) throws -> String {
        let dir = NSTemporaryDirectory() + "tinyconv-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: URL(fileURLWithPath: dir + "/" + name)) }
        return dir
    }

    @Test("a 3-channel 32x32 set trains a small net in one epoch; its checkpoint and ONNX model carry the shape")
    func colour() throws {
        let (trainX, trainY) = colouredShapes(count: 640, seed: 1), (testX, testY) = colouredShapes(count: 200, seed: 2)
        let dir = try Self.folder([
            "train-images.idx": idxData(dims: [640, 32, 32, 3], bytes: trainX), "train-labels.idx": idxData(dims: [640], bytes: trainY),
            "test-images.idx": idxData(dims: [200, 32, 32, 3], bytes: testX), "test-labels.idx": idxData(dims: [200], bytes: testY)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (train, test) = try MNIST.load(folder: dir)
        #expect(train.shape == TensorShape(32, 32, 3) && train.classes == 4 && test.count == 200)
        #expect(train.images[2] == Float(trainX[2]) * (1.0 / 255.0))
        var c = TrainingConfig()
        (c.input, c.classes, c.epochs, c.threads, c.learningRate) = (train.shape, train.classes, 1, 2, 0.003)
        c.optimizer.kind = .adamw
        c.spec = try NetworkSpec.parse("conv3x3x8:same,pool,conv3x3x16,pool,fc32,fc4", input: c.input, classes: c.classes).description
        let net = try Network(spec: try c.networkSpec(), seed: 1)
        let t = try Trainer(config: c, network: net, train: train, validation: nil, test: test)
        try t.run()
        let acc = t.progress.history.last!.testAccuracy
        #expect(acc > 0.6, "test accuracy \(acc) after one epoch (chance 0.25)")
        let path = dir + "/c.safetensors"
        try Checkpoint.write(path, network: net, config: c, progress: t.progress)
        let back = try Checkpoint.readContents(path)
        #expect(back.config.input == TensorShape(32, 32, 3) && back.config.classes == 4)
        let m = try Onnx_ModelProto(serializedBytes: try ONNXExporter.model(net, config: c, progress: t.progress))
        #expect(m.graph.input.first?.type.tensorType.shape.dim.map(\.dimValue) == [0, 3, 32, 32])
        #expect(m.graph.output.first?.type.tensorType.shape.dim.map(\.dimValue) == [0, 4])
    }

    @Test("grey float32 images with 47 classes: the class count comes from the labels; the spec is checked against both")
    func grey47() throws {
        var rng = TestRNG(7)
        let n = 94, labels = (0..<n).map { UInt8($0 % 47) }
        let pixels = (0..<(n * 20 * 20)).map { _ in rng.float() }
        let dir = try Self.folder([
            "train-images.idx.gz": try gzip(idxData(dims: [n, 20, 20], floats: pixels)), "train-labels.idx": idxData(dims: [n], bytes: labels),
            "test-images.idx": idxData(dims: [n, 20, 20], floats: pixels), "test-labels.idx": idxData(dims: [n], bytes: labels)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (train, _) = try MNIST.load(folder: dir)
        #expect(train.shape == TensorShape(20, 20, 1) && train.classes == 47 && train.images[5] == pixels[5])
        #expect(throws: SpecError.self) { try ModelZoo.spec("lenet5", input: train.shape, classes: 47) }  // ends in fc10
        #expect(throws: SpecError.self) { try NetworkSpec.parse("conv5x5x8,pool,conv5x5x8,pool,conv5x5x8,fc47", input: train.shape, classes: 47) }
        let spec = try NetworkSpec.parse("conv3x3x8,pool,fc64,fc47", input: train.shape, classes: 47)
        #expect(try Network(spec: spec, seed: 1).resolved.last!.output == TensorShape(1, 1, 47))
        // a label past the model's classes, and images of another shape than the model's
        #expect(throws: DataFileError.self) { try MNIST.load(folder: dir, classes: 10) }
        #expect(throws: DataFileError.self) {
            try MNIST.splits(folder: dir, classes: 47, input: TensorShape(28, 28, 1), limit: nil, validation: 10)
        }
    }

    func gzip(_ data: Data) throws -> Data {
        let dir = NSTemporaryDirectory() + "tinyconv-gz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try data.write(to: URL(fileURLWithPath: dir + "/f"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-f", dir + "/f"]
        try p.run()
        p.waitUntilExit()
        return try Data(contentsOf: URL(fileURLWithPath: dir + "/f.gz"))
    }
}
