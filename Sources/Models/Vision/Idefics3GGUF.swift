// SmolVLM / Idefics3 as llama.cpp users have it: the language model as a llama GGUF and the
// vision tower + connector as an mmproj GGUF (`general.architecture = clip`,
// `clip.projector_type = idefics3`).
// Reference: llama.cpp conversion/smolvlm.py (SmolVLMModel, the mmproj writer),
// gguf-py/gguf/tensor_mapping.py (v.* / mm.* names), tools/mtmd/clip.cpp (PROJECTOR_TYPE_IDEFICS3).
// Images are prepared as Hugging Face's Idefics3 processor does (Lanczos, tiles + global image),
// so both routes give the same pixels.

import Foundation
import Tensors
import Tokenizers
import TransformerCore
import Weights

extension VisionLanguageModel {
    public static func loadGGUF(model modelPath: String, mmproj mmprojPath: String) throws -> VisionLanguageModel {
        let text = try GGUFFile.read(path: modelPath)
        let language = try LlamaModel.load(text)
        let tokenizer = try LanguageModel.tokenizer(text)
        guard let imageToken = tokenizer.id(of: "<image>") else {
            throw WeightError(modelPath, "the vocabulary has no <image> token (not a SmolVLM / Idefics3 language model)")
        }
        if let template = text.metadata["tokenizer.chat_template"]?.string { try checkChatTemplate(template, source: modelPath) }
        let projector = try GGUFFile.read(path: mmprojPath)
        let (vision, connector, processorConfig) = try loadProjector(projector, textWidth: language.config.dim)
        let model = Idefics3Model(vision: vision, connector: connector, language: language, imageTokenID: imageToken)
        var c = processorConfig
        try checkSequenceLength(&c, model: model, source: mmprojPath)
        var ends = Set<Int>()
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"] { if let id = text.metadata[key]?.int { ends.insert(id) } }
        for t in ["<end_of_utterance>", "<|im_end|>"] { if let id = tokenizer.id(of: t) { ends.insert(id) } }
        return VisionLanguageModel(model: model, tokenizer: tokenizer, processor: Idefics3ImageProcessor(config: c),
                                   endTokens: ends, format: .gguf, files: [modelPath, mmprojPath])
    }

    /// The prompt format Hearth writes is SmolVLM's (`User:` … `<end_of_utterance>\nAssistant:`);
    /// a model whose template says otherwise is refused rather than prompted wrongly.
    static func checkChatTemplate(_ template: String, source: String) throws {
        guard template.contains("<end_of_utterance>"), template.contains("Assistant:") else {
            let first = template.split(separator: "\n").first.map(String.init) ?? template
            throw WeightError(source, "unsupported chat template (only SmolVLM / Idefics3's User:…<end_of_utterance> Assistant: format): \(first.prefix(120))")
        }
    }

    /// The vision tower, connector and image settings of an Idefics3 mmproj file.
    static func loadProjector(_ file: GGUFFile, textWidth: Int) throws
        -> (SigLIPVisionModel, Idefics3Connector, Idefics3ProcessorConfig) {
        let path = file.path
        guard file.metadata["general.architecture"]?.string == "clip" else {
            throw WeightError(path, "not an mmproj file (general.architecture is '\(file.metadata["general.architecture"]?.string ?? "missing")', expected clip)")
        }
        let projectorType = file.metadata["clip.projector_type"]?.string ?? file.metadata["clip.vision.projector_type"]?.string
        guard projectorType == "idefics3" else {
            throw WeightError(path, "projector type '\(projectorType ?? "missing")' is not supported (only idefics3: SmolVLM / Idefics3)")
        }
        if file.metadata["clip.has_vision_encoder"]?.bool == false { throw WeightError(path, "the file has no vision encoder") }
        func int(_ key: String) throws -> Int {
            guard let v = file.metadata["clip.vision.\(key)"]?.int else { throw WeightError(path, "metadata clip.vision.\(key) is missing") }
            return v
        }
        let heads = try int("attention.head_count")
        let v = SigLIPVisionConfig(hiddenSize: try int("embedding_length"), intermediateSize: try int("feed_forward_length"),
                                   layers: try int("block_count"), heads: heads, imageSize: try int("image_size"),
                                   patchSize: try int("patch_size"),
                                   layerNormEps: file.metadata["clip.vision.attention.layer_norm_epsilon"]?.float ?? 1e-6,
                                   activation: "gelu_pytorch_tanh")   // ggml_gelu is the tanh form (clip.use_gelu)
        // Older converters wrote no scale factor: infer it from the projection's input width (e·s²).
        var scale = file.metadata["clip.vision.projector.scale_factor"]?.int ?? 2
        if file.metadata["clip.vision.projector.scale_factor"] == nil, let fc = file.tensors["mm.model.fc.weight"], fc.shape.count == 2,
           v.hiddenSize > 0, fc.shape[1] % v.hiddenSize == 0 {
            let squared = fc.shape[1] / v.hiddenSize
            let root = Int(Double(squared).squareRoot().rounded())
            if root * root == squared { scale = root }
        }
        guard v.hiddenSize > 0, v.layers > 0, heads > 0, v.hiddenSize % heads == 0, v.patchSize > 0, v.imageSize % v.patchSize == 0,
              v.intermediateSize > 0, scale > 0, v.patchesPerSide % scale == 0 else {
            throw WeightError(path, "inconsistent vision dimensions \(v), scale factor \(scale)")
        }
        if file.metadata["clip.use_gelu"]?.bool == false || file.metadata["clip.use_silu"]?.bool == true {
            throw WeightError(path, "only the GELU vision MLP of Idefics3 is supported")
        }
        let vision = try SigLIPVisionModel.build(from: file, names: SigLIPTensor.gguf, config: v)
        let projection = Linear(weight: try file.tensor("mm.model.fc.weight", shape: [textWidth, v.hiddenSize * scale * scale]), bias: nil)
        try file.requireAllUsed(by: "the Idefics3 projector")

        var c = Idefics3ProcessorConfig()
        c.tileSize = v.imageSize
        c.longestEdge = file.metadata["clip.vision.preproc_image_size"]?.int ?? 4 * v.imageSize
        if let mean = file.metadata["clip.vision.image_mean"]?.floatArray, mean.count == 3 { c.imageMean = mean.map { Double($0) } }
        if let std = file.metadata["clip.vision.image_std"]?.floatArray, std.count == 3, !std.contains(0) { c.imageStd = std.map { Double($0) } }
        let side = v.patchesPerSide / scale
        c.imageSequenceLength = side * side
        return (vision, Idefics3Connector(scaleFactor: scale, projection: projection), c)
    }
}
