// swift-tools-version: 6.1
// libFuzzer targets for TinyConv's readers of untrusted bytes: the IDX reader, the gzip
// layer, the checkpoint reader and the model-spec parser. Built with
// `swift build --sanitize=fuzzer --sanitize=address` and run by scripts/fuzz.sh, each with
// its seed corpus in Fuzz/corpus/. A separate package so the main build never links libFuzzer.
import PackageDescription

let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "TinyConvFuzz",
    dependencies: [.package(name: "TinyConv", path: "..")],
    targets: ["FuzzIDX", "FuzzGzip", "FuzzCheckpoint", "FuzzSpec"].map { name in
        .executableTarget(name: name, dependencies: [.product(name: "TinyConv", package: "TinyConv")],
                          path: "Sources/\(name)", swiftSettings: fuzzFlags)
    }
)
