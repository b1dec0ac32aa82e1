// Idefics3 / SmolVLM: SigLIP tower → pixel-shuffle connector → Llama decoder, with the image
// features written over the `<image>` token positions of the prompt (masked_scatter order).
// Reference: transformers models/idefics3/modeling_idefics3.py (Idefics3Model.get_image_features,
// inputs_merger); llama.cpp tools/mtmd (PROJECTOR_TYPE_IDEFICS3).

import Foundation
import Tensors
import TransformerCore
import Weights

public final class Idefics3Model {
    public let vision: SigLIPVisionModel
    public let connector: Idefics3Connector
    public let language: LlamaModel
    public let imageTokenID: Int

    public init(vision: SigLIPVisionModel, connector: Idefics3Connector, language: LlamaModel, imageTokenID: Int) {
        self.vision = vision; self.connector = connector; self.language = language; self.imageTokenID = imageTokenID
    }

    /// Language-model tokens one tile becomes.
    public func tokensPerTile(tileSize: Int) -> Int {
        let side = tileSize / vision.config.patchSize / connector.scaleFactor
        return side * side
    }

    func checkTiles(_ images: [Idefics3ProcessedImage]) throws -> Int {
        guard let side = images.first?.tileSize else { return 0 }
        let p = vision.config.patchSize, s = connector.scaleFactor
        for image in images where image.tileSize != side {
            throw VisionError("images of one batch must share the tile size (\(side) vs \(image.tileSize))")
        }
        guard side % p == 0, (side / p) % s == 0 else {
            throw VisionError("tile size \(side) is not a whole number of \(p)-pixel patches divisible by the scale factor \(s)")
        }
        return side
    }

    /// Vision states (tiles, patches, visionHidden) of every tile of every image, in one batch.
    public func visionStates(_ images: [Idefics3ProcessedImage]) throws -> Tensor {
        let side = try checkTiles(images)
        let tiles = images.reduce(0) { $0 + $1.tiles }
        var pixels = [Float]()
        pixels.reserveCapacity(tiles * 3 * side * side)
        for image in images { pixels += image.pixels }
        return pixels.withUnsafeBufferPointer { vision($0.baseAddress!, tiles: tiles, side: side) }
    }

    /// Image features for each image: (tiles · tokensPerTile, textHidden), all images' tiles
    /// through the vision tower and the connector together.
    public func imageFeatures(_ images: [Idefics3ProcessedImage]) throws -> [Tensor] {
        guard !images.isEmpty else { return [] }
        let side = try checkTiles(images)
        let states = try visionStates(images)
        let tiles = images.reduce(0) { $0 + $1.tiles }
        let features = connector(states, tiles: tiles, side: side / vision.config.patchSize)
        let d = features.shape[1], perTile = tokensPerTile(tileSize: side)
        var out: [Tensor] = []
        var row = 0
        for image in images {
            let n = image.tiles * perTile
            let t = Tensor(zeros: [n, d])
            t.data.update(from: features.data + row * d, count: n * d)
            out.append(t)
            row += n
        }
        return out
    }

    /// Input embeddings (tokens.count, dim): token embeddings, with the rows of `features` (in order)
    /// at the image-token positions. The counts must agree.
    public func inputEmbeddings(tokens: [Int], features: [Tensor], into x: UnsafeMutablePointer<Float>) throws {
        let d = language.config.dim
        let imagePositions = tokens.indices.filter { tokens[$0] == imageTokenID }
        let featureRows = features.reduce(0) { $0 + $1.shape[0] }
        guard imagePositions.count == featureRows else {
            throw VisionError("the prompt has \(imagePositions.count) image tokens, the images give \(featureRows) features")
        }
        for t in tokens where t < 0 || t >= language.config.vocabularySize {
            throw VisionError("token id \(t) is outside the vocabulary of \(language.config.vocabularySize)")
        }
        language.embed(tokens, into: x)
        var next = imagePositions.makeIterator()
        for f in features {
            guard f.shape.count == 2, f.shape[1] == d else { throw VisionError("image features of shape \(f.shape), need (n, \(d))") }
            for r in 0..<f.shape[0] {
                guard let p = next.next() else { break }
                (x + p * d).update(from: f.data + r * d, count: d)
            }
        }
    }
}

// MARK: Loading

extension Idefics3Model {
    /// A Hugging Face `Idefics3ForConditionalGeneration` / SmolVLM checkpoint: one `model.safetensors`
    /// with `model.vision_model.*`,
    /// `model.connector.*`, `model.text_model.*` and `lm_head.weight`.
    public static func loadHuggingFace(directory: URL, config: Idefics3Config) throws -> Idefics3Model {
        let path = directory.appendingPathComponent("model.safetensors").path
        try config.validate(path: directory.appendingPathComponent("config.json").path)
        let file = try SafetensorsReader.read(path: path)
        let vision = try SigLIPVisionModel.build(from: file, names: SigLIPTensor.huggingFace.scoped("model.vision_model."),
                                                 config: config.vision)
        let s = config.scaleFactor
        let projection = Linear(weight: try file.tensor("model.connector.modality_projection.proj.weight",
                                                        shape: [config.text.hiddenSize, config.vision.hiddenSize * s * s]), bias: nil)
        let language = try LlamaModel.loadHuggingFace(file, config: config.text, prefix: "model.text_model.",
                                                      tied: config.tieWordEmbeddings)
        try file.requireAllUsed(by: "Idefics3")
        return Idefics3Model(vision: vision, connector: Idefics3Connector(scaleFactor: s, projection: projection),
                             language: language, imageTokenID: config.imageTokenID)
    }
}
