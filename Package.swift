// swift-tools-version: 6.1
// TinyConv: a multithreaded CPU engine for small CNNs (Swift over a C kernel core).
// Floors, calls only going down: train / bench (CLIs) -> TinyConv (Swift) -> CKernels (C).
import PackageDescription

// The C kernels are built optimized even in debug builds: the test suite runs them
// over thousands of shapes. ISA-specific code is selected at run time (target
// attributes + CPUID), so no -march flag is ever passed.
// Entry-point asserts run in debug builds only.
let kernelFlags: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno"]),
    .define("NDEBUG", .when(configuration: .release)),
]

let package = Package(
    name: "TinyConv",
    products: [
        .library(name: "TinyConv", targets: ["TinyConv"]),
        .library(name: "BenchHarness", targets: ["BenchHarness"]),
        .executable(name: "train", targets: ["train"]),
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "export", targets: ["export"]),
        .executable(name: "sweep", targets: ["sweep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(name: "CKernels", cSettings: kernelFlags),
        // OpenMP backend shim: `#pragma omp parallel for` over a callback. The runtime is
        // Debian's libomp-dev (libomp5.so in the default linker path); see docs/openmp.md.
        .target(
            name: "COpenMP",
            cSettings: [.unsafeFlags(["-O2", "-fopenmp"])],
            linkerSettings: [.linkedLibrary("omp5")]
        ),
        // gzip for IDX files: the system zlib (zlib1g-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The engine: kernel wrappers, layer units, network, execution plan, scheduler,
        // training, data, the step profiler and clock.
        .target(name: "TinyConv", dependencies: ["CKernels", "COpenMP", "CZlib"]),
        // The bench harness: step benchmarks, kernel cases, statistics, reports, plots,
        // the scaling model. Used by `bench` and Benchmarks/, never by `train`.
        .target(name: "BenchHarness", dependencies: ["TinyConv"]),
        // Data-parallel training across processes over Open MPI (docs/distributed.md): the
        // MPI calls as inline C (Debian's libopenmpi-dev, found through pkg-config), and the
        // exchange the scheduler calls. A run not started by mpirun never initializes MPI.
        .systemLibrary(name: "CMPI", pkgConfig: "mpi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Distributed", dependencies: ["TinyConv", "CMPI"]),
        // Command-line options shared by `train` and `bench`.
        .target(
            name: "EngineOptions",
            dependencies: ["TinyConv", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "train",
            dependencies: ["TinyConv", "Distributed", "EngineOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "bench",
            dependencies: ["TinyConv", "BenchHarness", "Distributed", "EngineOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // ONNX export: the inference graph of a trained network, written with swift-protobuf
        // types generated from the official onnx.proto (scripts/generate-onnx-proto.sh).
        // Kept out of the engine so training never links protobuf.
        .target(
            name: "ONNXExport",
            dependencies: ["TinyConv", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .executableTarget(
            name: "export",
            dependencies: ["ONNXExport", "EngineOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Sweeps: a grid of independent training runs spread over local cores or MPI ranks,
        // each a `train` process with its own folder; resumable; a summary table and curves.
        .target(name: "Sweep", dependencies: ["TinyConv"]),
        .executableTarget(
            name: "sweep",
            dependencies: ["Sweep", "TinyConv", "BenchHarness", "Distributed", "EngineOptions",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Test support: counts malloc calls in the test binary (steady-state steps allocate nothing).
        .target(name: "CMallocCounter", path: "Tests/CMallocCounter"),
        .testTarget(name: "TinyConvTests", dependencies: ["TinyConv", "BenchHarness", "ONNXExport", "Sweep", "CKernels", "CMallocCounter"]),
    ]
)
