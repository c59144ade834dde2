// swift-tools-version: 6.1
// TinyConv's package-benchmark suite, kept out of the main package so building and
// testing TinyConv never pulls in the benchmark framework. Run from this folder:
//   swift package --allow-writing-to-package-directory benchmark
import PackageDescription

let package = Package(
    name: "TinyConvBenchmarks",
    dependencies: [
        .package(name: "TinyConv", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // One benchmark per kernel and direction at the models' layer shapes, batch 32,
        // single thread; GFLOP/s and % of the measured peak as custom metrics.
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"), .product(name: "TinyConv", package: "TinyConv"),
                .product(name: "BenchHarness", package: "TinyConv"),
            ],
            path: "KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Whole training steps: mallocCountTotal must be 0 in the steady state.
        .executableTarget(
            name: "StepBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"), .product(name: "TinyConv", package: "TinyConv"),
                .product(name: "BenchHarness", package: "TinyConv"),
            ],
            path: "StepBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
