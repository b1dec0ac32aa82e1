// Compute types as CTranslate2 names them (`compute_type`). Weights on disk are float16; which
// layers are converted at load, and which kernels then run, is chosen here.
//   float32       every product in float32 (BLAS GEMM; float16 weights read directly up to 8 rows)
//   int8          every linear layer's weights in int8: the decoder's per-token products as q8_0
//                 blocks (one fp16 scale per 32 values; Hearth's VNNI / AVX2 kernels), the encoder's
//                 and the cross-attention memory's as int8 rows with a scale per ≤ 384 values on
//                 oneDNN's integer GEMM (AVX-512 VNNI; without it, q8_0 blocks there too)
//   int8_float32  CTranslate2's name for int8 weights with float32 elsewhere — the same on CPU
//   auto          the fastest of these whose WER stays within 0.5 points of float32 on the
//                 bench recording (README "Benchmark"); see `resolved`.
// bfloat16 / float16 / int8_bfloat16 need bf16 or f16 matrix kernels Hearth does not have:
// refused with a message rather than silently run as float32.

import Tensors

public enum WhisperComputeType: String, CaseIterable, Sendable, Codable {
    case float32, int8, int8Float32 = "int8_float32", auto

    /// Which layers hold q8_0 weights.
    public enum Weights: Sendable, Equatable {
        case float32
        /// the decoder's per-token products (self-attention, cross-attention query/out, FFN, output projection)
        case int8Decoder
        /// every linear layer, the encoder's and the cross-attention keys/values too
        case int8
    }

    /// What runs for this type on this CPU. `auto`: everything in int8 where oneDNN's VNNI
    /// kernels run (bench recording WER 11.36 % vs float32's 12.05 %, encoder 1.4× faster);
    /// without AVX-512 VNNI only the decoder (its products are bandwidth-bound: about half the
    /// bytes of float16 read), since the q8_0 block kernels are no faster than float32 BLAS on
    /// the encoder's 1500-row products (README "Benchmark", compute types).
    public var weights: Weights {
        switch self {
        case .float32: return .float32
        case .int8, .int8Float32: return .int8
        case .auto:
            if Int8Matrix.isAvailable { return .int8 }
            return QuantizedKernels.isAvailable(.avx2) ? .int8Decoder : .float32
        }
    }

    /// Names CTranslate2 accepts that Hearth refuses, with why.
    public static let unsupported: [String: String] = [
        "bfloat16": "Hearth has no bfloat16 matrix kernels yet",
        "float16": "Hearth has no float16 matrix kernels for products of more than 8 rows",
        "int8_bfloat16": "Hearth has no bfloat16 matrix kernels yet",
        "int8_float16": "Hearth has no float16 matrix kernels for products of more than 8 rows",
        "int16": "Hearth has no int16 kernels",
    ]
}
