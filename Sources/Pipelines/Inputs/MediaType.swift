import Foundation
import Media

/// What a stage can read.
public enum MediaKind: String, Codable, Sendable, CaseIterable {
    case audio, image, unknown
}

/// A file's media type, found from its first bytes (magic numbers), not from its name.
public struct MediaType: Hashable, Sendable, CustomStringConvertible {
    /// e.g. `audio/wav`, `image/png`, or `unknown`.
    public let mime: String
    public var kind: MediaKind {
        if mime.hasPrefix("audio/") { return .audio }
        if mime.hasPrefix("image/") { return .image }
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
        return sniff([UInt8](header))
    }

    /// Recognises RIFF/WAVE (and RF64, Wave64), FLAC, Ogg, MP3 (ID3 tag or MPEG frame sync),
    /// AIFF, Sun .au, CAF, MP4/M4A headers, and every image format ImageDecoder reads (PNG, JPEG,
    /// WebP, TIFF, GIF, BMP, HEIF/HEIC, AVIF: ImageFormat.detect, the decoder's own test).
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
        if ascii(4, "ftyp") { return MediaType(ascii(8, "M4A ") || ascii(8, "M4B ") ? "audio/mp4" : "video/mp4") }
        // MPEG audio frame header: 11 sync bits, a version that is not reserved (01), a layer.
        if b.count >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && (b[1] >> 3) & 3 != 1 {
            return MediaType((b[1] >> 1) & 3 == 0 ? "audio/aac" : "audio/mpeg")
        }
        return .unknown
    }

    /// The kind a file name suggests (used only to decide which unrecognised files to report).
    public static func kind(forExtension ext: String) -> MediaKind {
        switch ext.lowercased() {
        case "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "snd", "caf", "w64", "m4a":
            return .audio
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
        return "not a recognised audio or image file (content starts with \"\(shown)\")"
    }
}
