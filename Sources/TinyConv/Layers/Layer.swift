/// Pointers one layer needs to run on one shard of a minibatch. Shapes were checked
/// when the network was built, so layers call the C kernels directly.
public struct LayerContext {
    /// Samples in this shard.
    public var count: Int
    /// Index of this shard's first sample within the minibatch (dropout counters).
    public var firstSample: Int
    public var x: UnsafeMutablePointer<Float>        // [count][input]
    public var y: UnsafeMutablePointer<Float>        // [count][output]
    public var dx: UnsafeMutablePointer<Float>?      // [count][input]; nil for the first layer
    public var dy: UnsafeMutablePointer<Float>       // [count][output]; may be overwritten
    public var parameters: UnsafeMutablePointer<Float>  // weights then biases
    public var gradients: UnsafeMutablePointer<Float>   // same layout as parameters
    public var scratch: UnsafeMutablePointer<Float>
    public var mask: UnsafeMutablePointer<UInt8>     // dropout keep mask [count][output]
    /// Counter-based randomness for this step: (seed, stream) select the dropout mask.
    public var seed: UInt64
    public var step: UInt64
    public var training: Bool
}

/// One layer: a forward/backward pair over preallocated buffers.
public protocol Layer: AnyObject, Sendable {
    var spec: ResolvedLayer { get }
    /// Scratch floats for a shard of `count` samples.
    func scratchFloats(count: Int) -> Int
    func forward(_ c: LayerContext)
    /// Writes parameter gradients (overwriting) and, if c.dx != nil, the input gradient.
    func backward(_ c: LayerContext)
}

extension Layer {
    public var parameterCount: Int { spec.parameterCount }
    public func scratchFloats(count: Int) -> Int { 0 }
}
