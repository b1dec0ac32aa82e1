// swift-tools-version:6.0
import PackageDescription

// Release builds (the ones users, tests and bench run): the numeric kernel targets (Tensors,
// TransformerCore) drop bounds and overflow checks with -Ounchecked; every target that reads what
// strangers send (weight readers, media decoders, tokenizers, pipeline files, the model store) and
// everything else keeps Swift's checks with -O. README "How it is built" has the measured effect.
let kernels: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]
let checked: [SwiftSetting] = [.unsafeFlags(["-O", "-wmo"], .when(configuration: .release))]

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
        // int8 GEMM on oneDNN (libdnnl, OpenMP build).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
                linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        // libpng / libjpeg / libwebp / libtiff / giflib / libheif wrappers that keep each library's
        // error handling (setjmp/longjmp, error callbacks) inside C (Media/Image).
        .target(name: "CImageCodecs", dependencies: ["CHearthDeps"], cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: ["webp", "webpdemux", "tiff", "gif", "heif"].map { .linkedLibrary($0) }),
        // FFmpeg (libavformat/libavcodec/libswresample/libswscale) for the containers and codecs
        // libsndfile and the image libraries cannot read (Media/Audio/ContainerAudio, Media/Video).
        .target(name: "CAVCodecs", cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.linkedLibrary("avformat"), .linkedLibrary("avcodec"), .linkedLibrary("swresample"),
                                 .linkedLibrary("swscale"), .linkedLibrary("avutil")]),
        .target(name: "Tensors", dependencies: ["CHearthDeps", "CKernels"], swiftSettings: kernels),
        .target(name: "TransformerCore", dependencies: ["Tensors", "CKernels", "CHearthDeps"], swiftSettings: kernels),
        .target(name: "Weights", dependencies: ["Tensors"], swiftSettings: checked),
        .target(name: "Media", dependencies: ["CHearthDeps", "CImageCodecs", "CAVCodecs"], swiftSettings: checked),
        .target(name: "Tokenizers", swiftSettings: checked),
        .target(name: "Decoding", dependencies: ["Tensors"], swiftSettings: checked),
        .target(name: "ModelStore", swiftSettings: checked),
        .target(name: "Models",
                dependencies: ["Tensors", "TransformerCore", "Weights", "Media", "Tokenizers", "Decoding", "ModelStore", "CHearthDeps"],
                swiftSettings: checked),
        .target(name: "Pipelines",
                dependencies: ["Models", "ModelStore", "Media", "Tensors", "TransformerCore", "Decoding", .product(name: "Yams", package: "Yams")],
                swiftSettings: checked),
        .executableTarget(name: "hearth",
                          dependencies: ["Pipelines", "Models", "ModelStore", "Media", "Tensors", "Decoding",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Yams", package: "Yams")],
                          swiftSettings: checked),

        // Helpers more than one test target uses: seeded RNG, float comparisons, package paths,
        // temporary directories. Target-specific helpers stay in each target's Support file.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["TestSupport", "Tensors"]),
        .testTarget(name: "TransformerCoreTests", dependencies: ["TestSupport", "TransformerCore", "Tensors", "CKernels"]),
        .testTarget(name: "WeightsTests", dependencies: ["TestSupport", "Weights", "Tensors", "ModelStore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MediaTests", dependencies: ["TestSupport", "Media"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["TestSupport", "Tokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore"]),
        .testTarget(name: "DecodingTests", dependencies: ["Decoding", "Tensors"]),
        .testTarget(name: "LMTests", dependencies: ["TestSupport", "Models", "ModelStore", "Tokenizers", "Weights", "Tensors", "Decoding"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelinesTests", dependencies: ["TestSupport", "Pipelines", "Models", "ModelStore", "Media", "Decoding"]),
        .testTarget(name: "VisionTests", dependencies: ["TestSupport", "Models", "ModelStore", "Media", "Pipelines", "Weights", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ClassifyTests", dependencies: ["TestSupport", "Models", "ModelStore", "Weights", "Media"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DetectionTests", dependencies: ["TestSupport", "Models", "ModelStore", "Weights", "TransformerCore", "Tensors", "Media"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "VADTests", dependencies: ["TestSupport", "Models", "Weights", "Media", "ModelStore", "TransformerCore", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EmbeddingsTests", dependencies: ["TestSupport", "Models", "ModelStore", "Weights", "Tokenizers", "Pipelines"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "WhisperTests", dependencies: ["TestSupport", "Models", "Media", "Weights", "Tensors", "ModelStore", "Decoding"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
