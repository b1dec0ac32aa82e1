/// Windows / OS2 bitmaps, parsed here (no C library), with Swift's bounds and overflow checks.
/// Follows Pillow's BmpImagePlugin: BITMAPCOREHEADER (12 bytes) and BITMAPINFOHEADER and its
/// V2-V5 / OS2 v2 extensions (40, 52, 56, 64, 108, 124); 1/2/4/8-bit palettes (BGR or BGRX entries,
/// `biClrUsed` or 2^bits of them), 16-bit (5-5-5 unless bit fields say otherwise), 24-bit BGR,
/// 32-bit BGRX; BI_BITFIELDS / BI_ALPHABITFIELDS masks; positive height = rows stored bottom-up,
/// negative = top-down; pixel data at bfOffBits; rows padded to 4 bytes. An alpha mask (V3+
/// headers or BI_ALPHABITFIELDS) gives RGBA, as Pillow's "BGRA" raw mode; plain 32-bit BI_RGB
/// ignores the fourth byte ("BGRX"). A mask field of n bits is scaled as v · 255 / (2^n − 1).
/// RLE4 / RLE8 / JPEG / PNG compression are refused as unsupported.
enum BMP {
    static let headerSizes: Set<Int> = [12, 40, 52, 56, 64, 108, 124]

    /// (height, width, channels) pixels, channels 3 (RGB) or 4 (RGBA).
    struct Pixels { let width: Int, height: Int, channels: Int, bytes: [UInt8] }

    static func decode(_ data: [UInt8], name: String, maxPixels: Int, headerOnly: Bool = false) throws -> Pixels {
        func fail(_ kind: ImageError.Kind, _ message: String) -> ImageError { ImageError(path: name, kind: kind, message: "BMP \(message)") }
        func u16(_ at: Int) -> Int { Int(EXIF.readUInt16(data, at, bigEndian: false)) }
        func u32(_ at: Int) -> Int { Int(EXIF.readUInt32(data, at, bigEndian: false)) }
        guard data.count >= 18 else { throw fail(.truncated, "file is truncated (\(data.count) bytes, no DIB header)") }
        let headerSize = u32(14)
        guard headerSizes.contains(headerSize) else { throw fail(.corrupt, "DIB header size \(headerSize) is not a known one") }
        guard data.count >= 14 + headerSize else { throw fail(.truncated, "file is truncated inside its \(headerSize)-byte DIB header") }
        let core = headerSize == 12
        let width = core ? u16(18) : Int(Int32(bitPattern: UInt32(u32(18))))
        let signedHeight = core ? u16(20) : Int(Int32(bitPattern: UInt32(u32(22))))
        let bits = core ? u16(24) : u16(28)
        let compression = core ? 0 : u32(30)
        let height = abs(signedHeight), topDown = signedHeight < 0
        guard width >= 0 else { throw fail(.corrupt, "width \(width) is negative") }
        if width == 0 || height == 0 { throw fail(.emptyImage, "image has no pixels: header declares \(width)x\(height)") }
        let pixelCount = width.multipliedReportingOverflow(by: height)
        guard !pixelCount.overflow, pixelCount.partialValue <= maxPixels else {
            throw fail(.tooLarge, "header declares \(width)x\(height) = \(UInt64(width) * UInt64(height)) pixels, above the limit of \(maxPixels) (refused before decoding)")
        }

        // compression: 0 BI_RGB, 3 BI_BITFIELDS, 6 BI_ALPHABITFIELDS (1, 2 RLE; 4 JPEG; 5 PNG)
        guard [0, 3, 6].contains(compression) else {
            let names = [1: "RLE8", 2: "RLE4", 4: "JPEG", 5: "PNG"]
            throw fail(.unsupportedFormat, "\(names[compression] ?? "compression \(compression)") compression is not supported")
        }
        guard [1, 2, 4, 8, 16, 24, 32].contains(bits) else { throw fail(.corrupt, "\(bits) bits per pixel is not a BMP depth") }
        if headerOnly { return Pixels(width: width, height: height, channels: 0, bytes: []) }

        // Bit-field masks: in the V2+ header, or right after a 40-byte one.
        var masks: [Int] = bits == 16 ? [0x7C00, 0x3E0, 0x1F, 0] : [0xFF0000, 0xFF00, 0xFF, 0]
        var afterHeader = 14 + headerSize
        if compression == 3 || compression == 6 {
            guard bits == 16 || bits == 32 else { throw fail(.corrupt, "bit fields with \(bits) bits per pixel") }
            let maskCount = headerSize >= 56 || compression == 6 ? 4 : 3
            let maskStart = headerSize == 40 ? afterHeader : 54
            guard data.count >= maskStart + 4 * maskCount else { throw fail(.truncated, "file is truncated inside its bit-field masks") }
            masks = (0..<4).map { $0 < maskCount ? u32(maskStart + 4 * $0) : 0 }
            if headerSize == 40 { afterHeader += 4 * maskCount }
        }

        var palette: [(UInt8, UInt8, UInt8)] = []
        if bits <= 8 {
            let used = core ? 0 : u32(46)
            let count = used > 0 && used <= 1 << bits ? used : 1 << bits
            let entry = core ? 3 : 4
            guard data.count >= afterHeader + count * entry else { throw fail(.truncated, "file is truncated inside its palette") }
            palette = (0..<count).map { i in
                let at = afterHeader + i * entry
                return (data[at + 2], data[at + 1], data[at])  // stored B, G, R
            }
        }

        let offset = u32(10)
        let start = offset > 0 ? offset : afterHeader + palette.count * (core ? 3 : 4)
        let stride = ((width * bits + 31) / 32) * 4
        let (needed, overflow) = stride.multipliedReportingOverflow(by: height)
        guard !overflow, start <= data.count, data.count - start >= needed else {
            throw fail(.truncated, "file is truncated: \(height) rows of \(stride) bytes from byte \(start), but the file has \(data.count) bytes")
        }

        let alpha = masks[3] != 0
        let channels = alpha ? 4 : 3
        let fields = masks.map(Field.init)
        var out = [UInt8](repeating: 0, count: width * height * channels)
        for row in 0..<height {
            let source = start + (topDown ? row : height - 1 - row) * stride
            var o = row * width * channels
            for x in 0..<width {
                switch bits {
                case 1, 2, 4, 8:
                    let bit = x * bits
                    let index = Int(data[source + bit / 8] >> (8 - bits - bit % 8)) & ((1 << bits) - 1)
                    let color = index < palette.count ? palette[index] : (0, 0, 0)  // past the palette: black
                    (out[o], out[o + 1], out[o + 2]) = color
                case 24:
                    let at = source + 3 * x
                    (out[o], out[o + 1], out[o + 2]) = (data[at + 2], data[at + 1], data[at])
                default:  // 16, 32: little-endian words split by the masks
                    let at = source + (bits / 8) * x
                    var word = Int(data[at]) | Int(data[at + 1]) << 8
                    if bits == 32 { word |= Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24 }
                    for c in 0..<channels { out[o + c] = fields[c].value(word) }
                }
                o += channels
            }
        }
        return Pixels(width: width, height: height, channels: channels, bytes: out)
    }

    /// One bit-field mask: its shift and width, and the scaling of its values to 0...255.
    struct Field {
        let shift: Int, maximum: Int
        init(_ mask: Int) {
            shift = mask == 0 ? 0 : mask.trailingZeroBitCount
            maximum = mask >> shift
        }
        func value(_ word: Int) -> UInt8 {
            guard maximum > 0 else { return 0 }
            return UInt8(((word >> shift) & maximum) * 255 / maximum)
        }
    }
}
