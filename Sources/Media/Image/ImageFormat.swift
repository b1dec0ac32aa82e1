/// The image formats Hearth decodes, recognised from their first bytes (never from the file name).
/// MediaType (Pipelines) uses the same test to classify files.
public enum ImageFormat: String, CaseIterable, Sendable {
    case png = "PNG", jpeg = "JPEG", webp = "WebP", tiff = "TIFF", gif = "GIF", bmp = "BMP", heif = "HEIF", avif = "AVIF"

    /// Every format, for help texts and messages: "PNG, JPEG, WebP, TIFF, GIF, BMP, HEIF/HEIC and AVIF".
    public static let supportedList = "PNG, JPEG, WebP, TIFF, GIF, BMP, HEIF/HEIC and AVIF"

    /// File extensions the pipelines' folder walker counts as images even when the content is not
    /// recognised (so a damaged photo gets an error record).
    public static let fileExtensions: Set<String> = ["png", "jpg", "jpeg", "jpe", "webp", "tif", "tiff", "gif", "bmp", "dib",
                                                     "heic", "heif", "hif", "avif"]

    public var mimeType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .webp: "image/webp"
        case .tiff: "image/tiff"
        case .gif: "image/gif"
        case .bmp: "image/bmp"
        case .heif: "image/heif"
        case .avif: "image/avif"
        }
    }

    /// ISO-BMFF brands (ftyp major or compatible) of still HEIF images (HEVC, or any codec with mif1)
    /// and of AVIF (ISO/IEC 23008-12 Annex B, AV1-ISOBMFF §9).
    static let heifBrands: Set<String> = ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "mif2", "miaf"]
    static let avifBrands: Set<String> = ["avif", "avis"]

    /// The format whose signature `header` starts with: PNG's 8-byte signature, JPEG SOI + marker,
    /// "RIFF....WEBP", TIFF "II*\0" / "MM\0*" (and BigTIFF "II+\0" / "MM\0+"), "GIF87a" / "GIF89a",
    /// BMP "BM" with a known DIB header size, an ISO-BMFF "ftyp" box with a HEIF or AVIF brand.
    /// MP4 video/audio ("ftyp" with other brands) is not an image.
    public static func detect<Bytes: Collection<UInt8>>(_ header: Bytes) -> ImageFormat? {
        let b = Array(header.prefix(64))
        func ascii(_ offset: Int, _ text: String) -> Bool {
            let t = Array(text.utf8)
            return b.count >= offset + t.count && Array(b[offset..<(offset + t.count)]) == t
        }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if b.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if ascii(0, "RIFF") && ascii(8, "WEBP") { return .webp }
        if b.starts(with: [0x49, 0x49, 0x2A, 0x00]) || b.starts(with: [0x4D, 0x4D, 0x00, 0x2A])
            || b.starts(with: [0x49, 0x49, 0x2B, 0x00]) || b.starts(with: [0x4D, 0x4D, 0x00, 0x2B]) { return .tiff }
        if ascii(0, "GIF87a") || ascii(0, "GIF89a") { return .gif }
        if ascii(0, "BM") && b.count >= 18 && BMP.headerSizes.contains(Int(EXIF.readUInt32(b, 14, bigEndian: false))) { return .bmp }
        if ascii(4, "ftyp") && b.count >= 12 {
            let boxSize = Int(EXIF.readUInt32(b, 0, bigEndian: true))
            let end = min(b.count, max(12, boxSize))
            let major = String(decoding: b[8..<12], as: UTF8.self)
            let compatible = stride(from: 16, to: end - 3, by: 4).map { String(decoding: b[$0..<($0 + 4)], as: UTF8.self) }
            if avifBrands.contains(major) { return .avif }
            if heifBrands.contains(major) {
                return compatible.contains(where: avifBrands.contains) && !compatible.contains("heic") ? .avif : .heif
            }
            if compatible.contains(where: avifBrands.contains) { return .avif }
            if compatible.contains(where: heifBrands.contains) { return .heif }
        }
        return nil
    }
}
