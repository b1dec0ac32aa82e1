/// EXIF orientation: finding the Exif block in a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk), reading tag 0x0112
/// from IFD0 with every offset bounds-checked, and applying it the way Pillow's
/// `ImageOps.exif_transpose` does.
/// TIFF layout: https://www.itu.int/itudoc/itu-t/com16/tiff-fx/docs/tiff6.pdf (§2 "Image File Header", "IFD").
enum EXIF {
    struct Malformed: Error { let reason: String }

    /// Where a file keeps its orientation: the TIFF data of its Exif block, and its XMP packet.
    struct Sources {
        var tiff: ArraySlice<UInt8>?
        var xmp: ArraySlice<UInt8>?
    }

    /// JPEG: the TIFF data ("II*\0" / "MM\0*" onwards) of the first APP1 "Exif\0\0" segment (Pillow's
    /// JpegImagePlugin keeps the first) and the last APP1 XMP packet (Pillow keeps the last). Walks
    /// marker segments up to SOS; a segment running past the end stops the walk (the codec reports it).
    static func jpegSources(_ bytes: [UInt8]) throws -> Sources {
        var found = Sources()
        var position = 2  // after SOI
        while position + 4 <= bytes.count {
            guard bytes[position] == 0xFF else { throw Malformed(reason: "no JPEG marker at byte \(position)") }
            let marker = bytes[position + 1]
            if marker == 0xFF { position += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { position += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan / end of image
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            guard length >= 2, position + 2 + length <= bytes.count else { break }
            let body = bytes[(position + 4)..<(position + 2 + length)]
            if marker == 0xE1 {
                if body.starts(with: exifPrefix) {
                    if found.tiff == nil { found.tiff = body.dropFirst(exifPrefix.count) }
                } else if body.starts(with: xmpPrefix) {
                    found.xmp = body.dropFirst(xmpPrefix.count)
                }
            }
            position += 2 + length
        }
        return found
    }

    /// WebP: the first "EXIF" chunk (with or without an "Exif\0\0" prefix, as Pillow accepts) and the
    /// first "XMP " chunk of the RIFF container (chunks are padded to even sizes).
    static func webpSources(_ bytes: [UInt8]) -> Sources {
        var found = Sources()
        var position = 12  // after "RIFF" size "WEBP"
        while position + 8 <= bytes.count {
            let length = Int(readUInt32(bytes, position + 4, bigEndian: false))
            guard length <= bytes.count - position - 8 else { break }
            let type = String(decoding: bytes[position..<(position + 4)], as: UTF8.self)
            let body = bytes[(position + 8)..<(position + 8 + length)]
            if type == "EXIF" && found.tiff == nil { found.tiff = body.starts(with: exifPrefix) ? body.dropFirst(exifPrefix.count) : body }
            if type == "XMP " && found.xmp == nil { found.xmp = body }
            position += 8 + length + (length & 1)
        }
        return found
    }

    static let exifPrefix: [UInt8] = Array("Exif\0\0".utf8)
    static let xmpPrefix: [UInt8] = Array("http://ns.adobe.com/xap/1.0/\0".utf8)
    static let xmpKeyword: [UInt8] = Array("XML:com.adobe.xmp".utf8)

    /// PNG: the first eXIf chunk (with or without a JPEG-style "Exif\0\0" prefix, Pillow accepts
    /// both) and an uncompressed iTXt / tEXt "XML:com.adobe.xmp" packet, anywhere in the file
    /// (Pillow reads the chunks after IDAT too). Chunk CRCs are libpng's business.
    static func pngSources(_ bytes: [UInt8]) -> Sources {
        var found = Sources()
        var position = 8
        while position + 12 <= bytes.count {
            let length = Int(readUInt32(bytes, position, bigEndian: true))
            guard length <= bytes.count - position - 12 else { break }
            let type = String(decoding: bytes[(position + 4)..<(position + 8)], as: UTF8.self)
            let body = bytes[(position + 8)..<(position + 8 + length)]
            switch type {
            case "eXIf" where found.tiff == nil:
                found.tiff = body.starts(with: exifPrefix) ? body.dropFirst(exifPrefix.count) : body
            case "tEXt" where body.starts(with: xmpKeyword + [0]):
                found.xmp = body.dropFirst(xmpKeyword.count + 1)
            case "iTXt" where body.starts(with: xmpKeyword + [0, 0]):
                // keyword \0, compression flag 0, method, language tag \0, translated keyword \0, text
                var rest = body.dropFirst(xmpKeyword.count + 3)
                for _ in 0..<2 { if let zero = rest.firstIndex(of: 0) { rest = rest[(zero + 1)...] } else { rest = [] } }
                found.xmp = rest
            case "IEND":
                return found
            default:
                break
            }
            position += 12 + length
        }
        return found
    }

    /// Pillow's XMP fallback (Image.getexif, used when Exif has no orientation tag): the first match of
    /// the regex `tiff:Orientation(="|>)([0-9])`.
    static func xmpOrientation(_ xmp: ArraySlice<UInt8>) -> Int? {
        let key = Array("tiff:Orientation".utf8), packet = Array(xmp)
        guard packet.count > key.count + 2 else { return nil }
        var index = 0
        while index + key.count + 2 < packet.count {
            if packet[index] == key[0], Array(packet[index..<(index + key.count)]) == key {
                let after = index + key.count
                if packet[after] == UInt8(ascii: "="), packet[after + 1] == UInt8(ascii: "\""),
                   after + 2 < packet.count, (48...57).contains(packet[after + 2]) {
                    return Int(packet[after + 2] - 48)
                }
                if packet[after] == UInt8(ascii: ">"), (48...57).contains(packet[after + 1]) {
                    return Int(packet[after + 1] - 48)
                }
            }
            index += 1
        }
        return nil
    }

    /// The orientation tag (0x0112) of IFD0 of a TIFF block, nil when absent. A value outside 2...8
    /// or a count other than 1 means "no transpose" in Pillow; it is returned as 1 (present).
    static func orientationTag(tiff: ArraySlice<UInt8>) throws -> Int? {
        let data = Array(tiff)
        guard data.count >= 8 else { throw Malformed(reason: "Exif block of \(data.count) bytes is too short") }
        let bigEndian: Bool
        switch (data[0], data[1]) {
        case (0x49, 0x49): bigEndian = false
        case (0x4D, 0x4D): bigEndian = true
        default: throw Malformed(reason: "Exif block has no TIFF byte order mark")
        }
        guard readUInt16(data, 2, bigEndian: bigEndian) == 42 else { throw Malformed(reason: "Exif block has no TIFF magic 42") }
        let ifd = Int(readUInt32(data, 4, bigEndian: bigEndian))
        guard ifd >= 8, ifd <= data.count - 2 else { throw Malformed(reason: "Exif IFD0 offset \(ifd) is outside the \(data.count)-byte block") }
        let entries = Int(readUInt16(data, ifd, bigEndian: bigEndian))
        guard entries * 12 <= data.count - ifd - 2 else {
            throw Malformed(reason: "Exif IFD0 declares \(entries) entries, more than the block holds")
        }
        for index in 0..<entries {
            let entry = ifd + 2 + index * 12
            guard readUInt16(data, entry, bigEndian: bigEndian) == 0x0112 else { continue }
            let type = readUInt16(data, entry + 2, bigEndian: bigEndian)
            let count = readUInt32(data, entry + 4, bigEndian: bigEndian)
            guard count == 1 else { return 1 }
            let value: Int
            switch type {
            case 1: value = Int(data[entry + 8])                                          // BYTE
            case 3: value = Int(readUInt16(data, entry + 8, bigEndian: bigEndian))        // SHORT
            case 4: value = Int(readUInt32(data, entry + 8, bigEndian: bigEndian))        // LONG
            default: throw Malformed(reason: "Exif orientation has TIFF type \(type), not an integer")
            }
            return (1...8).contains(value) ? value : 1
        }
        return nil
    }

    static func readUInt16(_ data: [UInt8], _ at: Int, bigEndian: Bool) -> UInt16 {
        bigEndian ? UInt16(data[at]) << 8 | UInt16(data[at + 1]) : UInt16(data[at + 1]) << 8 | UInt16(data[at])
    }

    static func readUInt32(_ data: [UInt8], _ at: Int, bigEndian: Bool) -> UInt32 {
        let b = (0..<4).map { UInt32(data[at + $0]) }
        return bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
    }

    /// Width and height after applying `orientation` (5...8 swap them).
    static func orientedSize(width: Int, height: Int, orientation: Int) -> (width: Int, height: Int) {
        (5...8).contains(orientation) ? (height, width) : (width, height)
    }

    /// Pillow's exif_transpose: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE,
    /// 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90 (Pillow's rotations are counter-clockwise).
    static func apply(orientation: Int, to image: RGBImage) -> RGBImage {
        guard (2...8).contains(orientation) else { return image }
        let (w, h) = (image.width, image.height)
        let (outWidth, outHeight) = orientedSize(width: w, height: h, orientation: orientation)
        // Source (x, y) of output pixel (u, v).
        let source: (Int, Int) -> (Int, Int)
        switch orientation {
        case 2: source = { u, v in (w - 1 - u, v) }
        case 3: source = { u, v in (w - 1 - u, h - 1 - v) }
        case 4: source = { u, v in (u, h - 1 - v) }
        case 5: source = { u, v in (v, u) }
        case 6: source = { u, v in (v, h - 1 - u) }
        case 7: source = { u, v in (w - 1 - v, h - 1 - u) }
        default: source = { u, v in (w - 1 - v, u) }
        }
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for v in 0..<outHeight {
                    for u in 0..<outWidth {
                        let (x, y) = source(u, v)
                        let from = (y * w + x) * 3, to = (v * outWidth + u) * 3
                        dst[to] = src[from]; dst[to + 1] = src[from + 1]; dst[to + 2] = src[from + 2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}
