import Foundation

/// Pillow's resampling filters (PIL.Image.Resampling).
public enum ResampleFilter: Sendable, CaseIterable {
    case nearest, box, bilinear, hamming, bicubic, lanczos

    /// Kernel support radius at scale 1 and the kernel itself (Pillow src/libImaging/Resample.c).
    var support: Double {
        switch self {
        case .nearest, .box: return 0.5
        case .bilinear, .hamming: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    func weight(_ t: Double) -> Double {
        switch self {
        case .nearest, .box:
            return t > -0.5 && t <= 0.5 ? 1 : 0
        case .bilinear:
            let x = abs(t)
            return x < 1 ? 1 - x : 0
        case .hamming:
            let x = abs(t)
            if x == 0 { return 1 }
            if x >= 1 { return 0 }
            let px = x * Double.pi
            return sin(px) / px * (Double(Float(0.54)) + Double(Float(0.46)) * cos(px))
        case .bicubic:
            let a = -0.5, x = abs(t)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            return -3 <= t && t < 3 ? sinc(t) * sinc(t / 3) : 0
        }
    }

    private func sinc(_ t: Double) -> Double {
        if t == 0 { return 1 }
        let x = t * Double.pi
        return sin(x) / x
    }
}

extension RGBImage {
    /// Exactly Pillow's `Image.resize((width, height), resample)` on an 8-bit RGB image (default box,
    /// no reducing_gap) — bit-identical. Pillow's ImagingResample: a horizontal pass into a uint8
    /// image of the rows the vertical pass needs, then a vertical pass; the kernel's support grows
    /// with the downscale factor (antialiasing); weights are normalized, turned into fixed point
    /// with 22 fractional bits (PRECISION_BITS = 32 − 8 − 2), sums start at ½ and are shifted and
    /// clipped to 0...255 after each pass. `.nearest` follows Pillow's affine nearest path instead
    /// (ImagingScaleAffine: source = ⌊(i + ½) · in / out⌋, accumulated in double).
    /// Reference: https://github.com/python-pillow/Pillow/blob/main/src/libImaging/Resample.c
    public func resizedLikePillow(width outWidth: Int, height outHeight: Int, filter: ResampleFilter) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize target \(outWidth)x\(outHeight) must be positive")
        if outWidth == width && outHeight == height { return self }
        if filter == .nearest { return nearestLikePillow(width: outWidth, height: outHeight) }

        let vertical = PillowKernel(inSize: height, outSize: outHeight, filter: filter)
        // Rows of the source that the vertical pass reads.
        let firstRow = vertical.start[0]
        let lastRow = vertical.start[outHeight - 1] + vertical.count[outHeight - 1]

        var stage = self, rowOffset = 0
        if outWidth != width {
            let horizontal = PillowKernel(inSize: width, outSize: outWidth, filter: filter)
            stage = horizontalPass(horizontal, rows: firstRow..<lastRow)
            rowOffset = firstRow
        }
        if outHeight != height {
            stage = stage.verticalPass(vertical, rowOffset: rowOffset)
        }
        return stage
    }

    /// Rows `rows` of self, resampled horizontally to `kernel.outSize` columns. // (rows.count, outSize, 3)
    private func horizontalPass(_ kernel: PillowKernel, rows: Range<Int>) -> RGBImage {
        let outWidth = kernel.outSize, inWidth = width
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                kernel.weights.withUnsafeBufferPointer { weights in
                    for (outRow, row) in rows.enumerated() {
                        let line = row * inWidth * 3
                        for xx in 0..<outWidth {
                            let start = kernel.start[xx], count = kernel.count[xx], k = xx * kernel.size
                            var r = PillowKernel.half, g = PillowKernel.half, b = PillowKernel.half
                            for x in 0..<count {
                                let w = weights[k + x], p = line + (start + x) * 3
                                r &+= Int32(src[p]) &* w
                                g &+= Int32(src[p + 1]) &* w
                                b &+= Int32(src[p + 2]) &* w
                            }
                            let o = (outRow * outWidth + xx) * 3
                            dst[o] = PillowKernel.clip8(r); dst[o + 1] = PillowKernel.clip8(g); dst[o + 2] = PillowKernel.clip8(b)
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    /// Resampled vertically to `kernel.outSize` rows; row r of self is source row r + rowOffset.
    private func verticalPass(_ kernel: PillowKernel, rowOffset: Int) -> RGBImage {
        let outHeight = kernel.outSize, rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: outHeight * rowBytes)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                kernel.weights.withUnsafeBufferPointer { weights in
                    // One output row at a time: sums over the input rows it reads, walked row by row.
                    var sums = [Int32](repeating: 0, count: rowBytes)  // (width * 3)
                    sums.withUnsafeMutableBufferPointer { sums in
                        for yy in 0..<outHeight {
                            let start = kernel.start[yy] - rowOffset, count = kernel.count[yy], k = yy * kernel.size
                            for i in 0..<rowBytes { sums[i] = PillowKernel.half }
                            for y in 0..<count {
                                let w = weights[k + y], line = (start + y) * rowBytes
                                for i in 0..<rowBytes { sums[i] &+= Int32(src[line + i]) &* w }
                            }
                            let to = yy * rowBytes
                            for i in 0..<rowBytes { dst[to + i] = PillowKernel.clip8(sums[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: outHeight, pixels: out)
    }

    private func nearestLikePillow(width outWidth: Int, height outHeight: Int) -> RGBImage {
        func sourceIndices(inSize: Int, outSize: Int) -> [Int] {
            let step = Double(inSize) / Double(outSize)
            var position = step * 0.5, indices = [Int](repeating: 0, count: outSize)
            for i in 0..<outSize {
                indices[i] = min(max(position < 0 ? -1 : Int(position), 0), inSize - 1)
                position += step
            }
            return indices
        }
        let xs = sourceIndices(inSize: width, outSize: outWidth), ys = sourceIndices(inSize: height, outSize: outHeight)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        for (yy, y) in ys.enumerated() {
            for (xx, x) in xs.enumerated() {
                let from = (y * width + x) * 3, to = (yy * outWidth + xx) * 3
                out[to] = pixels[from]; out[to + 1] = pixels[from + 1]; out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}

/// Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis: for each output index, the first
/// input index, how many inputs it reads, and their fixed-point weights. // weights: (outSize, size)
struct PillowKernel {
    static let precisionBits: Int32 = 32 - 8 - 2
    static let half: Int32 = 1 << (precisionBits - 1)

    let outSize: Int
    let size: Int
    var start: [Int]
    var count: [Int]
    var weights: [Int32]

    init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        self.outSize = outSize
        size = Int(ceil(support)) * 2 + 1
        start = [Int](repeating: 0, count: outSize)
        count = [Int](repeating: 0, count: outSize)
        weights = [Int32](repeating: 0, count: outSize * size)
        var kernel = [Double](repeating: 0, count: size)
        let inverse = 1 / filterScale
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)        // C (int) cast: toward zero
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var total = 0.0
            for x in 0..<max(xmax, 0) {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * inverse)
                kernel[x] = w
                total += w
            }
            for x in 0..<max(xmax, 0) {
                let normalized = total != 0 ? kernel[x] / total : kernel[x]
                let scaled = normalized * Double(1 << PillowKernel.precisionBits)
                weights[xx * size + x] = Int32(normalized < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            start[xx] = xmin
            count[xx] = max(xmax, 0)
        }
    }

    /// Pillow's clip8: the sum's integer part (arithmetic shift), clipped to 0...255.
    @inline(__always) static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> precisionBits)
    }
}

/// Float bilinear resize with half-pixel centers and no antialiasing (OpenCV `cv2.resize`
/// INTER_LINEAR semantics, also torch `interpolate(mode="bilinear", align_corners=False,
/// antialias=False)`): source = (i + ½) · in/out − ½, clamped at the edges.
/// `src` is (height, width, channels) row-major; returns (toHeight, toWidth, channels).
public func resizeBilinear(_ src: [Float], width: Int, height: Int, channels: Int, toWidth: Int, toHeight: Int) -> [Float] {
    precondition(src.count == width * height * channels && width > 0 && height > 0 && toWidth > 0 && toHeight > 0,
                 "resizeBilinear: \(src.count) values for \(width)x\(height)x\(channels) → \(toWidth)x\(toHeight)")
    func taps(inSize: Int, outSize: Int) -> [(Int, Int, Float)] {
        let scale = Double(inSize) / Double(outSize)
        return (0..<outSize).map { i in
            let position = max((Double(i) + 0.5) * scale - 0.5, 0)
            let lower = min(Int(position), inSize - 1)
            let upper = min(lower + 1, inSize - 1)
            return (lower, upper, Float(position - Double(lower)))
        }
    }
    let xTaps = taps(inSize: width, outSize: toWidth), yTaps = taps(inSize: height, outSize: toHeight)
    var out = [Float](repeating: 0, count: toWidth * toHeight * channels)
    src.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
            for (yy, (y0, y1, fy)) in yTaps.enumerated() {
                for (xx, (x0, x1, fx)) in xTaps.enumerated() {
                    let a = (y0 * width + x0) * channels, b = (y0 * width + x1) * channels
                    let c = (y1 * width + x0) * channels, d = (y1 * width + x1) * channels
                    let to = (yy * toWidth + xx) * channels
                    for ch in 0..<channels {
                        let top = s[a + ch] + (s[b + ch] - s[a + ch]) * fx
                        let bottom = s[c + ch] + (s[d + ch] - s[c + ch]) * fx
                        o[to + ch] = top + (bottom - top) * fy
                    }
                }
            }
        }
    }
    return out
}

/// A letterboxed network input: the image scaled to fit, centered on a gray canvas.
public struct Letterbox: Sendable {
    /// (3, height, width) planar R, G, B planes in 0...1; the border is 0.5.
    public var pixels: [Float]
    public let width: Int
    public let height: Int
    /// Where the scaled image sits on the canvas (for mapping boxes back to the photo).
    public let contentWidth: Int
    public let contentHeight: Int
    public let offsetX: Int
    public let offsetY: Int
}

extension RGBImage {
    /// darknet's `load_image_color` → `letterbox_image(im, width, height)` (src/image.c), the input
    /// YOLO's reference implementation feeds the network — bit-identical to Debian's libdarknet:
    /// samples become `Float(Double(v) / 255)`, the image is scaled to fit keeping its aspect
    /// (integer sizes: w·H/W or h·W/H, truncated), with darknet's align-corners bilinear resize_image
    /// (scale (in − 1)/(out − 1); a horizontal float pass, then a vertical one) and pasted at
    /// ((width − new)/2, (height − new)/2) on a canvas of 0.5.
    public func letterboxedLikeDarknet(width: Int, height: Int) -> Letterbox {
        precondition(width > 0 && height > 0 && self.width > 0 && self.height > 0, "letterbox \(self.width)x\(self.height) → \(width)x\(height)")
        var newWidth = self.width, newHeight = self.height
        if Float(width) / Float(self.width) < Float(height) / Float(self.height) {
            newWidth = width
            newHeight = (self.height * width) / self.width
        } else {
            newHeight = height
            newWidth = (self.width * height) / self.height
        }
        newWidth = max(newWidth, 1)
        newHeight = max(newHeight, 1)
        let resized = darknetResize(width: newWidth, height: newHeight)  // (3, newHeight, newWidth)
        var canvas = [Float](repeating: 0.5, count: 3 * width * height)
        let dx = (width - newWidth) / 2, dy = (height - newHeight) / 2
        for k in 0..<3 {
            for y in 0..<newHeight {
                for x in 0..<newWidth {
                    canvas[(k * height + dy + y) * width + dx + x] = resized[(k * newHeight + y) * newWidth + x]
                }
            }
        }
        return Letterbox(pixels: canvas, width: width, height: height, contentWidth: newWidth,
                         contentHeight: newHeight, offsetX: dx, offsetY: dy)
    }

    /// darknet's resize_image on this image as planar floats v/255. // (3, height, width)
    func darknetResize(width w: Int, height h: Int) -> [Float] {
        let inWidth = self.width, inHeight = self.height
        var planes = [Float](repeating: 0, count: 3 * inWidth * inHeight)  // (3, inHeight, inWidth)
        for i in 0..<(inWidth * inHeight) {
            for k in 0..<3 { planes[k * inWidth * inHeight + i] = Float(Double(pixels[3 * i + k]) / 255) }
        }
        let wScale = Float(inWidth - 1) / Float(w - 1), hScale = Float(inHeight - 1) / Float(h - 1)
        var part = [Float](repeating: 0, count: 3 * inHeight * w)  // (3, inHeight, w)
        for k in 0..<3 {
            for r in 0..<inHeight {
                let row = (k * inHeight + r) * inWidth
                for c in 0..<w {
                    let value: Float
                    if c == w - 1 || inWidth == 1 {
                        value = planes[row + inWidth - 1]
                    } else {
                        let sx = Float(c) * wScale
                        let ix = Int(sx)
                        let fraction = sx - Float(ix)
                        value = (1 - fraction) * planes[row + ix] + fraction * planes[row + ix + 1]
                    }
                    part[(k * inHeight + r) * w + c] = value
                }
            }
        }
        var resized = [Float](repeating: 0, count: 3 * h * w)  // (3, h, w)
        for k in 0..<3 {
            for r in 0..<h {
                let sy = h == 1 ? 0 : Float(r) * hScale
                let iy = Int(sy)
                let fraction = sy - Float(iy)
                for c in 0..<w { resized[(k * h + r) * w + c] = (1 - fraction) * part[(k * inHeight + iy) * w + c] }
                if r == h - 1 || inHeight == 1 { continue }
                for c in 0..<w { resized[(k * h + r) * w + c] += fraction * part[(k * inHeight + iy + 1) * w + c] }
            }
        }
        return resized
    }
}
