// swift-tools-version:6.0
// libFuzzer targets for every parser Hearth owns. Build and run with `make fuzz` (see the root
// Makefile): `swift build --package-path fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address
// -Xswiftc -parse-as-library`; each executable's LLVMFuzzerTestOneInput is libFuzzer's entry point.
import PackageDescription

let fuzzTargets: [(name: String, modules: [String])] = [
    ("fuzz-audio", ["Media"]),
    ("fuzz-container", ["Media"]),
    ("fuzz-ctranslate2", ["Weights"]),
    ("fuzz-safetensors", ["Weights"]),
    ("fuzz-gguf", ["Weights"]),
    ("fuzz-tokenizer", ["Tokenizers"]),
    ("fuzz-pipeline", ["Pipelines"]),
    ("fuzz-manifest", ["Pipelines"]),
    ("fuzz-results", ["Pipelines"]),
    ("fuzz-image", ["Media"]),
    ("fuzz-darknet", ["Weights"]),
    ("fuzz-onnx", ["Weights", "Models"]),
]

let package = Package(
    name: "HearthFuzz",
    dependencies: [.package(name: "Hearth", path: "..")],
    targets: [
        .target(name: "CFuzz", path: "Sources/CFuzz"),
        .target(name: "FuzzSupport", dependencies: ["CFuzz"], path: "Sources/FuzzSupport"),
    ] + fuzzTargets.map { target in
        .executableTarget(name: target.name,
                          dependencies: ["FuzzSupport", .product(name: "HearthLibraries", package: "Hearth")],
                          path: "Sources/\(target.name)")
    },
    swiftLanguageModes: [.v5]
)
