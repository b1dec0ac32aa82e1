/// An 8-bit RGB image: what every image decoder returns and every vision model starts from.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// (height, width, 3) row-major, interleaved R, G, B.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixels as Float, same (height, width, 3) layout, each multiplied by `scale`
    /// (the default maps 0...255 to 0...1, like transformers' `rescale_factor = 1/255`).
    public func floats(scale: Float = 1.0 / 255) -> [Float] {
        pixels.map { Float($0) * scale }
    }

    /// The pixel at column `x`, row `y`.
    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let index = (y * width + x) * 3
        return (pixels[index], pixels[index + 1], pixels[index + 2])
    }
}

extension RGBImage {
    /// Turned clockwise by 90, 180 or 270 degrees (EXIF orientations 6, 3, 8); other angles unchanged.
    public func rotatedClockwise(_ degrees: Int) -> RGBImage {
        guard let orientation = [90: 6, 180: 3, 270: 8][degrees] else { return self }
        return EXIF.apply(orientation: orientation, to: self)
    }
}
