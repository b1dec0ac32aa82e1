// Where Whisper's tensors are in each format, by role (llama.cpp's LLM_TENSOR_NAMES habit).
// CTranslate2: python/ctranslate2/specs/whisper_spec.py + transformer_spec.py (q|k|v fused in
// `linear_0`); Hugging Face: transformers models/whisper/modeling_whisper.py (separate q/k/v,
// k_proj without bias). `%d` is the layer.

import Weights

public enum WhisperTensor: Hashable, Sendable {
    case conv1, conv2, audioPositions, encoderNorm, tokenEmbedding, textPositions, decoderNorm
    // encoder layer
    case encoderAttentionNorm, encoderQKV, encoderQuery, encoderKey, encoderValue, encoderAttentionOut
    case encoderFFNNorm, encoderFFNUp, encoderFFNDown
    // decoder layer
    case decoderSelfAttentionNorm, decoderSelfQKV, decoderSelfQuery, decoderSelfKey, decoderSelfValue, decoderSelfAttentionOut
    case decoderCrossAttentionNorm, decoderCrossQuery, decoderCrossKV, decoderCrossKey, decoderCrossValue, decoderCrossAttentionOut
    case decoderFFNNorm, decoderFFNUp, decoderFFNDown

    /// CTranslate2 `WhisperSpec` (model.bin).
    public static let ctranslate2 = TensorNames<WhisperTensor>(format: "ctranslate2", suffixes: .ctranslate2, [
        .conv1: "encoder/conv1", .conv2: "encoder/conv2",
        .audioPositions: "encoder/position_encodings/encodings", .encoderNorm: "encoder/layer_norm",
        .tokenEmbedding: "decoder/embeddings/weight", .textPositions: "decoder/position_encodings/encodings",
        .decoderNorm: "decoder/layer_norm",
        .encoderAttentionNorm: "encoder/layer_%d/self_attention/layer_norm",
        .encoderQKV: "encoder/layer_%d/self_attention/linear_0",
        .encoderAttentionOut: "encoder/layer_%d/self_attention/linear_1",
        .encoderFFNNorm: "encoder/layer_%d/ffn/layer_norm",
        .encoderFFNUp: "encoder/layer_%d/ffn/linear_0", .encoderFFNDown: "encoder/layer_%d/ffn/linear_1",
        .decoderSelfAttentionNorm: "decoder/layer_%d/self_attention/layer_norm",
        .decoderSelfQKV: "decoder/layer_%d/self_attention/linear_0",
        .decoderSelfAttentionOut: "decoder/layer_%d/self_attention/linear_1",
        .decoderCrossAttentionNorm: "decoder/layer_%d/attention/layer_norm",
        .decoderCrossQuery: "decoder/layer_%d/attention/linear_0",
        .decoderCrossKV: "decoder/layer_%d/attention/linear_1",
        .decoderCrossAttentionOut: "decoder/layer_%d/attention/linear_2",
        .decoderFFNNorm: "decoder/layer_%d/ffn/layer_norm",
        .decoderFFNUp: "decoder/layer_%d/ffn/linear_0", .decoderFFNDown: "decoder/layer_%d/ffn/linear_1",
    ])

    /// Hugging Face `WhisperModel` names (scope them with `model.` for WhisperForConditionalGeneration).
    public static let huggingFace = TensorNames<WhisperTensor>(format: "safetensors", [
        .conv1: "encoder.conv1", .conv2: "encoder.conv2",
        .audioPositions: "encoder.embed_positions.weight", .encoderNorm: "encoder.layer_norm",
        .tokenEmbedding: "decoder.embed_tokens.weight", .textPositions: "decoder.embed_positions.weight",
        .decoderNorm: "decoder.layer_norm",
        .encoderAttentionNorm: "encoder.layers.%d.self_attn_layer_norm",
        .encoderQuery: "encoder.layers.%d.self_attn.q_proj", .encoderKey: "encoder.layers.%d.self_attn.k_proj",
        .encoderValue: "encoder.layers.%d.self_attn.v_proj", .encoderAttentionOut: "encoder.layers.%d.self_attn.out_proj",
        .encoderFFNNorm: "encoder.layers.%d.final_layer_norm",
        .encoderFFNUp: "encoder.layers.%d.fc1", .encoderFFNDown: "encoder.layers.%d.fc2",
        .decoderSelfAttentionNorm: "decoder.layers.%d.self_attn_layer_norm",
        .decoderSelfQuery: "decoder.layers.%d.self_attn.q_proj", .decoderSelfKey: "decoder.layers.%d.self_attn.k_proj",
        .decoderSelfValue: "decoder.layers.%d.self_attn.v_proj", .decoderSelfAttentionOut: "decoder.layers.%d.self_attn.out_proj",
        .decoderCrossAttentionNorm: "decoder.layers.%d.encoder_attn_layer_norm",
        .decoderCrossQuery: "decoder.layers.%d.encoder_attn.q_proj", .decoderCrossKey: "decoder.layers.%d.encoder_attn.k_proj",
        .decoderCrossValue: "decoder.layers.%d.encoder_attn.v_proj",
        .decoderCrossAttentionOut: "decoder.layers.%d.encoder_attn.out_proj",
        .decoderFFNNorm: "decoder.layers.%d.final_layer_norm",
        .decoderFFNUp: "decoder.layers.%d.fc1", .decoderFFNDown: "decoder.layers.%d.fc2",
    ])
}
