// swift-tools-version: 6.1
// TinyConv: a multithreaded CPU engine for small CNNs (Swift over a C kernel core).
// Floors, calls only going down: train / bench (CLIs) -> TinyConv (Swift) -> CKernels (C).
import PackageDescription

// The C kernels are built optimized even in debug builds: the test suite runs them
// over thousands of shapes. ISA-specific code is selected at run time (target
// attributes + CPUID), so no -march flag is ever passed.
let kernelFlags: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno"]),
]

let package = Package(
    name: "TinyConv",
    products: [
        .library(name: "TinyConv", targets: ["TinyConv"]),
        .executable(name: "train", targets: ["train"]),
        .executable(name: "bench", targets: ["bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .target(name: "TinyConv", dependencies: ["CKernels", "COpenMP", "CZlib"]),
        .executableTarget(
            name: "train",
            dependencies: ["TinyConv", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "bench",
            dependencies: ["TinyConv", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "TinyConvTests", dependencies: ["TinyConv", "CKernels"]),
    ]
)
