/// The report's models (../shared/docs/report.md), as specs.
public enum ModelZoo {
    public static let lenet5 = "conv5x5x6:same,pool,conv5x5x16,pool,fc120,fc84,fc10"
    /// LeNet-5 + l2(0.001) on every weight and dropout 0.3 after each hidden dense layer.
    public static let regularizedLenet5 = "conv5x5x6:same,pool,conv5x5x16,pool,fc120,dropout0.3,fc84,dropout0.3,fc10,l2:0.001"
    /// Custom net as the report ran it: each 1x1 conv after its pooling layer.
    public static let customPoolThen1x1 = "conv5x5x120,pool,conv1x1x6,conv3x3x150,pool,conv1x1x12,fc120,fc84,fc10"
    /// The reordering the report proposes: each 1x1 conv ahead of its pooling layer.
    public static let custom1x1ThenPool = "conv5x5x120,conv1x1x6,pool,conv3x3x150,conv1x1x12,pool,fc120,fc84,fc10"

    /// LeNet-5 subsampling by 2x2 averages, as the original LeNet-5 did (without its
    /// trainable scale and bias per map).
    public static let lenet5AvgPool = "conv5x5x6:same,avgpool,conv5x5x16,avgpool,fc120,fc84,fc10"

    /// Named models: name -> spec text.
    public static let named: [(name: String, spec: String)] = [
        ("lenet5", lenet5),
        ("regularized-lenet5", regularizedLenet5),
        ("custom", customPoolThen1x1),
        ("custom-1x1-then-pool", custom1x1ThenPool),
        ("lenet5-avgpool", lenet5AvgPool),
    ]

    /// A zoo name (also `pool-then-1x1` / `1x1-then-pool` for the Custom variants) or a spec string.
    /// The report's nets end in fc10; for other class counts give a spec string.
    public static func spec(_ nameOrSpec: String, input: TensorShape = TensorShape(28, 28, 1), classes: Int = 10) throws -> NetworkSpec {
        let aliases = ["pool-then-1x1": "custom", "custom-pool-then-1x1": "custom", "1x1-then-pool": "custom-1x1-then-pool"]
        let name = aliases[nameOrSpec] ?? nameOrSpec
        if let entry = named.first(where: { $0.name == name }) {
            guard classes == 10 else {
                throw SpecError(message: "\(name) ends in fc10, the data has \(classes) classes: give a spec string ending in fc\(classes)")
            }
            return try NetworkSpec.parse(entry.spec, input: input, classes: classes)
        }
        do {
            return try NetworkSpec.parse(nameOrSpec, input: input, classes: classes)
        } catch let error as SpecError where !nameOrSpec.contains(",") {
            // one token that is not a valid network: most likely a mistyped model name
            throw SpecError(message: "unknown model '\(nameOrSpec)' (known: \(named.map(\.name).joined(separator: ", ")), or a spec like \(lenet5); as a spec: \(error.message))")
        }
    }
}
