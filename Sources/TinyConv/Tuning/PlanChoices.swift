/// What a plan runs for each layer with GEMM kernels: their algorithm (tiles, blocking,
/// variants) and, for a conv followed by a max pool, whether the two run as one fused stage.
/// A layer it does not name runs the shape rules and fuses where it can. Every choice gives
/// the same bits: choices change speed only (KernelTuner makes them; the plan applies them).
public struct PlanChoices: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var algorithm: ConvAlgorithm
        /// nil: the layer has no pool to fuse with (or the plan's default, fused).
        public var fused: Bool?
        public init(algorithm: ConvAlgorithm = .rule, fused: Bool? = nil) { (self.algorithm, self.fused) = (algorithm, fused) }
    }
    /// By layer index in the network.
    public var layers: [Int: Layer]
    public init(layers: [Int: Layer] = [:]) { self.layers = layers }
    public static let rules = PlanChoices()

    /// One line per layer, `index algorithm fused|unfused|-`: what MPI rank 0 broadcasts.
    public var text: String {
        layers.keys.sorted().map { i in
            let l = layers[i]!
            return "\(i) \(l.algorithm) \(l.fused.map { $0 ? "fused" : "unfused" } ?? "-")"
        }.joined(separator: "\n")
    }

    public init?(text: String) {
        var layers: [Int: Layer] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 3, let i = Int(f[0]), i >= 0, let a = ConvAlgorithm(text: f[1]),
                  ["fused", "unfused", "-"].contains(f[2]) else { return nil }
            layers[i] = Layer(algorithm: a, fused: f[2] == "-" ? nil : f[2] == "fused")
        }
        self.layers = layers
    }
}
