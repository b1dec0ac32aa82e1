// The Llama decoder from Hugging Face safetensors (LlamaForCausalLM names, possibly under a
// prefix such as Idefics3's `model.text_model.`), on the same core as the GGUF route.
// HF checkpoints rotate halves of each head (rotate_half), so RoPE uses the `.halves` layout;
// llama.cpp's converter permutes q/k rows for its interleaved RoPE, which LlamaModel.load expects.
// Reference: transformers models/llama/modeling_llama.py.

import Foundation
import Tensors
import TransformerCore
import Weights

extension LlamaModel {
    /// Builds the decoder from `file`: `prefix` + embed_tokens / layers.N.* / norm, and `lm_head`
    /// (absent with `tied` = the embedding matrix). Weights become float32 (float16 ones keep
    /// their float16 twin for decode steps).
    public static func loadHuggingFace(_ file: WeightFile, config t: LlamaTextConfig, prefix: String, tied: Bool) throws -> LlamaModel {
        let hd = t.resolvedHeadDim
        let config = LlamaConfig(architecture: "llama", vocabularySize: t.vocabularySize, contextLength: t.maxPositions,
                                 dim: t.hiddenSize, layers: t.layers, heads: t.heads, kvHeads: t.kvHeads, headDim: hd,
                                 ffnDim: t.intermediateSize, normEps: t.rmsNormEps, ropeBase: t.ropeTheta, ropeDimensions: hd,
                                 ropeInterleaved: false)
        return try build(from: file, names: LlamaTensor.huggingFace.scoped(prefix), config: config, tiedWhenNoOutput: tied)
    }
}
