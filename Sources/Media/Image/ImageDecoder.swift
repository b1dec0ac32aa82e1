import CImageCodecs
import Foundation

/// How a decoder treats transparency when it returns RGB.
public enum AlphaHandling: Sendable {
    /// Blend over opaque white, exactly as transformers' `image_transforms.convert_to_rgb` does
    /// (PIL `convert("RGBA")`, then `Image.alpha_composite` onto white, then RGB). The
    /// Idefics3/SmolVLM processors call it (`do_convert_rgb=True`). Like that function, an RGB PNG
    /// keeps its pixels as they are even if it has a tRNS color key (PIL mode "RGB" is returned
    /// unchanged), while gray and palette tRNS become transparent → white.
    case compositeOnWhite
    /// Discard alpha and tRNS, as PIL `Image.convert("RGB")` does (what
    /// `transformers.image_utils.load_image` and most detection pipelines use).
    case drop
}

public struct ImageDecodeOptions: Sendable {
    /// width * height above this is refused from the header, before any pixel buffer is allocated
    /// (decompression bombs). Pillow warns above 89 M pixels and refuses above 179 M.
    public var maxPixels: Int
    /// Rotate / flip by the EXIF orientation tag (JPEG APP1, PNG eXIf), or else XMP's tiff:Orientation,
    /// like `ImageOps.exif_transpose`.
    public var applyEXIFOrientation: Bool
    public var alpha: AlphaHandling
    /// A malformed Exif block is ignored by default (orientation 1, as Pillow does); `true` refuses the file.
    public var rejectMalformedEXIF: Bool
    /// A progressive JPEG with more scans than this is refused: each scan is a pass over the whole
    /// image, so thousands of tiny scans are a denial of service. Encoders write about 10 (cjpeg ≤ 100).
    public var maxJPEGScans: Int

    public init(maxPixels: Int = 100_000_000, applyEXIFOrientation: Bool = true,
                alpha: AlphaHandling = .compositeOnWhite, rejectMalformedEXIF: Bool = false,
                maxJPEGScans: Int = 500) {
        self.maxPixels = maxPixels
        self.applyEXIFOrientation = applyEXIFOrientation
        self.alpha = alpha
        self.rejectMalformedEXIF = rejectMalformedEXIF
        self.maxJPEGScans = maxJPEGScans
    }
}

/// PNG (libpng), JPEG (libjpeg-turbo), WebP (libwebp), TIFF (libtiff), GIF (giflib), BMP (BMP.swift)
/// and HEIF/HEIC/AVIF (libheif) to 8-bit RGB, matching Pillow's `Image.open(f)` →
/// `ImageOps.exif_transpose` → `convert("RGB")` (or transformers' `convert_to_rgb`, see AlphaHandling).
/// The format comes from the magic bytes (ImageFormat.detect), never from the file name. Only the
/// first page / frame / primary image of multi-image files is read. Orientation: JPEG APP1 / PNG
/// eXIf / WebP EXIF chunk (else XMP), TIFF's own Orientation tag; HEIF/AVIF come out already turned
/// by libheif (irot / imir), so their EXIF orientation is not applied again (as pillow-heif).
///
/// Conversions, each as Pillow does it (src/libImaging/Convert.c, AlphaComposite.c):
/// - gray → R = G = B; 1/2/4-bit gray scaled to 0...255 (×255, ×85, ×17); palettes looked up.
/// - 16-bit samples keep their high byte (libpng `png_set_strip_16`; Pillow's "RGB;16B", "RGBA;16B",
///   "LA;16B" raw modes do the same). One deliberate difference: for 16-bit *gray* PNGs Pillow
///   opens mode "I;16" and its I;16 → RGB conversion clips every value above 255 to 255, which turns
///   almost any real 16-bit gray image white; Hearth keeps the high byte like for the other modes.
/// - JPEG CMYK: always treated as Adobe-inverted (as Photoshop writes it, and as Pillow assumes
///   for every 4-channel JPEG), then Pillow's cmyk2rgb: R = k' − k'·c/255 with c = 255 − stored C,
///   k' = stored K. TIFF CMYK (stored plain) is inverted in C and goes the same way.
/// - TIFF, GIF and palette conversions: see tiff_decode.c, gif_decode.c (Sources/CImageCodecs) and BMP.swift.
public enum ImageDecoder {
    public static func decode(path: String, options: ImageDecodeOptions = .init()) throws -> RGBImage {
        try decode(data: try readFile(path), name: path, options: options)
    }

    public static func decode(data: Data, name: String, options: ImageDecodeOptions = .init()) throws -> RGBImage {
        try decode(data: [UInt8](data), name: name, options: options)
    }

    /// `name` is only used in error messages.
    public static func decode(data: [UInt8], name: String, options: ImageDecodeOptions = .init()) throws -> RGBImage {
        let format = try detectFormat(data, name: name)
        var image: RGBImage
        var orientation = 1
        let limit = UInt64(clamping: options.maxPixels)
        switch format {
        case .png:
            try checkPNGHeader(data, name: name, maxPixels: options.maxPixels)
            // tRNS → alpha only when alpha is composited (see AlphaHandling); never for truecolor RGB.
            let transparency: Int32 = options.alpha == .compositeOnWhite ? 2 : 0
            image = try runCodec(data, name: name, format: format.rawValue,
                                 { hic_png_decode($0, $1, limit, transparency, $2) },
                                 then: { try toRGB($0, name: name, alpha: options.alpha) })
        case .jpeg:
            image = try runCodec(data, name: name, format: format.rawValue,
                                 { hic_jpeg_decode($0, $1, limit, Int32(clamping: options.maxJPEGScans), 0, $2) },
                                 then: { try toRGB($0, name: name, alpha: options.alpha) })
        case .bmp:
            let bmp = try BMP.decode(data, name: name, maxPixels: options.maxPixels)
            image = try bmp.bytes.withUnsafeBufferPointer {
                try toRGB(Decoded(width: bmp.width, height: bmp.height, channels: bmp.channels, cmyk: false, orientation: 0, pixels: $0),
                          name: name, alpha: options.alpha)
            }
        case .webp, .tiff, .gif, .heif, .avif:
            let codec = headerCodec(format)
            (image, orientation) = try runCodec(data, name: name, format: format.rawValue, { codec($0, $1, limit, 0, $2) },
                                                then: { (try toRGB($0, name: name, alpha: options.alpha), $0.orientation) })
        }
        if options.applyEXIFOrientation {
            orientation = try orientationTag(format, data, name: name, options: options, codecOrientation: orientation)
        } else {
            orientation = 1
        }
        if orientation != 1 { image = EXIF.apply(orientation: orientation, to: image) }
        return image
    }

    /// Width and height as `decode` with default options returns them (after EXIF orientation), and
    /// the format ("PNG" or "JPEG"), from the header alone: no pixel is decoded.
    public static func probe(path: String) throws -> (width: Int, height: Int, format: String) {
        let data = try readFile(path)
        let format = try detectFormat(data, name: path)
        var width = 0, height = 0, orientation = 0
        let options = ImageDecodeOptions()
        switch format {
        case .png:
            guard data.count >= 24, String(decoding: data[12..<16], as: UTF8.self) == "IHDR" else {
                throw ImageError(path: path, kind: .truncated, message: "PNG file ends before its IHDR header")
            }
            width = Int(EXIF.readUInt32(data, 16, bigEndian: true))
            height = Int(EXIF.readUInt32(data, 20, bigEndian: true))
            guard width > 0, height > 0 else {
                throw ImageError(path: path, kind: .emptyImage, message: "PNG image is \(width)x\(height)")
            }
        case .jpeg:
            (width, height) = try runCodec(data, name: path, format: "JPEG",
                                           { hic_jpeg_decode($0, $1, UInt64.max, Int32.max, 1, $2) },
                                           then: { ($0.width, $0.height) })
        case .bmp:
            let header = try BMP.decode(data, name: path, maxPixels: .max, headerOnly: true)
            (width, height) = (header.width, header.height)
        case .webp, .tiff, .gif, .heif, .avif:
            let codec = headerCodec(format)
            (width, height, orientation) = try runCodec(data, name: path, format: format.rawValue, { codec($0, $1, UInt64.max, 1, $2) },
                                                        then: { ($0.width, $0.height, $0.orientation) })
        }
        orientation = try orientationTag(format, data, name: path, options: options, codecOrientation: orientation)
        let size = EXIF.orientedSize(width: width, height: height, orientation: orientation)
        return (size.width, size.height, format.rawValue)
    }

    // MARK: - Input


    static func readFile(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImageError(path: path, kind: .unreadable, message: "no such file")
        }
        if isDirectory.boolValue { throw ImageError(path: path, kind: .unreadable, message: "is a directory, not an image file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError(path: path, kind: .unreadable, message: "cannot read the file (permissions?)")
        }
        return [UInt8](data)
    }

    /// The format from the magic bytes (ImageFormat.detect); a file cut inside a signature is truncated.
    static func detectFormat(_ data: [UInt8], name: String) throws -> ImageFormat {
        if data.isEmpty { throw ImageError(path: name, kind: .empty, message: "empty file (0 bytes)") }
        if let format = ImageFormat.detect(data) { return format }
        let cutSignatures: [[UInt8]] = [[0x89, 0x50, 0x4E], [0xFF, 0xD8], Array("RIFF".utf8), Array("GIF8".utf8), Array("BM".utf8)]
        if data.count < 18, cutSignatures.contains(where: { data.starts(with: $0) || (data.count < $0.count && $0.starts(with: data)) }) {
            throw ImageError(path: name, kind: .truncated, message: "file ends inside the image signature (\(data.count) bytes)")
        }
        if data.count >= 12, String(decoding: data[4..<8], as: UTF8.self) == "ftyp" {
            let brand = String(decoding: data[8..<12], as: UTF8.self)
            throw ImageError(path: name, kind: .unsupportedFormat,
                             message: "ISO media file with brand '\(brand)' (video or audio?), not a HEIF or AVIF image")
        }
        let head = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw ImageError(path: name, kind: .unknownFormat,
                         message: "not a \(ImageFormat.supportedList) image (first bytes: \(head))")
    }

    /// The C decoders that share one signature: (data, size, maxPixels, headerOnly, out).
    typealias HeaderCodec = (UnsafePointer<UInt8>, Int, UInt64, Int32, UnsafeMutablePointer<hic_image>) -> hic_status
    static func headerCodec(_ format: ImageFormat) -> HeaderCodec {
        switch format {
        case .webp: return { hic_webp_decode($0, $1, $2, $3, $4) }
        case .tiff: return { hic_tiff_decode($0, $1, $2, $3, $4) }
        case .gif: return { hic_gif_decode($0, $1, $2, $3, $4) }
        default: return { hic_heif_decode($0, $1, $2, $3, $4) }
        }
    }

    /// The orientation to apply: EXIF (else XMP) for JPEG, PNG and WebP; TIFF's own tag (the codec's
    /// `codecOrientation`); 1 for GIF, BMP and HEIF/AVIF (libheif has already applied irot / imir).
    static func orientationTag(_ format: ImageFormat, _ data: [UInt8], name: String, options: ImageDecodeOptions,
                               codecOrientation: Int) throws -> Int {
        switch format {
        case .jpeg: return try readOrientation(name: name, options: options) { try EXIF.jpegSources(data) }
        case .png: return try readOrientation(name: name, options: options) { EXIF.pngSources(data) }
        case .webp: return try readOrientation(name: name, options: options) { EXIF.webpSources(data) }
        case .tiff: return (1...8).contains(codecOrientation) ? codecOrientation : 1
        case .gif, .bmp, .heif, .avif: return 1
        }
    }

    /// Zero and oversized IHDR dimensions are refused here, before libpng sees the file (libpng would
    /// call a 0 width "invalid"; the pixel limit is checked again in C after png_read_info).
    static func checkPNGHeader(_ data: [UInt8], name: String, maxPixels: Int) throws {
        guard data.count >= 24, String(decoding: data[12..<16], as: UTF8.self) == "IHDR" else { return }  // libpng reports it
        let width = Int(EXIF.readUInt32(data, 16, bigEndian: true)), height = Int(EXIF.readUInt32(data, 20, bigEndian: true))
        if width == 0 || height == 0 {
            throw ImageError(path: name, kind: .emptyImage, message: "PNG image has no pixels: header declares \(width)x\(height)")
        }
        // both are < 2^32, so their product fits in UInt64 (in Int it may not: found by fuzz-image)
        let pixels = UInt64(width) * UInt64(height)
        if pixels > UInt64(clamping: maxPixels) || width > Int(Int32.max) || height > Int(Int32.max) {
            throw ImageError(path: name, kind: .tooLarge,
                             message: "PNG header declares \(width)x\(height) = \(pixels) pixels, above the limit of \(maxPixels) (refused before decoding)")
        }
    }

    // MARK: - Codec calls

    /// A codec's output, valid only inside runCodec's `then` (the C buffer is freed afterwards).
    struct Decoded {
        let width: Int, height: Int, channels: Int
        let cmyk: Bool         // 4 channels are inverted CMYK (JPEG Adobe, TIFF after inversion in C)
        let orientation: Int   // TIFF's Orientation tag; 0 for other formats
        let pixels: UnsafeBufferPointer<UInt8>  // (height, width, channels); empty for a header-only call
    }

    /// Runs one C decoder on `data`; turns its status and message into an ImageError, or hands its
    /// pixels to `then` in place (no intermediate copy: peak memory is the codec's buffer + RGB).
    static func runCodec<Result>(_ data: [UInt8], name: String, format: String,
                                 _ call: (UnsafePointer<UInt8>, Int, UnsafeMutablePointer<hic_image>) -> hic_status,
                                 then: (Decoded) throws -> Result) throws -> Result {
        var image = hic_image()
        let status = data.withUnsafeBufferPointer { buffer -> hic_status in
            guard let base = buffer.baseAddress else { return HIC_TRUNCATED }
            return call(base, buffer.count, &image)
        }
        defer { hic_image_free(&image) }
        let message = withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        switch status {
        case HIC_OK: break
        case HIC_TRUNCATED:
            throw ImageError(path: name, kind: .truncated, message: "\(format) file is truncated (\(message))")
        case HIC_TOO_LARGE:
            throw ImageError(path: name, kind: .tooLarge, message: "\(format) \(message)")
        case HIC_EMPTY_SIZE:
            throw ImageError(path: name, kind: .emptyImage, message: "\(format) image has no pixels: \(message)")
        case HIC_NO_MEMORY:
            throw ImageError(path: name, kind: .tooLarge, message: "\(format): \(message.isEmpty ? "out of memory" : message)")
        case HIC_UNSUPPORTED:
            throw ImageError(path: name, kind: .unsupportedFormat, message: "\(format) image uses a feature Hearth does not decode: \(message)")
        default:
            throw ImageError(path: name, kind: .corrupt, message: "corrupt \(format) data: \(message)")
        }
        let (width, height, channels) = (Int(image.width), Int(image.height), Int(image.channels))
        let count = image.pixels == nil ? 0 : width * height * channels
        return try then(Decoded(width: width, height: height, channels: channels, cmyk: image.is_cmyk != 0,
                                orientation: Int(image.orientation), pixels: UnsafeBufferPointer(start: image.pixels, count: count)))
    }

    /// The EXIF orientation tag, else XMP's tiff:Orientation (as Pillow's getexif), else 1. A malformed
    /// Exif block counts as absent (Pillow warns and goes on), unless rejectMalformedEXIF.
    static func readOrientation(name: String, options: ImageDecodeOptions, _ sources: () throws -> EXIF.Sources) throws -> Int {
        func malformed(_ problem: EXIF.Malformed) throws {
            if options.rejectMalformedEXIF {
                throw ImageError(path: name, kind: .malformedEXIF, message: "malformed EXIF: \(problem.reason)")
            }
        }
        var found = EXIF.Sources()
        do { found = try sources() } catch let problem as EXIF.Malformed { try malformed(problem) }
        if let tiff = found.tiff {
            do {
                if let tag = try EXIF.orientationTag(tiff: tiff) { return tag }
            } catch let problem as EXIF.Malformed { try malformed(problem) }
        }
        if let xmp = found.xmp, let value = EXIF.xmpOrientation(xmp) { return value }
        return 1
    }

    // MARK: - Native layout → RGB

    static func toRGB(_ decoded: Decoded, name: String, alpha: AlphaHandling) throws -> RGBImage {
        let count = decoded.width * decoded.height
        guard (1...4).contains(decoded.channels), decoded.pixels.count == count * decoded.channels else {
            throw ImageError(path: name, kind: .corrupt, message: "the codec returned \(decoded.pixels.count) bytes for "
                             + "\(decoded.width)x\(decoded.height)x\(decoded.channels)")
        }
        var rgb = [UInt8](repeating: 0, count: count * 3)
        let composite = alpha == .compositeOnWhite
        let src = decoded.pixels
        do {  // (height, width, channels) → (height, width, 3)
            rgb.withUnsafeMutableBufferPointer { dst in
                switch decoded.channels {
                case 1:
                    for i in 0..<count { let g = src[i]; dst[3 * i] = g; dst[3 * i + 1] = g; dst[3 * i + 2] = g }
                case 2:
                    for i in 0..<count {
                        let g = src[2 * i], a = src[2 * i + 1]
                        let v = composite ? overWhite(g, alpha: a) : g
                        dst[3 * i] = v; dst[3 * i + 1] = v; dst[3 * i + 2] = v
                    }
                case 3:
                    for i in 0..<(3 * count) { dst[i] = src[i] }
                default:
                    if decoded.cmyk {
                        for i in 0..<count {
                            let k = Int(src[4 * i + 3])  // stored K; Pillow's nk = 255 - (255 - K)
                            for c in 0..<3 { dst[3 * i + c] = cmykChannel(stored: src[4 * i + c], nk: k) }
                        }
                    } else {
                        for i in 0..<count {
                            let a = src[4 * i + 3]
                            for c in 0..<3 { dst[3 * i + c] = composite ? overWhite(src[4 * i + c], alpha: a) : src[4 * i + c] }
                        }
                    }
                }
            }
        }
        return RGBImage(width: decoded.width, height: decoded.height, pixels: rgb)
    }

    /// Pillow's ImagingAlphaComposite (7 extra bits, rounded division by 255) with an opaque white
    /// destination: coef1 = a·128, coef2 = (255 − a)·128.
    @inline(__always) static func overWhite(_ value: UInt8, alpha: UInt8) -> UInt8 {
        if alpha == 0 { return 255 }
        let a = UInt32(alpha)
        let blended = UInt32(value) * (a << 7) + 255 * ((255 - a) << 7) + (0x80 << 7)
        return UInt8(truncatingIfNeeded: (((blended >> 8) + blended) >> 8) >> 7)
    }

    /// Pillow's cmyk2rgb on an inverted ("CMYK;I") sample: CLIP8(nk − MULDIV255(255 − stored, nk)).
    @inline(__always) static func cmykChannel(stored: UInt8, nk: Int) -> UInt8 {
        let tmp = (255 - Int(stored)) * nk + 128
        let value = nk - (((tmp >> 8) + tmp) >> 8)
        return UInt8(max(0, min(255, value)))
    }
}
