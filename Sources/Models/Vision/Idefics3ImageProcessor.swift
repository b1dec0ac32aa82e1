// Idefics3's image processor and prompt expansion, step for step as Hugging Face does them:
// longest-edge resize → resize to multiples of the tile size → rows × cols tiles + one global
// image → rescale → normalize (channels first), and `<image>` in the prompt expanded to
// `<fake_token_around_image><row_r_col_c><image>×N … <global-img>…`.
// Reference: transformers models/idefics3/image_processing_pil_idefics3.py (the PIL backend:
// resizes go through Pillow on 8-bit RGB) and processing_idefics3.py (`replace_image_token`).

import Foundation
import Media
import Weights

/// Pillow's filters by the integer codes HF configs store (`resample`: PIL.Image.Resampling).
func pillowFilter(code: Int) -> ResampleFilter? {
    switch code {
    case 0: return .nearest
    case 1: return .lanczos
    case 2: return .bilinear
    case 3: return .bicubic
    case 4: return .box
    case 5: return .hamming
    default: return nil
    }
}

public struct Idefics3ProcessorConfig: Sendable, Equatable {
    public var doResize = true
    /// `size.longest_edge`: the first resize makes the longest side this long.
    public var longestEdge = 4 * 364
    public var doImageSplitting = true
    /// `max_image_size.longest_edge`: the tile side.
    public var tileSize = 364
    public var resample = ResampleFilter.lanczos
    public var doRescale = true
    public var rescaleFactor = 1.0 / 255.0
    public var doNormalize = true
    public var imageMean: [Double] = [0.5, 0.5, 0.5]
    public var imageStd: [Double] = [0.5, 0.5, 0.5]
    /// `<image>` tokens per tile (`image_seq_len` of processor_config.json).
    public var imageSequenceLength = 169
    public init() {}

    /// Idefics3ImageProcessor's cap on any side after the first resize.
    public static let maxImageSide = 4096

    /// Reads preprocessor_config.json (or the `image_processor` entry of processor_config.json) and
    /// `image_seq_len` from processor_config.json in `directory`; `defaultSequenceLength` when absent.
    public static func read(directory: URL, defaultSequenceLength: Int) throws -> Idefics3ProcessorConfig {
        let pre = directory.appendingPathComponent("preprocessor_config.json")
        let proc = directory.appendingPathComponent("processor_config.json")
        let processor = FileManager.default.fileExists(atPath: proc.path) ? try json(proc) : [:]
        var image: [String: Any]
        var source = pre.path
        if FileManager.default.fileExists(atPath: pre.path) {
            image = try json(pre)
        } else if let nested = processor["image_processor"] as? [String: Any] {
            image = nested; source = proc.path
        } else {
            throw WeightError(directory.path, "no preprocessor_config.json (nor an image_processor in processor_config.json)")
        }
        var c = Idefics3ProcessorConfig()
        c.imageSequenceLength = processor["image_seq_len"] as? Int ?? defaultSequenceLength
        func edge(_ key: String) throws -> Int? {
            guard let v = image[key] else { return nil }
            guard let d = v as? [String: Any], let e = d["longest_edge"] as? Int, e > 0 else {
                throw WeightError(source, "\(key) must be {\"longest_edge\": N} with N > 0")
            }
            return e
        }
        c.doResize = image["do_resize"] as? Bool ?? c.doResize
        c.longestEdge = try edge("size") ?? c.longestEdge
        c.doImageSplitting = image["do_image_splitting"] as? Bool ?? c.doImageSplitting
        c.tileSize = try edge("max_image_size") ?? c.tileSize
        if let r = image["resample"] {
            guard let code = r as? Int, let filter = pillowFilter(code: code) else {
                throw WeightError(source, "resample \(r) is not one of Pillow's filters 0…5")
            }
            c.resample = filter
        }
        c.doRescale = image["do_rescale"] as? Bool ?? c.doRescale
        if let r = image["rescale_factor"] {
            // JSONSerialization's doubles are not always correctly rounded (0.00392156862745098 ≠ 1/255
            // on Linux); the number's own digits through Double(String) are.
            guard let n = r as? NSNumber else { throw WeightError(source, "rescale_factor must be a number") }
            c.rescaleFactor = Self.exactNumber("rescale_factor", in: source) ?? n.doubleValue
        }
        c.doNormalize = image["do_normalize"] as? Bool ?? c.doNormalize
        func triple(_ key: String) throws -> [Double]? {
            guard let v = image[key] else { return nil }
            if let n = v as? NSNumber { return Array(repeating: n.doubleValue, count: 3) }
            guard let a = v as? [NSNumber], a.count == 3 else { throw WeightError(source, "\(key) must be 3 numbers") }
            return a.map(\.doubleValue)
        }
        c.imageMean = try triple("image_mean") ?? c.imageMean
        c.imageStd = try triple("image_std") ?? c.imageStd
        guard c.imageStd.allSatisfy({ $0 != 0 }) else { throw WeightError(source, "image_std has a zero") }
        if image["do_convert_rgb"] as? Bool == false {
            // Decoded images are RGB already; nothing differs.
        }
        return c
    }

    /// The literal digits of `"key": number` in the file at `path`, parsed exactly.
    static func exactNumber(_ key: String, in path: String) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let range = text.range(of: "\"\(key)\"") else { return nil }
        var rest = text[range.upperBound...].drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        let digits = rest.prefix { "0123456789+-.eE".contains($0) }
        return Double(String(digits))
    }

    static func json(_ url: URL) throws -> [String: Any] {
        guard let data = try? Data(contentsOf: url) else { throw WeightError(url.path, "cannot read") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw WeightError(url.path, "not a JSON object")
        }
        return object
    }
}

/// One image as the vision tower takes it.
public struct Idefics3ProcessedImage: Sendable {
    /// Tile grid (0 × 0 when the image is the global image alone).
    public var rows: Int
    public var cols: Int
    /// Side of every tile in pixels.
    public var tileSize: Int
    /// (tiles, 3, tileSize, tileSize) channels first: the rows·cols tiles in row-major order, then the global image.
    public var pixels: [Float]
    public var tiles: Int { rows * cols + 1 }
    public init(rows: Int, cols: Int, tileSize: Int, pixels: [Float]) {
        self.rows = rows; self.cols = cols; self.tileSize = tileSize; self.pixels = pixels
    }
}

public struct Idefics3ImageProcessor: Sendable {
    public let config: Idefics3ProcessorConfig

    public init(config: Idefics3ProcessorConfig) { self.config = config }

    /// Pillow's `Image.resize` on 8-bit RGB, bit for bit (Media's resizedLikePillow).
    func resize(_ image: RGBImage, _ width: Int, _ height: Int, _ filter: ResampleFilter) -> RGBImage {
        image.resizedLikePillow(width: width, height: height, filter: filter)
    }

    /// (height, width) after the first resize: longest edge to `longestEdge`, the other side by the
    /// aspect ratio rounded down and up to even, then capped at 4096 (`get_resize_output_image_size`).
    public static func longestEdgeSize(height: Int, width: Int, longestEdge: Int) -> (height: Int, width: Int) {
        var h = height, w = width
        let aspect = Double(w) / Double(h)
        if w >= h {
            w = longestEdge
            h = Int(Double(w) / aspect)
            if h % 2 != 0 { h += 1 }
        } else {
            h = longestEdge
            w = Int(Double(h) * aspect)
            if w % 2 != 0 { w += 1 }
        }
        h = max(h, 1); w = max(w, 1)
        let cap = Idefics3ProcessorConfig.maxImageSide
        let aspect2 = Double(w) / Double(h)
        if w >= h && w > cap {
            w = cap; h = Int(Double(w) / aspect2)
        } else if h > w && h > cap {
            h = cap; w = Int(Double(h) * aspect2)
        }
        return (max(h, 1), max(w, 1))
    }

    /// (height, width) rounded up to whole tiles (`resize_for_vision_encoder`).
    public static func tiledSize(height: Int, width: Int, tile: Int) -> (height: Int, width: Int) {
        let aspect = Double(width) / Double(height)
        func up(_ v: Int) -> Int { (v + tile - 1) / tile * tile }
        if width >= height {
            let w = up(width)
            return (up(Int(Double(w) / aspect)), w)
        } else {
            let h = up(height)
            return (h, up(Int(Double(h) * aspect)))
        }
    }

    public func process(_ image: RGBImage) throws -> Idefics3ProcessedImage {
        guard image.width > 0, image.height > 0, image.pixels.count == image.width * image.height * 3 else {
            throw VisionError("image of \(image.width)×\(image.height) with \(image.pixels.count) bytes is not 8-bit RGB")
        }
        let c = config, s = c.tileSize
        var current = image
        if c.doResize {
            let (h, w) = Self.longestEdgeSize(height: current.height, width: current.width, longestEdge: c.longestEdge)
            current = resize(current, w, h, c.resample)
        }
        var tiles: [RGBImage] = []
        var rows = 0, cols = 0
        if c.doImageSplitting {
            let (h, w) = Self.tiledSize(height: current.height, width: current.width, tile: s)
            current = resize(current, w, h, c.resample)
            if h > s || w > s {
                rows = (h - s) / s + 1; cols = (w - s) / s + 1
                for r in 0..<rows { for col in 0..<cols { tiles.append(Self.crop(current, x: col * s, y: r * s, side: s)) } }
            }
        }
        // The global image: the whole picture squashed to one tile (Pillow returns a copy when the size is already right).
        tiles.append(resize(current, s, s, c.resample))
        var pixels = [Float](repeating: 0, count: tiles.count * 3 * s * s)
        let mean = c.imageMean.map { Float($0) }, std = c.imageStd.map { Float($0) }
        for (t, tile) in tiles.enumerated() {
            let base = t * 3 * s * s
            for y in 0..<s {
                for x in 0..<s {
                    for ch in 0..<3 {
                        let v = tile.pixels[(y * s + x) * 3 + ch]
                        // rescale in float64 then float32, normalize in float32 (np_rescale / np_normalize)
                        var f = c.doRescale ? Float(Double(v) * c.rescaleFactor) : Float(v)
                        if c.doNormalize { f = (f - mean[ch]) / std[ch] }
                        pixels[base + (ch * s + y) * s + x] = f
                    }
                }
            }
        }
        return Idefics3ProcessedImage(rows: rows, cols: cols, tileSize: s, pixels: pixels)
    }

    static func crop(_ image: RGBImage, x: Int, y: Int, side: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: side * side * 3)
        for row in 0..<side {
            let src = ((y + row) * image.width + x) * 3
            out.replaceSubrange(row * side * 3..<(row + 1) * side * 3, with: image.pixels[src..<src + side * 3])
        }
        return RGBImage(width: side, height: side, pixels: out)
    }

    /// The text that replaces one `<image>` of the prompt (`Idefics3Processor.replace_image_token`).
    public func promptText(rows: Int, cols: Int) -> String {
        let fake = "<fake_token_around_image>", image = "<image>", global = "<global-img>"
        let run = String(repeating: image, count: config.imageSequenceLength)
        guard rows > 0 || cols > 0 else { return fake + global + run + fake }
        var text = ""
        for r in 1...rows {
            for col in 1...cols { text += fake + "<row_\(r)_col_\(col)>" + run }
            text += "\n"
        }
        return text + "\n" + fake + global + run + fake
    }
}

/// A vision-language input or model problem that is not tied to one weight file.
public struct VisionError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
