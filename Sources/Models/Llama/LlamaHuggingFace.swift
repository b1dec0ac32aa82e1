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
    /// Builds the decoder from `file`: `prefix` + embed_tokens / layers.N.* / norm, and `lmHead`
    /// (nil or absent with `tied` = the embedding matrix). Weights become float32 (float16 ones keep
    /// their float16 twin for decode steps).
    public static func loadHuggingFace(_ file: WeightFile, config t: LlamaTextConfig, prefix: String, lmHead: String?,
                                       tied: Bool) throws -> LlamaModel {
        let path = file.path
        let d = t.hiddenSize, hd = t.resolvedHeadDim, q = t.heads * hd, kv = t.kvHeads * hd, f = t.intermediateSize
        let config = LlamaConfig(architecture: "llama", vocabularySize: t.vocabularySize, contextLength: t.maxPositions,
                                 dim: d, layers: t.layers, heads: t.heads, kvHeads: t.kvHeads, headDim: hd, ffnDim: f,
                                 normEps: t.rmsNormEps, ropeBase: t.ropeTheta, ropeDimensions: hd, ropeInterleaved: false)
        func tensor(_ name: String, _ shape: [Int]) throws -> Tensor { try file.tensor(prefix + name, shape: shape) }
        func linear(_ name: String, out: Int, in n: Int) throws -> Linear {
            if file.contains(prefix + name + ".bias") {
                throw WeightError(path, "\(prefix + name).bias: Llama projections have no bias")
            }
            return Linear(weight: try tensor(name + ".weight", [out, n]), bias: nil)
        }
        func rms(_ name: String) throws -> Norm {
            Norm(gamma: try tensor(name + ".weight", [d]), beta: nil, kind: .rmsNorm, eps: t.rmsNormEps)
        }
        let rope = Rope(layout: .halves, dimensions: hd, base: t.ropeTheta)
        let blocks = try (0..<t.layers).map { i -> DecoderOnlyBlock in
            let p = "layers.\(i)"
            let attention = SelfAttention(
                projection: .separate(query: try linear("\(p).self_attn.q_proj", out: q, in: d),
                                      key: try linear("\(p).self_attn.k_proj", out: kv, in: d),
                                      value: try linear("\(p).self_attn.v_proj", out: kv, in: d)),
                out: try linear("\(p).self_attn.o_proj", out: d, in: q),
                heads: t.heads, kvHeads: t.kvHeads, headDim: hd, rope: rope)
            let ffn = FeedForward(up: try linear("\(p).mlp.up_proj", out: f, in: d), gate: try linear("\(p).mlp.gate_proj", out: f, in: d),
                                  down: try linear("\(p).mlp.down_proj", out: d, in: f), activation: .silu)
            return DecoderOnlyBlock(attentionNorm: try rms("\(p).input_layernorm"), attention: attention,
                                    ffnNorm: try rms("\(p).post_attention_layernorm"), ffn: ffn)
        }
        let table = try tensor("embed_tokens.weight", [t.vocabularySize, d])
        let embeddings = try QuantizedMatrix(type: .f32, rows: t.vocabularySize, cols: d, data: UnsafeRawPointer(table.data), owner: table)
        let output: Linear
        if let lmHead, file.contains(lmHead) {
            output = Linear(weight: try file.tensor(lmHead, shape: [t.vocabularySize, d]), bias: nil)
        } else if tied {
            output = Linear(weight: table, bias: nil)
        } else {
            throw WeightError(path, "missing tensor \(lmHead ?? "lm_head.weight") (the config does not tie word embeddings)")
        }
        return LlamaModel(config: config, embeddings: embeddings, blocks: blocks, norm: try rms("norm"), output: output)
    }
}
