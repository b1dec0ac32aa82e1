// Quantized-weight kernels: GGML block formats (as GGUF files store them), activation
// quantization to 8-bit blocks, and integer dot products — a portable scalar path, an
// AVX2/FMA/F16C path and an AVX-512 VNNI path, chosen at run time (no -march=native anywhere).
//
// Layouts follow llama.cpp's ggml/src/ggml-common.h; the dot products follow
// ggml/src/ggml-cpu/quants.c (generic) and ggml-cpu/arch/x86/quants.c (AVX2).
#ifndef HEARTH_QUANT_H
#define HEARTH_QUANT_H
#include <stddef.h>
#include <stdint.h>

/// GGML type ids, as stored in GGUF tensor infos.
enum {
    HQ_TYPE_F32 = 0, HQ_TYPE_F16 = 1, HQ_TYPE_Q4_0 = 2, HQ_TYPE_Q4_1 = 3, HQ_TYPE_Q5_0 = 6,
    HQ_TYPE_Q5_1 = 7, HQ_TYPE_Q8_0 = 8, HQ_TYPE_Q8_1 = 9, HQ_TYPE_Q2_K = 10, HQ_TYPE_Q3_K = 11,
    HQ_TYPE_Q4_K = 12, HQ_TYPE_Q5_K = 13, HQ_TYPE_Q6_K = 14, HQ_TYPE_Q8_K = 15, HQ_TYPE_BF16 = 30,
};

/// Kernel paths. HQ_ISA_AUTO picks the best one the CPU supports. AVX512VNNI (AVX-512 F/BW/VL +
/// VNNI, on 256-bit vectors) has its own kernels for the 32-element formats and uses the AVX2
/// ones for the K-quants.
enum { HQ_ISA_AUTO = -1, HQ_ISA_SCALAR = 0, HQ_ISA_AVX2 = 1, HQ_ISA_AVX512VNNI = 2 };

/// 1 if this CPU can run `isa`.
int hq_isa_available(int isa);
/// The path the kernels use now.
int hq_isa_current(void);
/// Forces a path (tests, benchmarks); HQ_ISA_AUTO restores the best. Returns the path now in use
/// (the request is ignored when the CPU lacks it). Not thread-safe against running products.
int hq_isa_force(int isa);

/// Four-row kernels (m ≥ 4: each weight block decoded once for four activation rows) on (1) or
/// off (0); −1 only queries. Returns the previous setting. Results are the same either way, bit
/// for bit; the switch exists to check exactly that.
int hq_four_row_kernels(int enable);

/// 1 if weights of `type` can be dequantized and multiplied (f32, f16, bf16, q4_0, q4_1, q5_0,
/// q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K).
int hq_type_supported(int type);
/// Elements per block and bytes per block of a supported weight type (0 if unsupported).
long hq_block_size(int type);
long hq_block_bytes(int type);

/// float32 values of one row of k elements (k a multiple of the block size).
void hq_dequantize_row(int type, const void *src, float *dst, long k);

/// Quantizes `rows` float rows of `k` values (k a multiple of 32) to q8_0 weight blocks at `dst`
/// (rows · k/32 · 34 bytes), as ggml's quantize_row_q8_0_ref: d = amax/127 (fp16), q = round(x/d).
void hq_quantize_rows_q8_0(const float *x, long rows, long k, void *dst);

/// Activations, quantized once per product: the values of llama.cpp's q8_0 / q8_1 / q8_K
/// (same scales, same rounding), laid out for the kernels. hq_act_row_bytes is the size of one
/// quantized row of k values for weights of `type`; for f32/f16/bf16 weights activations stay float.
size_t hq_act_row_bytes(int type, long k);
/// Quantizes `m` rows of k floats (row stride ldx) for products with weights of `type`; row r
/// goes to dst + r · hq_act_row_bytes(type, k).
void hq_quantize_act(int type, const float *x, long ldx, long m, long k, void *dst);

/// Σ w·x over one weight row of `type` and one quantized activation row (k elements).
float hq_vec_dot(int type, long k, const void *w, const void *xq);

/// Y(m, ldy)[:, n0..<n1] = X(m, k) · W[n0..<n1]ᵀ. W holds rows of k elements, `w_row_bytes` apart.
/// For quantized types `xq` holds m activation rows from hq_quantize_act (`xq_row_bytes` apart);
/// for f32/f16/bf16 weights it holds m float rows. Rows n0..<n1 only: callers split rows across
/// threads.
void hq_matmul(int type, const void *w, size_t w_row_bytes, long k, long n0, long n1,
               const void *xq, size_t xq_row_bytes, long m, float *y, long ldy);

/// IEEE binary16 ↔ binary32 (round to nearest even), exact.
float hq_f16_to_f32(uint16_t h);
uint16_t hq_f32_to_f16(float f);
#endif
