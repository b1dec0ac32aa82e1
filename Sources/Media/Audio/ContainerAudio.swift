import CAVCodecs
import Foundation

/// What FFmpeg found in a container: the audio stream chosen and what else the file holds.
public struct ContainerAudioInfo: Sendable, Equatable {
    public let container: String      // demuxer, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
    public let codec: String          // e.g. "aac", "opus", "wmav2", "ac3"
    public let sampleRate: Int
    public let channels: Int
    public let streamIndex: Int
    public let audioStreams: Int
    public let videoStreams: Int
    /// Seconds the header declares; nil when it does not say.
    public let declaredDuration: Double?
}

/// Audio from containers and codecs libsndfile cannot read (AAC/M4A, MP4/MOV/MKV/WebM
/// soundtracks, WMA, AMR, AC-3, …), decoded by FFmpeg's libraries through `CAVCodecs`: the first
/// audio stream (FFmpeg's "best" one) or a chosen one, downmixed to mono by libswresample at the
/// stream's own rate, then resampled to 16 kHz by the same soxr resampler as every other file.
/// Streaming: memory is bounded by one decoded frame plus one chunk, whatever the length.
public enum ContainerAudio {
    static let errorLength = 512
    /// How the C side's message starts when FFmpeg cannot open the file at all.
    static let notAContainer = "not a readable audio or video container"

    /// Audio and video stream counts (cover art excluded) of a container FFmpeg can open; nil
    /// when it cannot. Tells a soundtrack-only WebM/MP4/ASF from a video.
    public static func streamCounts(path: String) -> (audio: Int, video: Int)? {
        var audio: Int32 = 0, video: Int32 = 0
        var message = [CChar](repeating: 0, count: errorLength)
        guard hav_probe_streams(path, &audio, &video, &message, errorLength) == 0 else { return nil }
        return (Int(audio), Int(video))
    }

    /// Opens `path` and reports its audio stream without decoding it.
    public static func probe(path: String, stream: Int? = nil) throws -> ContainerAudioInfo {
        let (reader, info) = try open(path: path, stream: stream)
        hav_audio_close(reader)
        return info
    }

    /// Streams the audio of `path` as mono Float32 chunks at the stream's own sample rate
    /// (`info.sampleRate`), at most `maxChunk` samples each. Throws `AudioError` for files FFmpeg
    /// cannot open, that have no audio, that fail mid-way, or that end well before their header's
    /// duration.
    public static func stream(path: String, stream: Int? = nil, maxChunk: Int = 65536,
                              _ sink: (ContainerAudioInfo, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let (reader, info) = try open(path: path, stream: stream)
        defer { hav_audio_close(reader) }
        var chunk = [Float](repeating: 0, count: maxChunk)
        var message = [CChar](repeating: 0, count: errorLength)
        while true {
            let count = chunk.withUnsafeMutableBufferPointer { hav_audio_read(reader, $0.baseAddress, maxChunk, &message, errorLength) }
            if count < 0 {
                let decoded = hav_audio_decoded_seconds(reader)
                throw AudioError(path: path, message: "decoding failed after \(String(format: "%.2f", decoded)) s: \(text(message))")
            }
            if count == 0 { break }
            try chunk.withUnsafeBufferPointer { try sink(info, UnsafeBufferPointer(rebasing: $0[..<count])) }
        }
        if hav_audio_check_complete(reader, &message, errorLength) != 0 {
            throw AudioError(path: path, message: text(message))
        }
    }

    private static func open(path: String, stream: Int?) throws -> (OpaquePointer, ContainerAudioInfo) {
        var raw = hav_audio_info()
        var message = [CChar](repeating: 0, count: errorLength)
        guard let reader = hav_audio_open(path, Int32(stream ?? -1), &raw, &message, errorLength) else {
            throw AudioError(path: path, message: text(message))
        }
        let info = ContainerAudioInfo(
            container: fixedString(raw.container), codec: fixedString(raw.codec),
            sampleRate: Int(raw.sample_rate), channels: Int(raw.channels), streamIndex: Int(raw.stream_index),
            audioStreams: Int(raw.audio_streams), videoStreams: Int(raw.video_streams),
            declaredDuration: raw.duration >= 0 ? raw.duration : nil)
        guard AudioDecoder.sampleRates.contains(Int32(info.sampleRate)) else {
            hav_audio_close(reader)
            throw AudioError(path: path, message: "invalid header: sample rate \(info.sampleRate) Hz is outside "
                             + "\(AudioDecoder.sampleRates.lowerBound)–\(AudioDecoder.sampleRates.upperBound) Hz")
        }
        return (reader, info)
    }

    static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A C `char[N]` field (imported as a tuple) as a String.
func fixedString<T>(_ field: T) -> String {
    withUnsafeBytes(of: field) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
