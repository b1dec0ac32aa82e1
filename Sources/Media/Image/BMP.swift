/// Windows / OS2 bitmaps, parsed here (no C library), with Swift's bounds and overflow checks.
/// Follows Pillow's BmpImagePlugin: BITMAPCOREHEADER (12 bytes) and BITMAPINFOHEADER and its
/// V2-V5 / OS2 v2 extensions (40, 52, 56, 64, 108, 124); 1/2/4/8-bit palettes (BGR or BGRX entries,
/// `biClrUsed` or 2^bits of them), 16-bit (5-5-5 unless bit fields say otherwise), 24-bit BGR,
/// 32-bit BGRX; BI_BITFIELDS / BI_ALPHABITFIELDS masks; positive height = rows stored bottom-up,
/// negative = top-down; pixel data at bfOffBits; rows padded to 4 bytes. An alpha mask (V3+
/// headers or BI_ALPHABITFIELDS) gives RGBA, as Pillow's "BGRA" raw mode; plain 32-bit BI_RGB
/// ignores the fourth byte ("BGRX"). A mask field of n bits is scaled as v · 255 / (2^n − 1).
/// RLE8 / RLE4 are expanded as Pillow's BmpRleDecoder does (runs cut at the row end, end-of-line
/// fills the row with index 0, deltas skip with index 0, absolute runs word-aligned in the file);
/// JPEG / PNG compression are refused as unsupported.
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
        guard !pixelCount.overflow, pixelCount.partialValue <= maxPixels, pixelCount.partialValue <= Int.max / 4 else {
            throw fail(.tooLarge, "header declares \(width)x\(height) = \(UInt64(width) * UInt64(height)) pixels, above the limit of \(maxPixels) (refused before decoding)")
        }

        // compression: 0 BI_RGB, 1 BI_RLE8, 2 BI_RLE4, 3 BI_BITFIELDS, 6 BI_ALPHABITFIELDS (4 JPEG, 5 PNG)
        guard [0, 1, 2, 3, 6].contains(compression) else {
            let names = [4: "JPEG", 5: "PNG"]
            throw fail(.unsupportedFormat, "\(names[compression] ?? "compression \(compression)") compression is not supported")
        }
        guard [1, 2, 4, 8, 16, 24, 32].contains(bits) else { throw fail(.corrupt, "\(bits) bits per pixel is not a BMP depth") }
        let rle = compression == 1 || compression == 2
        if rle && bits != (compression == 1 ? 8 : 4) {
            throw fail(.corrupt, "\(compression == 1 ? "RLE8" : "RLE4") compression with \(bits) bits per pixel")
        }
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
            let count = used > 0 ? used : 1 << bits  // Pillow reads biClrUsed entries, even more than 2^bits
            guard count <= 65536 else { throw fail(.corrupt, "palette of \(count) colors") }
            let entry = core ? 3 : 4
            guard data.count >= afterHeader + count * entry else { throw fail(.truncated, "file is truncated inside its palette") }
            palette = (0..<count).map { i in
                let at = afterHeader + i * entry
                return (data[at + 2], data[at + 1], data[at])  // stored B, G, R
            }
        }

        // bfOffBits; one that points right after the header means "after the palette" (as Pillow reads it)
        var start = u32(10) > 0 ? u32(10) : afterHeader
        if start == 14 + headerSize && bits <= 8 { start += palette.count * (core ? 3 : 4) }
        let alpha = masks[3] != 0
        let channels = alpha ? 4 : 3
        var out = [UInt8](repeating: 0, count: width * height * channels)
        if rle {
            let indices = try expandRLE(data, from: start, width: width, height: height, rle4: compression == 2, fail: fail)
            for stored in 0..<height {
                let row = topDown ? stored : height - 1 - stored
                for x in 0..<width {
                    let index = Int(indices[stored * width + x]), o = (row * width + x) * 3
                    (out[o], out[o + 1], out[o + 2]) = index < palette.count ? palette[index] : (0, 0, 0)
                }
            }
            return Pixels(width: width, height: height, channels: 3, bytes: out)
        }
        let stride = ((width * bits + 31) / 32) * 4
        let (needed, overflow) = stride.multipliedReportingOverflow(by: height)
        guard !overflow, start <= data.count, data.count - start >= needed else {
            throw fail(.truncated, "file is truncated: \(height) rows of \(stride) bytes from byte \(start), but the file has \(data.count) bytes")
        }

        let fields = masks.map(Field.init)
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

    /// Palette indices of an RLE8 / RLE4 bitmap in stored row order, Pillow's BmpRleDecoder step by step:
    /// (n, v) draws n pixels of v (RLE4: alternating its two nibbles), cut at the row end; (0, 0) ends
    /// the row (rest index 0), (0, 1) the bitmap, (0, 2, dx, dy) skips dx + dy·width pixels (index 0);
    /// (0, n ≥ 3) is n literal pixels, then the file position is aligned to 2 bytes. Fewer pixels than
    /// width·height is an error (Pillow: "not enough image data").
    static func expandRLE(_ data: [UInt8], from start: Int, width: Int, height: Int, rle4: Bool,
                          fail: (ImageError.Kind, String) -> ImageError) throws -> [UInt8] {
        let total = width * height
        var indices = [UInt8]()
        indices.reserveCapacity(total)
        var position = start, x = 0
        decoding: while indices.count < total {
            guard position + 2 <= data.count else { break }
            let count = Int(data[position]), value = data[position + 1]
            position += 2
            if count > 0 {
                let n = x + count > width ? max(0, width - x) : count
                for i in 0..<n { indices.append(rle4 ? (i % 2 == 0 ? value >> 4 : value & 0x0F) : value) }
                x += n
                continue
            }
            switch value {
            case 0:
                while indices.count % width != 0 { indices.append(0) }
                x = 0
            case 1:
                break decoding
            case 2:
                guard position + 2 <= data.count else { break decoding }
                let skip = Int(data[position]) + Int(data[position + 1]) * width
                position += 2
                indices.append(contentsOf: repeatElement(0, count: min(total - indices.count, skip)))
                x = indices.count % width
            default:
                let literal = min(total - indices.count, Int(value))
                let bytes = rle4 ? (literal + 1) / 2 : literal
                let available = min(bytes, data.count - position)
                for i in 0..<available {
                    let byte = data[position + i]
                    if rle4 {
                        indices.append(byte >> 4)
                        if i * 2 + 1 < literal { indices.append(byte & 0x0F) }
                    } else {
                        indices.append(byte)
                    }
                }
                position += available
                if available < bytes || indices.count == total { break decoding }
                x += Int(value)
                if position % 2 != 0 { position += 1 }
            }
        }
        guard indices.count >= total else {
            throw fail(.truncated, "RLE data ends after \(indices.count) of \(total) pixels")
        }
        return Array(indices.prefix(total))
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
