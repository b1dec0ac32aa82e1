// How a task plugs into pipelines. A task (`StageTask`) is a stateless description: what it
// reads, which result fields templates may use, how to decode its options and how to build a
// runnable stage (`PipelineStage`). A new task is one StageTask and one PipelineStage, listed in
// `StageTasks.all`.

import Foundation
import Media
import ModelStore

/// A task that pipeline stages can name (`task: transcribe`).
public protocol StageTask: Sendable {
    var name: String { get }
    /// Media kinds the task reads; items of other kinds skip the stage. Empty: every item
    /// (text stages such as `ask`, which read earlier results and fields).
    var media: Set<MediaKind> { get }
    /// Top-level fields of its result that templates may reference as `{{stage.FIELD}}`.
    var fields: [String] { get }
    /// Whether the stage has a `prompt` template.
    var takesPrompt: Bool { get }
    /// Model used when the stage names none.
    var defaultModel: String? { get }
    /// Sidecar formats the task can render from its result.
    var sidecarFormats: Set<SidecarFormat> { get }

    /// Decodes the stage's `options` mapping; unknown keys are errors.
    func decodeOptions(from decoder: Decoder) throws -> any StageOptions
    /// Resolves the model and options into a stage ready to load (no weights read yet).
    func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage
    /// Renders one sidecar file from a stored result (`nil`: the format does not apply).
    func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String?
}

/// A stage ready to run over items.
public protocol PipelineStage: AnyObject {
    var spec: StageSpec { get }
    var task: any StageTask { get }
    /// What produced the results: model, SHA-256 of its files, options. Hashed into the
    /// pipeline's configuration hash and copied into every record.
    var provenance: StageProvenance { get }
    /// Items per batch when neither the stage, the pipeline nor the command line sets one.
    var preferredBatchSize: Int { get }
    /// Loads weights; the runner calls it once, before the first item that needs the stage.
    func load() throws
    /// Processes `inputs`, `batchSize` at a time where the model batches; calls `finish` exactly
    /// once per input index, in any order. Per-item failures are `.failure`, never thrown.
    /// Once `stop` is requested (asked before each item, batch or 30-second window) it starts no
    /// more work and returns; inputs it has not finished then get no `finish` call.
    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void)
}

extension StageTask {
    public var takesPrompt: Bool { false }
    public var sidecarFormats: Set<SidecarFormat> { [.txt, .json] }
}

extension PipelineStage {
    public var preferredBatchSize: Int { 4 }

    /// `model` once `load()` has run; before that every input fails with "model not loaded" and this is nil.
    func loaded<Model>(_ model: Model?, _ inputs: [StageInput], _ finish: (Int, Result<StageOutput, Error>) -> Void) -> Model? {
        if model == nil { for i in inputs.indices { finish(i, .failure(PipelineError("model not loaded"))) } }
        return model
    }
}

/// What a stage with one installed model holds: its spec, the model, its typed options, the
/// provenance records carry, and the model itself once `load()` has read it (`loadedModel`).
/// Stages subclass it and add the task, `load()` and `process`.
class ModelStage<Options, Model> {
    let spec: StageSpec
    let model: InstalledModel
    let options: Options
    let provenance: StageProvenance
    private(set) var loadedModel: Model?

    init(spec: StageSpec, model: InstalledModel, options: Options, provenance: StageProvenance) {
        self.spec = spec; self.model = model; self.options = options; self.provenance = provenance
    }

    /// Reads the model the first time (`make`), keeps it after.
    func loadModel(_ make: (InstalledModel) throws -> Model) throws {
        if loadedModel == nil { loadedModel = try make(model) }
    }
}

/// What a stage gets for one item.
public struct StageInput: Sendable {
    public var item: PipelineItem
    /// The stage's `prompt` template rendered for this item.
    public var prompt: String?
    /// The same prompt in pieces (template text and inserted values), for long-prompt handling.
    public var promptPieces: [PromptPiece]?
    /// Results of earlier stages for this item, by stage name.
    public var previous: [String: JSONValue]
    /// A video frame already decoded for an image stage (`VideoFrameSampling`); nil: read `item.path`.
    public var image: RGBImage?
    /// Where the stage may keep this item's unfinished progress (removed once its record is
    /// written; `CheckpointFolder`); nil: nowhere.
    public var checkpoint: URL?

    public init(item: PipelineItem, prompt: String?, previous: [String: JSONValue], image: RGBImage? = nil,
                promptPieces: [PromptPiece]? = nil, checkpoint: URL? = nil) {
        self.item = item; self.prompt = prompt; self.previous = previous; self.image = image; self.promptPieces = promptPieces
        self.checkpoint = checkpoint
    }

    /// The picture an image stage looks at: the video frame handed over, else the item's file decoded.
    func decodedImage(_ options: ImageDecodeOptions = .init()) throws -> RGBImage {
        try image ?? ImageDecoder.decode(path: item.path, options: options)
    }
}

/// What a stage returns for one item.
public struct StageOutput: Sendable {
    /// Stored under `results.<stage name>` in the record.
    public var result: JSONValue
    /// Seconds of audio (or video) the item held, for rates and summaries.
    public var mediaSeconds: Double?
    /// Extra timings (seconds), stored as `timings["<stage>.<key>"]`; `wall` is the time the item
    /// spent in the stage (default: since the stage started on the batch of items).
    public var timings: [String: Double] = [:]
    /// Vectors (`embed`), stored by the runner in the run's vector file, not in the record: the
    /// result gets a `vectors` reference to them (see `VectorFile`).
    public var vectors: [[Float]]?

    public init(result: JSONValue, mediaSeconds: Double? = nil, timings: [String: Double] = [:], vectors: [[Float]]? = nil) {
        self.result = result; self.mediaSeconds = mediaSeconds; self.timings = timings; self.vectors = vectors
    }
}

/// Where a stage's results came from.
public struct StageProvenance: Codable, Sendable, Equatable {
    public var task: String
    public var model: String?
    public var modelFormat: String?
    /// SHA-256 of the model's files, by file name.
    public var files: [String: String]?
    public var options: JSONValue
    /// The prompt template (rendered prompts go into results).
    public var prompt: String?

    enum CodingKeys: String, CodingKey {
        case task, model, modelFormat = "model_format", files, options, prompt
    }

    public init(task: String, model: String?, modelFormat: String?, files: [String: String]?, options: JSONValue, prompt: String?) {
        self.task = task; self.model = model; self.modelFormat = modelFormat; self.files = files
        self.options = options; self.prompt = prompt
    }

    /// A stage's provenance from its installed model (its name, format and file hashes unless `files`
    /// names others) and its options as they are encoded.
    init(task: String, model: InstalledModel, files: [String: String]? = nil, options: some Encodable, prompt: String? = nil) {
        self.init(task: task, model: model.name, modelFormat: model.format.rawValue, files: files ?? model.files,
                  options: (try? JSONValue(encoding: options)) ?? .null, prompt: prompt)
    }
}

/// Every task pipeline files may name.
public enum StageTasks {
    public static let all: [any StageTask] = [
        TranscribeTask(),
        CaptionTask(),
        DetectTask(),
        AskTask(),
        VADTask(),
        ClassifyTask(),
        EmbedTask(),
    ]

    public static func named(_ name: String) -> (any StageTask)? { all.first { $0.name == name } }
}

/// A plain error message.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
