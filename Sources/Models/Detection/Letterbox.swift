// Darknet's letterbox (image.c letterbox_image): the image is resized, keeping its aspect ratio, to
// fit the network input — newW = netW, newH = h·netW / w (integer division) when netW / w < netH / h,
// else newH = netH, newW = w·netH / h — and pasted at ((netW − newW) / 2, (netH − newH) / 2)
// (integer division) on a gray canvas of 0.5. Pixels are RGB scaled to [0, 1]; the blob is planar
// (3, netH, netW), what darknet and OpenCV DNN (`blobFromImage(..., swapRB)`) feed the first layer.
//
// The resize is bilinear with half-pixel centres and no antialiasing (OpenCV INTER_LINEAR; darknet's
// own resize_image samples corner-aligned, a sub-pixel difference). Boxes are mapped back with the
// same integer offset the paste used (darknet's correct_yolo_boxes uses the unrounded half, which
// differs by half an input pixel when netW − newW is odd).

import Foundation
import Media

public struct Letterbox: Sendable, Equatable {
    public let imageWidth: Int, imageHeight: Int
    public let inputWidth: Int, inputHeight: Int
    /// The resized image's size and its top-left corner in the input.
    public let resizedWidth: Int, resizedHeight: Int
    public let offsetX: Int, offsetY: Int

    public init(imageWidth: Int, imageHeight: Int, inputWidth: Int, inputHeight: Int) {
        self.imageWidth = imageWidth; self.imageHeight = imageHeight; self.inputWidth = inputWidth; self.inputHeight = inputHeight
        if Float(inputWidth) / Float(imageWidth) < Float(inputHeight) / Float(imageHeight) {
            resizedWidth = inputWidth
            resizedHeight = max(1, imageHeight * inputWidth / imageWidth)
        } else {
            resizedHeight = inputHeight
            resizedWidth = max(1, imageWidth * inputHeight / imageHeight)
        }
        offsetX = (inputWidth - resizedWidth) / 2
        offsetY = (inputHeight - resizedHeight) / 2
    }

    /// (3, inputHeight, inputWidth) from RGB bytes (imageHeight, imageWidth, 3).
    public func blob(pixels: [UInt8]) -> [Float] {
        precondition(pixels.count == imageWidth * imageHeight * 3, "pixels must be (\(imageHeight), \(imageWidth), 3)")
        let source = pixels.map { Float($0) * (1 / 255 as Float) }
        let resized = resizeBilinear(source, width: imageWidth, height: imageHeight, channels: 3,
                                     toWidth: resizedWidth, toHeight: resizedHeight)   // (resizedH, resizedW, 3)
        let plane = inputWidth * inputHeight
        var blob = [Float](repeating: 0.5, count: 3 * plane)
        for y in 0..<resizedHeight {
            for x in 0..<resizedWidth {
                let s = (y * resizedWidth + x) * 3, d = (y + offsetY) * inputWidth + x + offsetX
                blob[d] = resized[s]; blob[plane + d] = resized[s + 1]; blob[2 * plane + d] = resized[s + 2]
            }
        }
        return blob
    }

    /// A box in input-relative centre form (0…1 of the network input) → image pixels (x0, y0, x1, y1).
    public func imageBox(centerX: Float, centerY: Float, width: Float, height: Float) -> (Float, Float, Float, Float) {
        let sx = Float(imageWidth) / Float(resizedWidth), sy = Float(imageHeight) / Float(resizedHeight)
        let cx = (centerX * Float(inputWidth) - Float(offsetX)) * sx
        let cy = (centerY * Float(inputHeight) - Float(offsetY)) * sy
        let w = width * Float(inputWidth) * sx, h = height * Float(inputHeight) * sy
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    }
}

