import Foundation
import Media

/// What a stage can read.
public enum MediaKind: String, Codable, Sendable, CaseIterable {
    /// `video`: a container with a video stream (MP4, MOV, MKV, WebM, AVI, ASF, …); its soundtrack
    /// is audio to `transcribe`, its frames are images to the image stages.
    case audio, image, video, unknown
}

/// A file's media type, found from its first bytes (magic numbers), not from its name.
public struct MediaType: Hashable, Sendable, CustomStringConvertible {
    /// e.g. `audio/wav`, `image/png`, or `unknown`.
    public let mime: String
    public var kind: MediaKind {
        if mime.hasPrefix("audio/") { return .audio }
        if mime.hasPrefix("image/") { return .image }
        if mime.hasPrefix("video/") { return .video }
        return .unknown
    }
    public var description: String { mime }
    public init(_ mime: String) { self.mime = mime }
    public static let unknown = MediaType("unknown")

    /// Bytes read from the start of a file to sniff it.
    static let headerLength = 36

    /// Sniffs `path`; an unreadable or unrecognised file is `unknown`.
    public static func sniff(path: String) -> MediaType {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unknown }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: headerLength)) ?? Data()
        return refineContainer(sniff([UInt8](header)), path: path)
    }

    /// Containers that hold audio, video or both (MP4, QuickTime, Matroska/WebM, ASF, AVI, FLV)
    /// are opened with FFmpeg to count their streams: without a video stream the file is audio
    /// (`audio/mp4`, `audio/webm`, …). A container FFmpeg cannot open keeps its sniffed type, and
    /// its decoder reports why.
    static func refineContainer(_ type: MediaType, path: String) -> MediaType {
        guard type.kind == .video, let counts = ContainerAudio.streamCounts(path: path) else { return type }
        if counts.video > 0 || counts.audio == 0 { return type }
        return MediaType("audio/" + type.mime.dropFirst("video/".count))
    }

    /// Recognises RIFF/WAVE (and RF64, Wave64), FLAC, Ogg, MP3 (ID3 tag or MPEG frame sync),
    /// AIFF, Sun .au, CAF, MP4/M4A/MOV/3GP, Matroska/WebM, ASF (WMA/WMV), AVI, FLV, AMR, AC-3 headers,
    /// and every image format ImageDecoder reads (PNG, JPEG, WebP, TIFF, GIF, BMP, HEIF/HEIC, AVIF:
    /// ImageFormat.detect, the decoder's own test). `sniff(path:)` then tells audio-only containers
    /// from videos.
    public static func sniff(_ b: [UInt8]) -> MediaType {
        func ascii(_ offset: Int, _ text: String) -> Bool {
            let t = Array(text.utf8)
            return b.count >= offset + t.count && Array(b[offset..<offset + t.count]) == t
        }
        if let image = ImageFormat.detect(b) { return MediaType(image.mimeType) }
        if (ascii(0, "RIFF") || ascii(0, "RF64")) && ascii(8, "WAVE") { return MediaType("audio/wav") }
        if ascii(0, "riff") && b.count >= 24 && b[16] == 0x77 && b[17] == 0x61 { return MediaType("audio/w64") }  // "wave" GUID
        if ascii(0, "fLaC") { return MediaType("audio/flac") }
        if ascii(0, "OggS") { return MediaType(ascii(28, "OpusHead") ? "audio/opus" : "audio/ogg") }
        if ascii(0, "ID3") { return MediaType("audio/mpeg") }
        if ascii(0, "FORM") && (ascii(8, "AIFF") || ascii(8, "AIFC")) { return MediaType("audio/aiff") }
        if ascii(0, ".snd") { return MediaType("audio/basic") }
        if ascii(0, "caff") { return MediaType("audio/x-caf") }
        if ascii(4, "ftyp") {
            if ascii(8, "M4A ") || ascii(8, "M4B ") || ascii(8, "M4P ") { return MediaType("audio/mp4") }
            return MediaType(ascii(8, "qt  ") ? "video/quicktime" : ascii(8, "3gp") || ascii(8, "3g2") ? "video/3gpp" : "video/mp4")
        }
        if b.count >= 4 && b[0..<4] == [0x1A, 0x45, 0xDF, 0xA3] {  // EBML: Matroska or WebM (DocType in the header)
            return MediaType(b.indices.contains { ascii($0, "webm") } ? "video/webm" : "video/x-matroska")
        }
        if b.count >= 16 && b[0..<16] == [0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11,
                                          0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C] {  // ASF header object GUID
            return MediaType("video/x-ms-asf")
        }
        if ascii(0, "RIFF") && ascii(8, "AVI ") { return MediaType("video/x-msvideo") }
        if ascii(0, "FLV") && b.count >= 4 && b[3] == 1 { return MediaType("video/x-flv") }
        if ascii(0, "#!AMR-WB\n") { return MediaType("audio/amr-wb") }
        if ascii(0, "#!AMR\n") { return MediaType("audio/amr") }
        if b.count >= 2 && b[0] == 0x0B && b[1] == 0x77 { return MediaType("audio/ac3") }  // AC-3 / E-AC-3 sync word
        // MPEG audio frame header: 11 sync bits, a version that is not reserved (01), a layer.
        if b.count >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && (b[1] >> 3) & 3 != 1 {
            return MediaType((b[1] >> 1) & 3 == 0 ? "audio/aac" : "audio/mpeg")
        }
        return .unknown
    }

    /// The kind a file name suggests (used only to decide which unrecognised files to report).
    public static func kind(forExtension ext: String) -> MediaKind {
        switch ext.lowercased() {
        case "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "snd", "caf", "w64",
             "m4a", "m4b", "aac", "wma", "amr", "awb", "ac3", "mka", "weba":
            return .audio
        case "mp4", "m4v", "mov", "mkv", "webm", "avi", "wmv", "asf", "3gp", "3g2", "flv":
            return .video
        case let image where ImageFormat.fileExtensions.contains(image):
            return .image
        default:
            return .unknown
        }
    }

    /// Why an unknown file is not media, for its error record.
    public static func unrecognisedReason(path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            var link = stat()
            let isLink = lstat(path, &link) == 0 && link.st_mode & S_IFMT == S_IFLNK
            if code == ENOENT && isLink { return "cannot open the file: it is a symbolic link to a file that does not exist" }
            if code == ELOOP { return "cannot open the file: its symbolic links form a loop" }
            if code == ENOENT && path.contains("\u{FFFD}") {
                return "cannot open the file: its name is not valid UTF-8 (shown here with �); rename it to process it"
            }
            if code == ENOENT { return "cannot open the file: it no longer exists (removed during the run?)" }
            return "cannot open the file: \(String(cString: strerror(code)))"
        }
        close(fd)
        guard let handle = FileHandle(forReadingAtPath: path) else { return "cannot open the file" }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        if header.isEmpty { return "empty file (0 bytes)" }
        let shown = header.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
        return "not a recognised audio, video or image file (content starts with \"\(shown)\")"
    }
}
