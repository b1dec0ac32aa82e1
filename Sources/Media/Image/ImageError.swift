/// An image that could not be decoded: which file, and what was wrong with it.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case unreadable       // missing file, a directory, no permission
        case empty            // a 0-byte file
        case unknownFormat    // magic bytes of no supported format
        case unsupportedFormat // a known format Hearth does not decode (GIF, WebP, ...)
        case truncated        // the data ends before the image does
        case corrupt          // the codec rejected the data
        case emptyImage       // 0 width or 0 height
        case tooLarge         // declared size above ImageDecodeOptions.maxPixels
        case malformedEXIF    // only with ImageDecodeOptions.rejectMalformedEXIF
    }

    public let path: String
    public let kind: Kind
    public let message: String

    public init(path: String, kind: Kind, message: String) {
        self.path = path
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
