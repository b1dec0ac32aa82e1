// swift-tools-version:6.0
import PackageDescription

// Hot numeric code is compiled with -Ounchecked in release builds (tests and bench run in release).
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Hearth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hearth", targets: ["hearth"]),
        // Library products for the fuzzing package in fuzz/ (it depends on this package by path).
        .library(name: "HearthLibraries", targets: ["Weights", "Media", "Tokenizers", "ModelStore", "Models", "Pipelines"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries: libsndfile, libsoxr, fftw3f, OpenBLAS (cblas), libpng, libjpeg.
        .systemLibrary(name: "CHearthDeps", path: "Sources/CHearthDeps"),
        // Vectorized C kernels (exp/erf/softmax/norms), dispatched at run time by CPU features.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // libpng / libjpeg wrappers that keep setjmp/longjmp error handling inside C (Media/Image).
        .target(name: "CImageCodecs", dependencies: ["CHearthDeps"], cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Tensors", dependencies: ["CHearthDeps", "CKernels"], swiftSettings: fast),
        .target(name: "TransformerCore", dependencies: ["Tensors", "CKernels", "CHearthDeps"], swiftSettings: fast),
        .target(name: "Weights", dependencies: ["Tensors"], swiftSettings: fast),
        .target(name: "Media", dependencies: ["CHearthDeps", "CImageCodecs"], swiftSettings: fast),
        .target(name: "Tokenizers", swiftSettings: fast),
        .target(name: "Decoding", dependencies: ["Tensors"], swiftSettings: fast),
        .target(name: "ModelStore", swiftSettings: fast),
        .target(name: "Models",
                dependencies: ["Tensors", "TransformerCore", "Weights", "Media", "Tokenizers", "Decoding", "ModelStore", "CHearthDeps"],
                swiftSettings: fast),
        .target(name: "Pipelines",
                dependencies: ["Models", "ModelStore", "Media", "Tensors", "TransformerCore", .product(name: "Yams", package: "Yams")],
                swiftSettings: fast),
        .executableTarget(name: "hearth",
                          dependencies: ["Pipelines", "Models", "ModelStore", "Media", "Tensors",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Yams", package: "Yams")],
                          swiftSettings: fast),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "TransformerCoreTests", dependencies: ["TransformerCore", "Tensors", "CKernels"]),
        .testTarget(name: "WeightsTests", dependencies: ["Weights", "Tensors"]),
        .testTarget(name: "MediaTests", dependencies: ["Media"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore"]),
        .testTarget(name: "DecodingTests", dependencies: ["Decoding", "Tensors"]),
        .testTarget(name: "LMTests", dependencies: ["Models", "ModelStore", "Tokenizers", "Weights", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelinesTests", dependencies: ["Pipelines", "Models", "ModelStore", "Media"]),
        .testTarget(name: "VisionTests", dependencies: ["Models", "ModelStore", "Media", "Pipelines", "Weights", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ClassifyTests", dependencies: ["Models", "ModelStore", "Weights", "Media"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DetectionTests", dependencies: ["Models", "ModelStore", "Weights", "TransformerCore", "Tensors", "Media"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "WhisperTests", dependencies: ["Models", "Media", "Weights", "Tensors", "ModelStore", "Decoding"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
