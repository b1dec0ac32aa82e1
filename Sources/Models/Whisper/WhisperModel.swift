// Whisper (Radford et al. 2022) on the shared transformer core.
// Reference: openai/whisper model.py (AudioEncoder, TextDecoder); CTranslate2 whisper_spec.py
// for the converted layout. Weights are float16 on disk and converted to float32 once at load:
// OpenBLAS has no float16 GEMM on x86, and float32 keeps parity with the reference runtime.

import Foundation
import Tensors
import TransformerCore
import Weights

public struct WhisperDimensions: Codable, Equatable, Sendable {
    public var melBins: Int          // 80, or 128 for large-v3
    public var audioContext: Int     // 1500 encoder positions per 30 s window
    public var audioWidth: Int
    public var audioHeads: Int
    public var audioLayers: Int
    public var vocabularySize: Int
    public var textContext: Int      // 448 decoder positions
    public var textWidth: Int
    public var textHeads: Int
    public var textLayers: Int
    public var isMultilingual: Bool { vocabularySize >= 51865 }
}

public final class WhisperModel {
    public let dimensions: WhisperDimensions
    let conv1: Conv1d                 // (width, melBins, 3), stride 1
    let conv2: Conv1d                 // (width, width, 3), stride 2
    let audioPositions: Tensor        // (audioContext, width)
    let encoderBlocks: [SelfAttentionBlock]
    let encoderNorm: Norm
    let tokenEmbedding: Tensor        // (vocab, width), also the output projection
    let textPositions: Tensor         // (textContext, width)
    let decoderBlocks: [DecoderBlock]
    let decoderNorm: Norm
    let outputProjection: Linear     // the token embedding, tied
    let scratch = Scratch()

    init(dimensions: WhisperDimensions, conv1: Conv1d, conv2: Conv1d, audioPositions: Tensor,
         encoderBlocks: [SelfAttentionBlock], encoderNorm: Norm, tokenEmbedding: Tensor, textPositions: Tensor,
         decoderBlocks: [DecoderBlock], decoderNorm: Norm, outputForm: Int8Form? = nil) {
        self.dimensions = dimensions; self.conv1 = conv1; self.conv2 = conv2; self.audioPositions = audioPositions
        self.encoderBlocks = encoderBlocks; self.encoderNorm = encoderNorm; self.tokenEmbedding = tokenEmbedding
        self.textPositions = textPositions; self.decoderBlocks = decoderBlocks; self.decoderNorm = decoderNorm
        let tied = Linear(weight: tokenEmbedding, bias: nil)
        outputProjection = outputForm.map { tied.int8($0) } ?? tied
        // int8 output projection: the embedding's float16 copy is read by nothing (lookups use float32)
        if case .quantized = outputProjection.weights { tokenEmbedding.releaseHalf() }
    }

    /// Encodes `windows` log-mel windows (windows, melBins, 2·audioContext) → (windows, audioContext, width).
    public func encode(mel: UnsafePointer<Float>, windows: Int) -> Tensor {
        let dims = dimensions, frames = 2 * dims.audioContext, w = dims.audioWidth, n = dims.audioContext
        let output = Tensor(zeros: [windows, n, w])
        let transposed = scratch.buffer(.convInput, frames * dims.melBins)   // (frames, melBins)
        let hidden = scratch.buffer(.convHidden, frames * w)                   // (frames, width)
        let columns = scratch.buffer(.convColumns, frames * max(dims.melBins, w) * 3)
        for b in 0..<windows {
            let m = mel + b * dims.melBins * frames
            for c in 0..<dims.melBins { for t in 0..<frames { transposed[t * dims.melBins + c] = m[c * frames + t] } }
            conv1(transposed, length: frames, into: hidden, columns: columns)
            Kernels.gelu(hidden, count: frames * w)
            let x = output.data + b * n * w
            conv2(hidden, length: frames, into: x, columns: columns)
            Kernels.gelu(x, count: n * w)
            Kernels.add(x, audioPositions.data, count: n * w)
        }
        for block in encoderBlocks { block(output.data, batch: windows, length: n, scratch: scratch) }
        encoderNorm(output.data, rows: windows * n, into: output.data)
        return output
    }

    /// Cross-attention keys/values of every decoder layer for encoded windows.
    public func crossMemory(_ encoded: Tensor) -> [Tensor] {
        decoderBlocks.map { $0.crossAttention.memory(encoded.data, windows: encoded.shape[0], length: encoded.shape[1]) }
    }

    /// A cache for `slots` sequences of up to `textContext` tokens.
    public func makeCache(slots: Int) -> KVCache {
        KVCache(layers: dimensions.textLayers, slots: slots, maxLength: dimensions.textContext, dim: dimensions.textWidth)
    }

    /// Runs the decoder on `tokens` (one row each: token at `positions[r]` of cache slot `slots[r]`,
    /// attending to window `windows[r]` of `memory`) and returns logits (logitRows.count, vocab)
    /// for the rows listed in `logitRows`. `crossScores[layer]`, when given, keeps that layer's
    /// cross-attention scores of some heads (word alignment).
    public func decode(tokens: [Int], slots: [Int], positions: [Int], windows: [Int], memory: [Tensor],
                       cache: KVCache, logitRows: [Int], crossScores: [Int: CrossAttentionScores] = [:]) -> Tensor {
        let rows = tokens.count, w = dimensions.textWidth
        let x = scratch.buffer(.hiddenStates, rows * w)
        for r in 0..<rows {
            let e = tokenEmbedding.data + tokens[r] * w, p = textPositions.data + positions[r] * w
            for i in 0..<w { x[r * w + i] = e[i] + p[i] }
        }
        for (layer, block) in decoderBlocks.enumerated() {
            block(x, rows: rows, slots: slots, positions: positions, cache: cache, layer: layer,
                  memory: memory[layer], windowOfRow: windows, scratch: scratch, keepCrossScores: crossScores[layer])
        }
        return selectedRowLogits(x, dim: w, logitRows: logitRows, norm: decoderNorm, output: outputProjection,
                                 vocabulary: dimensions.vocabularySize, scratch: scratch)
    }
}
