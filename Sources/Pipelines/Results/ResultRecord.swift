import Foundation
import Models

/// One line of a results file: everything known about one item after a run.
///
///     {"bytes":352078,"configuration":"3f0c…","id":"samples/jfk.wav","index":0,"input":"samples/jfk.wav",
///      "media":"audio/wav","media_seconds":11,"path":"/…/samples/jfk.wav",
///      "provenance":{"hearth_version":"0.1.0","stages":[{"name":"transcribe","task":"transcribe",
///        "model":"whisper-tiny.en","model_format":"ctranslate2","files":{"model.bin":"1a5a…"},"options":{…}}]},
///      "results":{"transcribe":{"text":" And so…","language":"en","duration":11,"segments":[…]}},
///      "status":"ok","timings":{"total":0.81,"transcribe":0.81,"transcribe.audio":0.02}}
///
/// A failed item has `"status":"error"`, the `stage` that failed (`input` when the file is not
/// media any stage reads) and a `message`; results of stages before it are kept.
public struct ResultRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, error }

    public var id: String
    /// Position in the pipeline's item list when the record was written (orders merged files).
    public var index: Int
    public var input: String
    public var path: String
    public var media: String
    public var bytes: Int64
    public var fields: [String: String]?
    public var status: Status
    public var stage: String?
    public var message: String?
    /// The pipeline's configuration hash the record was made under.
    public var configuration: String
    /// Stage results by stage name.
    public var results: [String: JSONValue]
    public var mediaSeconds: Double?
    /// Seconds: `total`, each stage's wall time with the item in it, and stage details (`transcribe.audio`).
    public var timings: [String: Double]
    public var provenance: RecordProvenance

    enum CodingKeys: String, CodingKey {
        case id, index, input, path, media, bytes, fields, status, stage, message, configuration, results
        case mediaSeconds = "media_seconds", timings, provenance
    }

    public init(id: String, index: Int, input: String, path: String, media: String, bytes: Int64, fields: [String: String]?,
                status: Status, stage: String?, message: String?, configuration: String, results: [String: JSONValue],
                mediaSeconds: Double?, timings: [String: Double], provenance: RecordProvenance) {
        self.id = id; self.index = index; self.input = input; self.path = path; self.media = media; self.bytes = bytes
        self.fields = fields; self.status = status; self.stage = stage; self.message = message
        self.configuration = configuration; self.results = results; self.mediaSeconds = mediaSeconds
        self.timings = timings; self.provenance = provenance
    }

    /// The record with timings removed: what two runs of the same pipeline must agree on.
    public var withoutTimings: ResultRecord {
        var copy = self
        copy.timings = [:]
        return copy
    }

    public func line() throws -> Data {
        var data = try JSONEncoder.records.encode(self)
        data.append(0x0A)
        return data
    }
}

/// Provenance of a record: the Hearth version and, in pipeline order, each stage's model,
/// model file SHA-256s, options and prompt template.
public struct RecordProvenance: Codable, Sendable, Equatable {
    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var provenance: StageProvenance

        public init(name: String, provenance: StageProvenance) { self.name = name; self.provenance = provenance }
        enum CodingKeys: String, CodingKey { case name }
        public init(from decoder: Decoder) throws {
            name = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .name)
            provenance = try StageProvenance(from: decoder)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try provenance.encode(to: encoder)
        }
    }

    public var hearthVersion: String
    public var stages: [Stage]

    enum CodingKeys: String, CodingKey { case hearthVersion = "hearth_version", stages }

    public init(hearthVersion: String = Hearth.version, stages: [Stage]) {
        self.hearthVersion = hearthVersion; self.stages = stages
    }
}

extension ResultRecord {
    /// The last record of each id, ordered by item index then id: how every reader (resume,
    /// `merge`, `report`) sees a results file in which newer records supersede older ones.
    public static func latest(_ records: [ResultRecord]) -> [ResultRecord] {
        var last: [String: ResultRecord] = [:]
        for record in records { last[record.id] = record }
        return last.values.sorted { ($0.index, $0.id) < ($1.index, $1.id) }
    }
}
