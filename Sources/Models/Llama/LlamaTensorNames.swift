// Where the Llama-family decoder's tensors are in each format, by role.
// GGUF: llama.cpp src/llama-arch.cpp (LLM_TENSOR_NAMES for LLM_ARCH_LLAMA / LLM_ARCH_QWEN2);
// Hugging Face: transformers models/llama/modeling_llama.py (LlamaModel under `model.`, `lm_head`
// beside it). `%d` is the layer.

import Weights

public enum LlamaTensor: Hashable, Sendable {
    case tokenEmbedding, outputNorm, output, ropeFrequencies
    case attentionNorm, query, key, value, attentionOut, ffnNorm, ffnGate, ffnUp, ffnDown

    /// llama.cpp GGUF names (llama and qwen2 architectures).
    public static let gguf = TensorNames<LlamaTensor>(format: "gguf", [
        .tokenEmbedding: "token_embd", .outputNorm: "output_norm", .output: "output", .ropeFrequencies: "rope_freqs",
        .attentionNorm: "blk.%d.attn_norm", .query: "blk.%d.attn_q", .key: "blk.%d.attn_k", .value: "blk.%d.attn_v",
        .attentionOut: "blk.%d.attn_output", .ffnNorm: "blk.%d.ffn_norm",
        .ffnGate: "blk.%d.ffn_gate", .ffnUp: "blk.%d.ffn_up", .ffnDown: "blk.%d.ffn_down",
    ])

    /// Hugging Face `LlamaModel` names; scope them (`model.`, Idefics3's `model.text_model.`):
    /// `lm_head` stays outside the scope.
    public static let huggingFace = TensorNames<LlamaTensor>(format: "safetensors", unscoped: [.output], [
        .tokenEmbedding: "embed_tokens", .outputNorm: "norm", .output: "lm_head",
        .attentionNorm: "layers.%d.input_layernorm", .query: "layers.%d.self_attn.q_proj",
        .key: "layers.%d.self_attn.k_proj", .value: "layers.%d.self_attn.v_proj", .attentionOut: "layers.%d.self_attn.o_proj",
        .ffnNorm: "layers.%d.post_attention_layernorm", .ffnGate: "layers.%d.mlp.gate_proj",
        .ffnUp: "layers.%d.mlp.up_proj", .ffnDown: "layers.%d.mlp.down_proj",
    ])
}
