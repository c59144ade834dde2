/// A fixed-size, 64-byte aligned float array owned by the Swift side: activations,
/// gradients, parameters and kernel workspaces are all FloatBuffers, allocated once.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, value: Float = 0) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: value, count: max(count, 1))
    }
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }
    deinit { pointer.deallocate() }

    /// Deterministic values in [-0.5, 0.5) from an LCG (for timing kernels outside a step);
    /// `seed` advances, so consecutive buffers differ.
    public static func pattern(count: Int, seed: inout UInt64) -> FloatBuffer {
        let b = FloatBuffer(count: count)
        for i in 0..<count {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            b[i] = Float(Int64(bitPattern: seed >> 11) % 2000) / 2000 - 0.5
        }
        return b
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(readOnly) }
    public func fill(_ v: Float) { pointer.update(repeating: v, count: count) }
    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}
