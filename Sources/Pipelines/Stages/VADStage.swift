import Foundation
import Media
import Models
import ModelStore

/// `task: vad` — where speech is, without transcribing it: Silero VAD over the audio (streamed,
/// never held whole) and faster-whisper's `get_speech_timestamps` with `VadOptions` as the stage's
/// options. Result: `{"speech": [{"start": s, "end": s}, …], "speech_seconds": s, "duration": s}`.
public struct VADTask: StageTask {
    public let name = "vad"
    public let media: Set<MediaKind> = [.audio, .video]
    public let fields = ["speech", "speech_seconds", "duration"]
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

final class VADStage: ModelStage<VADOptions, SileroVAD>, PipelineStage {
    let task: any StageTask = VADTask()

    init(spec: StageSpec, model: InstalledModel, options: VADOptions) {
        super.init(spec: spec, model: model, options: options, provenance: StageProvenance(task: "vad", model: model, options: options))
    }

    var preferredBatchSize: Int { 1 }

    func load() throws { try loadModel(ModelRegistry.voiceActivityDetector) }

    func process(_ inputs: [StageInput], batchSize: Int, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let vad = loaded(loadedModel, inputs, finish) else { return }
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
