import Foundation
import Media
import Models
import ModelStore

/// `task: vad` — where speech is, without transcribing it: Silero VAD over the audio (streamed,
/// never held whole) and faster-whisper's `get_speech_timestamps` with `VadOptions` as the stage's
/// options. Result: `{"speech": [{"start": s, "end": s}, …], "speech_seconds": s, "duration": s}`.
public struct VADTask: StageTask {
    public let name = "vad"
    public let media: Set<MediaKind> = [.audio]
    public let fields = ["speech", "speech_seconds", "duration"]
    public let takesPrompt = false
    public let defaultModel: String? = ModelCatalog.defaultVAD
    /// `json`: the speech regions with the input path and provenance.
    public let sidecarFormats: Set<SidecarFormat> = [.json]

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions { try VADOptions(from: decoder) }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        let model = try store.resolve(spec.model ?? ModelCatalog.defaultVAD)
        try ModelRegistry.require(model, is: [.voiceActivity], "vad needs a voice activity model (\(ModelCatalog.defaultVAD))")
        return VADStage(spec: spec, model: model, options: (spec.options as? VADOptions) ?? VADOptions())
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        format == .json ? try ImageStage.renderSidecar(result, format: .json, item: item, provenance: provenance) : nil
    }
}

extension VADOptions: StageOptions {}

final class VADStage: PipelineStage {
    let spec: StageSpec
    let task: any StageTask = VADTask()
    let model: InstalledModel
    let options: VADOptions
    let provenance: StageProvenance
    private var vad: SileroVAD?

    init(spec: StageSpec, model: InstalledModel, options: VADOptions) {
        self.spec = spec; self.model = model; self.options = options
        provenance = StageProvenance(task: "vad", model: model.name, modelFormat: model.format.rawValue, files: model.files,
                                     options: (try? JSONValue(encoding: options)) ?? .null, prompt: nil)
    }

    var preferredBatchSize: Int { 1 }

    func load() throws {
        if vad == nil { vad = try ModelRegistry.voiceActivityDetector(model) }
    }

    func process(_ inputs: [StageInput], batchSize: Int, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let vad else {
            for i in inputs.indices { finish(i, .failure(PipelineError("model not loaded"))) }
            return
        }
        for (i, input) in inputs.enumerated() {
            let began = Date()
            finish(i, Result {
                let (chunks, count) = try vad.speechChunks(path: input.item.path, options: options)
                let rate = Double(SileroVAD.sampleRate)
                let speech = chunks.map { JSONValue.object(["start": .double(Double($0.start) / rate), "end": .double(Double($0.end) / rate)]) }
                let seconds = Double(chunks.reduce(0) { $0 + $1.end - $1.start }) / rate
                return StageOutput(result: .object(["speech": .array(speech), "speech_seconds": .double(seconds),
                                                    "duration": .double(Double(count) / rate)]),
                                   mediaSeconds: Double(count) / rate, timings: ["wall": Date().timeIntervalSince(began)])
            })
        }
    }
}
