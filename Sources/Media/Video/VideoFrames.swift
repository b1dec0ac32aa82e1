import CAVCodecs
import Foundation

/// A file that could not be read as video: which file, and what was wrong with it.
public struct VideoError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// One sampled frame: its presentation time (seconds from the stream's start) and its pixels,
/// turned upright by the stream's display rotation (phones record portrait video rotated).
public struct VideoFrame: Sendable {
    public let time: Double
    public let image: RGBImage
}

/// The video stream FFmpeg found.
public struct VideoInfo: Sendable, Equatable {
    public let container: String
    public let codec: String
    /// Upright size (after `rotation`).
    public let width: Int
    public let height: Int
    /// Seconds the header declares; nil when it does not say.
    public let duration: Double?
    public let frameRate: Double?
    /// Clockwise degrees applied to every frame: 0, 90, 180 or 270.
    public let rotation: Int
}

/// Frames of a video's first video stream (cover art skipped), decoded by FFmpeg through
/// `CAVCodecs` and converted to RGB by libswscale, sampled at a fixed interval: what the image
/// stages (caption, detect, classify) look at for a `video` item.
public enum VideoFrames {
    static let errorLength = 512

    /// Opens `path` and reports its video stream. `maxPixels` bounds a frame's width × height
    /// (checked from the header, before anything is allocated; the image decoders' limit).
    public static func probe(path: String, maxPixels: Int = ImageDecodeOptions().maxPixels) throws -> VideoInfo {
        let (reader, info) = try open(path: path, maxPixels: maxPixels)
        hav_video_close(reader)
        return info
    }

    /// The times `sample` looks at: 0, `interval`, 2 × `interval`, … before the end, at most
    /// `maxFrames` of them; a video longer than `interval × maxFrames` is spread evenly instead.
    public static func sampleTimes(duration: Double?, interval: Double, maxFrames: Int) -> [Double] {
        guard let duration, duration > 0 else { return (0..<maxFrames).map { Double($0) * interval } }
        let step = max(interval, duration / Double(maxFrames))
        let count = min(maxFrames, max(1, Int((duration / step).rounded(.up))))
        return (0..<count).map { Double($0) * step }
    }

    /// Calls `body` with the first frame at or after each of `sampleTimes(…)`, in order; stops early
    /// when the stream ends. Throws `VideoError` for a file without a (decodable) video stream.
    /// Returns the stream's info (read when the file was opened).
    @discardableResult
    public static func sample(path: String, interval: Double, maxFrames: Int, maxPixels: Int = ImageDecodeOptions().maxPixels,
                              _ body: (VideoFrame) throws -> Void) throws -> VideoInfo {
        try sample(path: path, times: nil, interval: interval, maxFrames: maxFrames, maxPixels: maxPixels, body)
    }

    /// The first frame at or after each of `times` (seconds, increasing), e.g. the ones a record holds.
    public static func sample(path: String, at times: [Double], maxPixels: Int = ImageDecodeOptions().maxPixels,
                              _ body: (VideoFrame) throws -> Void) throws {
        _ = try sample(path: path, times: times, interval: 1, maxFrames: times.count, maxPixels: maxPixels, body)
    }

    private static func sample(path: String, times: [Double]?, interval: Double, maxFrames: Int, maxPixels: Int,
                               _ body: (VideoFrame) throws -> Void) throws -> VideoInfo {
        let (reader, info) = try open(path: path, maxPixels: maxPixels)
        defer { hav_video_close(reader) }
        let codedWidth = info.rotation % 180 == 0 ? info.width : info.height
        let codedHeight = info.rotation % 180 == 0 ? info.height : info.width
        var rgb = [UInt8](repeating: 0, count: codedWidth * codedHeight * 3)
        var message = [CChar](repeating: 0, count: errorLength)
        var delivered = 0
        for time in times ?? sampleTimes(duration: info.duration, interval: interval, maxFrames: maxFrames) {
            var frameTime = 0.0
            let status = rgb.withUnsafeMutableBufferPointer {
                hav_video_frame_at(reader, time, $0.baseAddress, $0.count, &frameTime, &message, errorLength)
            }
            if status < 0 { throw VideoError(path: path, message: "decoding the frame at \(time) s failed: \(text(message))") }
            if status == 0 { break }
            let image = RGBImage(width: codedWidth, height: codedHeight, pixels: rgb).rotatedClockwise(info.rotation)
            try body(VideoFrame(time: (frameTime * 1000).rounded() / 1000, image: image))
            delivered += 1
        }
        if delivered == 0 { throw VideoError(path: path, message: "no video frame could be decoded") }
        return info
    }

    private static func open(path: String, maxPixels: Int) throws -> (OpaquePointer, VideoInfo) {
        var raw = hav_video_info()
        var message = [CChar](repeating: 0, count: errorLength)
        guard let reader = hav_video_open(path, -1, maxPixels, &raw, &message, errorLength) else {
            throw VideoError(path: path, message: text(message))
        }
        let upright = raw.rotation % 180 == 0
        let info = VideoInfo(container: fixedString(raw.container), codec: fixedString(raw.codec),
                             width: Int(upright ? raw.width : raw.height), height: Int(upright ? raw.height : raw.width),
                             duration: raw.duration >= 0 ? raw.duration : nil,
                             frameRate: raw.frame_rate > 0 ? raw.frame_rate : nil, rotation: Int(raw.rotation))
        return (reader, info)
    }

    static func text(_ message: [CChar]) -> String { ContainerAudio.text(message) }
}
