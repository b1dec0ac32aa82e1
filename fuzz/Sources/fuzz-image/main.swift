// Images (every format ImageDecoder reads: PNG, JPEG, WebP, TIFF, GIF, BMP, HEIF/AVIF through the
// CImageCodecs wrappers and BMP.swift; EXIF/XMP orientation, conversions to RGB), then resizing
// as the vision stages do: any bytes decode or throw an ImageError; never a crash.
import Foundation
import FuzzSupport
import Media

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    // 4 M pixels: larger headers are refused before allocation (what maxPixels is for)
    let options = ImageDecodeOptions(maxPixels: 4_000_000, rejectMalformedEXIF: bytes.first.map { $0 & 1 == 1 } ?? false)
    guard let image = try? ImageDecoder.decode(data: bytes, name: "input", options: options) else { return 0 }
    if image.width > 0 && image.height > 0 {
        _ = image.resizedLikePillow(width: 17, height: 11, filter: .bilinear)
        _ = image.letterboxedLikeDarknet(width: 32, height: 32)
    }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_image_main`): hands over to libFuzzer.
@_cdecl("fuzz_image_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzImage)
}
