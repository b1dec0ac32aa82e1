// Where the SigLIP vision tower's tensors are in each format, by role.
// Hugging Face: transformers models/idefics3/modeling_idefics3.py (`model.vision_model.*`);
// llama.cpp mmproj GGUF: gguf-py/gguf/tensor_mapping.py (V_ENC_*: `v.blk.%d.*`), written by
// convert_hf_to_gguf.py. `%d` is the layer.

import Weights

public enum SigLIPTensor: Hashable, Sendable {
    case patchEmbedding, positions, postNorm
    case attentionNorm, query, key, value, attentionOut, ffnNorm, ffnUp, ffnDown

    /// Hugging Face names under the vision model (scope with `model.vision_model.`).
    public static let huggingFace = TensorNames<SigLIPTensor>(format: "safetensors", [
        .patchEmbedding: "embeddings.patch_embedding", .positions: "embeddings.position_embedding.weight",
        .postNorm: "post_layernorm",
        .attentionNorm: "encoder.layers.%d.layer_norm1", .query: "encoder.layers.%d.self_attn.q_proj",
        .key: "encoder.layers.%d.self_attn.k_proj", .value: "encoder.layers.%d.self_attn.v_proj",
        .attentionOut: "encoder.layers.%d.self_attn.out_proj", .ffnNorm: "encoder.layers.%d.layer_norm2",
        .ffnUp: "encoder.layers.%d.mlp.fc1", .ffnDown: "encoder.layers.%d.mlp.fc2",
    ])

    /// llama.cpp mmproj names.
    public static let gguf = TensorNames<SigLIPTensor>(format: "gguf", [
        .patchEmbedding: "v.patch_embd", .positions: "v.position_embd.weight", .postNorm: "v.post_ln",
        .attentionNorm: "v.blk.%d.ln1", .query: "v.blk.%d.attn_q", .key: "v.blk.%d.attn_k", .value: "v.blk.%d.attn_v",
        .attentionOut: "v.blk.%d.attn_out", .ffnNorm: "v.blk.%d.ln2", .ffnUp: "v.blk.%d.ffn_up", .ffnDown: "v.blk.%d.ffn_down",
    ])
}
