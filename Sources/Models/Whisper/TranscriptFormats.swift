// Transcript renderings: plain text, SubRip (.srt), WebVTT (.vtt) and JSON with provenance.

import Foundation

public enum TranscriptFormat: String, CaseIterable, Codable, Sendable {
    case txt, srt, vtt, json
}

/// Where a result came from: enough to reproduce it exactly.
public struct Provenance: Codable, Sendable, Equatable {
    public var hearthVersion: String = Hearth.version
    public var model: String
    public var modelFormat: String
    /// SHA-256 of every weight/config/tokenizer file, by file name.
    public var files: [String: String]
    public var options: TranscriptionOptions
    public init(model: String, modelFormat: String, files: [String: String], options: TranscriptionOptions) {
        self.model = model; self.modelFormat = modelFormat; self.files = files; self.options = options
    }
}

public enum Hearth {
    public static let version = "0.1.0"
}

public struct TranscriptDocument: Codable, Sendable {
    public var path: String
    public var text: String
    public var language: String
    public var languageProbability: Float
    public var duration: Double
    public var segments: [TranscriptSegment]
    public var provenance: Provenance

    public init(path: String, transcript: Transcript, provenance: Provenance) {
        self.path = path; text = transcript.text; language = transcript.language
        languageProbability = transcript.languageProbability; duration = transcript.duration
        segments = transcript.segments; self.provenance = provenance
    }

    public func render(_ format: TranscriptFormat) throws -> String {
        switch format {
        case .txt: return segments.map { $0.text.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n") + "\n"
        case .srt:
            return segments.enumerated().map { i, s in
                "\(i + 1)\n\(Self.timestamp(s.start, comma: true)) --> \(Self.timestamp(s.end, comma: true))\n\(s.text.trimmingCharacters(in: .whitespaces))\n"
            }.joined(separator: "\n")
        case .vtt:
            return "WEBVTT\n\n" + segments.map { s in
                "\(Self.timestamp(s.start, comma: false)) --> \(Self.timestamp(s.end, comma: false))\n\(s.text.trimmingCharacters(in: .whitespaces))\n"
            }.joined(separator: "\n")
        case .json:
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        }
    }

    /// HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
    public static func timestamp(_ seconds: Double, comma: Bool) -> String {
        let ms = Int((max(0, seconds) * 1000).rounded())
        let h = ms / 3_600_000, m = ms / 60_000 % 60, s = ms / 1000 % 60, f = ms % 1000
        return String(format: "%02d:%02d:%02d%@%03d", h, m, s, comma ? "," : ".", f)
    }
}
