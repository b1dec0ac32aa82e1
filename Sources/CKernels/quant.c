// Quantized-weight kernels (see include/quant.h).
//
// Block layouts are those of llama.cpp's ggml/src/ggml-common.h. Products work as llama.cpp's
// CPU backend does: each activation row is quantized once to 8-bit blocks (the values of its
// q8_0 / q8_1 / q8_K: same scales, same rounding, so logits can match llama.cpp's), then every
// weight row is combined with it by integer dot products, one float scale per block.
//
// Three paths: portable scalar C (the reference; every loop mirrors the format definition),
// AVX2 + FMA + F16C, and AVX-512 VNNI (for the 32-element formats), chosen at run time with
// __builtin_cpu_supports (never compiled for the build machine's CPU). The AVX2 kernels follow
// the structure of ggml-cpu/arch/x86/quants.c: nibbles unpacked with shifts and masks, unsigned
// × signed byte products with maddubs, 16-bit pair sums widened with madd (also applying the
// K-quant sub-block scales), one FMA per block.
#include "quant.h"
#include "ckernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define HQ_X86 1
#include <immintrin.h>
#define HQ_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HQ_X86 0
#define HQ_CLONES
#endif

// ---------------------------------------------------------------------------------------------
// Block layouts (ggml-common.h). Weight blocks are 2-byte aligned in a row; nothing here needs more.

#define QK 32      // elements per block of the 32-element formats
#define QKK 256    // elements per super-block of the K-quants

typedef struct { uint16_t d; uint8_t qs[16]; } blk_q4_0;                          // 18 B
typedef struct { uint16_t d, m; uint8_t qs[16]; } blk_q4_1;                       // 20 B
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_0;           // 22 B
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_1;        // 24 B
typedef struct { uint16_t d; int8_t qs[32]; } blk_q8_0;                           // 34 B
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } blk_q2_K; // 84 B
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } blk_q3_K; // 110 B
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } blk_q4_K;             // 144 B
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } blk_q5_K; // 176 B
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } blk_q6_K;    // 210 B

_Static_assert(sizeof(blk_q4_0) == 18, "q4_0");
_Static_assert(sizeof(blk_q4_1) == 20, "q4_1");
_Static_assert(sizeof(blk_q5_0) == 22, "q5_0");
_Static_assert(sizeof(blk_q5_1) == 24, "q5_1");
_Static_assert(sizeof(blk_q8_0) == 34, "q8_0");
_Static_assert(sizeof(blk_q2_K) == 84, "q2_K");
_Static_assert(sizeof(blk_q3_K) == 110, "q3_K");
_Static_assert(sizeof(blk_q4_K) == 144, "q4_K");
_Static_assert(sizeof(blk_q5_K) == 176, "q5_K");
_Static_assert(sizeof(blk_q6_K) == 210, "q6_K");

// Activation blocks. a8: llama.cpp's q8_0 / q8_1 values, with the fp16 scale `d` (and q8_1's fp16
// `s` = d·Σqs) kept as the floats they round to (no conversion in the inner loops); 40 B.
// a8k: q8_K exactly (float d, 256 values, sums of each 16), 292 B.
typedef struct { float d; float s; int8_t qs[32]; } hq_a8;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } hq_a8k;
_Static_assert(sizeof(hq_a8) == 40, "a8");
_Static_assert(sizeof(hq_a8k) == 292, "a8k");

// ---------------------------------------------------------------------------------------------
// Half precision

float hq_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t em = h & 0x7fff;
    uint32_t bits;
    if (em >= 0x7c00) {
        bits = sign | 0x7f800000u | ((em & 0x3ff) << 13);           // inf, NaN
    } else if (em >= 0x0400) {
        bits = sign | ((em << 13) + ((127 - 15) << 23));             // normal
    } else {
        float f = (float)em * 5.9604644775390625e-8f;                // subnormal: em · 2^-24
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t hq_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00);           // NaN
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);          // ≥ 65520 rounds to inf
    if (ax < 0x38800000u) {                                            // below 2^-14: subnormal
        float a;
        memcpy(&a, &ax, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(a * 16777216.0f));
    }
    uint32_t odd = (ax >> 13) & 1;
    return (uint16_t)(sign | ((ax - (112u << 23) + 0xfff + odd) >> 13));
}

#define H2F(h) hq_f16_to_f32(h)

// ---------------------------------------------------------------------------------------------
// Type table

int hq_type_supported(int type) {
    switch (type) {
    case HQ_TYPE_F32: case HQ_TYPE_F16: case HQ_TYPE_BF16:
    case HQ_TYPE_Q4_0: case HQ_TYPE_Q4_1: case HQ_TYPE_Q5_0: case HQ_TYPE_Q5_1: case HQ_TYPE_Q8_0:
    case HQ_TYPE_Q2_K: case HQ_TYPE_Q3_K: case HQ_TYPE_Q4_K: case HQ_TYPE_Q5_K: case HQ_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

long hq_block_size(int type) {
    switch (type) {
    case HQ_TYPE_F32: case HQ_TYPE_F16: case HQ_TYPE_BF16: return 1;
    case HQ_TYPE_Q4_0: case HQ_TYPE_Q4_1: case HQ_TYPE_Q5_0: case HQ_TYPE_Q5_1: case HQ_TYPE_Q8_0: return QK;
    case HQ_TYPE_Q2_K: case HQ_TYPE_Q3_K: case HQ_TYPE_Q4_K: case HQ_TYPE_Q5_K: case HQ_TYPE_Q6_K: return QKK;
    default: return 0;
    }
}

long hq_block_bytes(int type) {
    switch (type) {
    case HQ_TYPE_F32: return 4;
    case HQ_TYPE_F16: case HQ_TYPE_BF16: return 2;
    case HQ_TYPE_Q4_0: return sizeof(blk_q4_0);
    case HQ_TYPE_Q4_1: return sizeof(blk_q4_1);
    case HQ_TYPE_Q5_0: return sizeof(blk_q5_0);
    case HQ_TYPE_Q5_1: return sizeof(blk_q5_1);
    case HQ_TYPE_Q8_0: return sizeof(blk_q8_0);
    case HQ_TYPE_Q2_K: return sizeof(blk_q2_K);
    case HQ_TYPE_Q3_K: return sizeof(blk_q3_K);
    case HQ_TYPE_Q4_K: return sizeof(blk_q4_K);
    case HQ_TYPE_Q5_K: return sizeof(blk_q5_K);
    case HQ_TYPE_Q6_K: return sizeof(blk_q6_K);
    default: return 0;
    }
}

static int is_k_quant(int type) {
    return type == HQ_TYPE_Q2_K || type == HQ_TYPE_Q3_K || type == HQ_TYPE_Q4_K ||
           type == HQ_TYPE_Q5_K || type == HQ_TYPE_Q6_K;
}

static int is_float_type(int type) {
    return type == HQ_TYPE_F32 || type == HQ_TYPE_F16 || type == HQ_TYPE_BF16;
}

// ---------------------------------------------------------------------------------------------
// Scale unpacking shared by the K-quants

// q4_K / q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min packed in 12 bytes
// (ggml-quants.c get_scale_min_k4).
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *mn = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// q3_K: 16 sub-blocks of 16, each with a 6-bit scale (stored + 32) packed in 12 bytes: the low
// 4 bits of scales 0–7 are the low nibbles of bytes 0–7, of scales 8–15 their high nibbles; the
// top 2 bits of scale s are bits 2(s/4)..2(s/4)+1 of byte 8 + s%4.
static inline void scales_q3_K(const uint8_t *packed, int8_t out[16]) {
    for (int s = 0; s < 16; s++) {
        int low = s < 8 ? (packed[s] & 0xF) : (packed[s - 8] >> 4);
        int high = (packed[8 + (s & 3)] >> (2 * (s >> 2))) & 3;
        out[s] = (int8_t)((low | (high << 4)) - 32);
    }
}

// ---------------------------------------------------------------------------------------------
// Dequantization (reference, scalar). No FMA contraction: q·d + m rounds twice, as in ggml's
// reference code, so values are exactly the format's.
#pragma STDC FP_CONTRACT OFF

static void deq_q4_0(const blk_q4_0 *x, float *y, long nb) {
    for (long i = 0; i < nb; i++, y += QK) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = ((x[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void deq_q4_1(const blk_q4_1 *x, float *y, long nb) {
    for (long i = 0; i < nb; i++, y += QK) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (x[i].qs[j] & 0xF) * d + m;
            y[j + 16] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

static inline uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void deq_q5_0(const blk_q5_0 *x, float *y, long nb) {
    for (long i = 0; i < nb; i++, y += QK) {
        const float d = H2F(x[i].d);
        const uint32_t qh = load_u32(x[i].qh);
        for (int j = 0; j < 16; j++) {
            const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
            y[j] = (((x[i].qs[j] & 0xF) | (h0 << 4)) - 16) * d;
            y[j + 16] = (((x[i].qs[j] >> 4) | (h1 << 4)) - 16) * d;
        }
    }
}

static void deq_q5_1(const blk_q5_1 *x, float *y, long nb) {
    for (long i = 0; i < nb; i++, y += QK) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        const uint32_t qh = load_u32(x[i].qh);
        for (int j = 0; j < 16; j++) {
            const int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
            y[j] = ((x[i].qs[j] & 0xF) | (h0 << 4)) * d + m;
            y[j + 16] = ((x[i].qs[j] >> 4) | (h1 << 4)) * d + m;
        }
    }
}

static void deq_q8_0(const blk_q8_0 *x, float *y, long nb) {
    for (long i = 0; i < nb; i++, y += QK) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = x[i].qs[j] * d;
    }
}

// q2_K: 16 sub-blocks of 16; byte s of `scales` = scale (low 4 bits) | min (high 4 bits).
// Element 128n + 32j + l (l < 32) is bits 2j..2j+1 of qs[32n + l]; its sub-block is 8n + 2j + l/16.
static void deq_q2_K(const blk_q2_K *x, float *y, long nb) {
    for (long i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        for (int e = 0; e < QKK; e++) {
            const int n = e / 128, j = (e % 128) / 32, l = e % 32, s = e / 16;
            const int q = (x[i].qs[32 * n + l] >> (2 * j)) & 3;
            *y++ = d * (x[i].scales[s] & 0xF) * q - dmin * (x[i].scales[s] >> 4);
        }
    }
}

// q3_K: like q2_K's low 2 bits, plus bit (4n + j) of hmask[l] as the third bit; value − 4 when it is clear.
static void deq_q3_K(const blk_q3_K *x, float *y, long nb) {
    for (long i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        int8_t sc[16];
        scales_q3_K(x[i].scales, sc);
        for (int e = 0; e < QKK; e++) {
            const int n = e / 128, j = (e % 128) / 32, l = e % 32, s = e / 16;
            const int low = (x[i].qs[32 * n + l] >> (2 * j)) & 3;
            const int high = (x[i].hmask[l] >> (4 * n + j)) & 1;
            *y++ = d * sc[s] * (low - (high ? 0 : 4));
        }
    }
}

// q4_K: 8 sub-blocks of 32; element 64j + l is the low nibble of qs[32j + l] (sub-block 2j),
// element 64j + 32 + l its high nibble (sub-block 2j + 1). value = d·scale·q − dmin·min.
static void deq_q4_K(const blk_q4_K *x, float *y, long nb) {
    for (long i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        for (int j = 0; j < 4; j++) {
            uint8_t sc0, m0, sc1, m1;
            scale_min_k4(2 * j, x[i].scales, &sc0, &m0);
            scale_min_k4(2 * j + 1, x[i].scales, &sc1, &m1);
            const uint8_t *q = x[i].qs + 32 * j;
            for (int l = 0; l < 32; l++) *y++ = d * sc0 * (q[l] & 0xF) - dmin * m0;
            for (int l = 0; l < 32; l++) *y++ = d * sc1 * (q[l] >> 4) - dmin * m1;
        }
    }
}

// q5_K: q4_K plus a fifth bit: bit 2j of qh[l] for the low nibbles, bit 2j + 1 for the high ones.
static void deq_q5_K(const blk_q5_K *x, float *y, long nb) {
    for (long i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        for (int j = 0; j < 4; j++) {
            uint8_t sc0, m0, sc1, m1;
            scale_min_k4(2 * j, x[i].scales, &sc0, &m0);
            scale_min_k4(2 * j + 1, x[i].scales, &sc1, &m1);
            const uint8_t *q = x[i].qs + 32 * j;
            for (int l = 0; l < 32; l++)
                *y++ = d * sc0 * ((q[l] & 0xF) | (((x[i].qh[l] >> (2 * j)) & 1) << 4)) - dmin * m0;
            for (int l = 0; l < 32; l++)
                *y++ = d * sc1 * ((q[l] >> 4) | (((x[i].qh[l] >> (2 * j + 1)) & 1) << 4)) - dmin * m1;
        }
    }
}

// q6_K: 16 sub-blocks of 16 with int8 scales. Per 128 elements (half n): 64 bytes of ql, 32 of qh.
// Element 128n + 32t + l (t < 4, l < 32): low 4 bits from ql[64n + l + 32(t&1)] (low nibble for
// t < 2, high for t ≥ 2), high 2 bits are bits 2t..2t+1 of qh[32n + l]; value (q − 32)·d·scale.
static inline int q6_value(const blk_q6_K *b, int e) {
    const int n = e / 128, t = (e % 128) / 32, l = e % 32;
    const uint8_t lo = b->ql[64 * n + l + 32 * (t & 1)];
    const int low = t < 2 ? (lo & 0xF) : (lo >> 4);
    const int high = (b->qh[32 * n + l] >> (2 * t)) & 3;
    return (low | (high << 4)) - 32;
}

static void deq_q6_K(const blk_q6_K *x, float *y, long nb) {
    for (long i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        for (int e = 0; e < QKK; e++) *y++ = d * x[i].scales[e / 16] * q6_value(&x[i], e);
    }
}

HQ_CLONES static void deq_f16(const uint16_t *x, float *y, long k) { hk_f16_to_f32(x, y, k); }

static void deq_bf16(const uint16_t *x, float *y, long k) {
    for (long i = 0; i < k; i++) {
        uint32_t bits = (uint32_t)x[i] << 16;
        memcpy(&y[i], &bits, 4);
    }
}

void hq_dequantize_row(int type, const void *src, float *dst, long k) {
    const long nb = hq_block_size(type) ? k / hq_block_size(type) : 0;
    switch (type) {
    case HQ_TYPE_F32: memcpy(dst, src, (size_t)k * 4); break;
    case HQ_TYPE_F16: deq_f16(src, dst, k); break;
    case HQ_TYPE_BF16: deq_bf16(src, dst, k); break;
    case HQ_TYPE_Q4_0: deq_q4_0(src, dst, nb); break;
    case HQ_TYPE_Q4_1: deq_q4_1(src, dst, nb); break;
    case HQ_TYPE_Q5_0: deq_q5_0(src, dst, nb); break;
    case HQ_TYPE_Q5_1: deq_q5_1(src, dst, nb); break;
    case HQ_TYPE_Q8_0: deq_q8_0(src, dst, nb); break;
    case HQ_TYPE_Q2_K: deq_q2_K(src, dst, nb); break;
    case HQ_TYPE_Q3_K: deq_q3_K(src, dst, nb); break;
    case HQ_TYPE_Q4_K: deq_q4_K(src, dst, nb); break;
    case HQ_TYPE_Q5_K: deq_q5_K(src, dst, nb); break;
    case HQ_TYPE_Q6_K: deq_q6_K(src, dst, nb); break;
    default: memset(dst, 0, (size_t)k * 4); break;
    }
}

#pragma STDC FP_CONTRACT ON

// ---------------------------------------------------------------------------------------------
// Weight quantization (compute types chosen at load: float weights → q8_0 blocks)

void hq_quantize_rows_q8_0(const float *x, long rows, long k, void *dst) {
    blk_q8_0 *y = dst;
    const long nb = k / QK;
    for (long r = 0; r < rows; r++) {
        for (long i = 0; i < nb; i++) {
            const float *v = x + r * k + i * QK;
            blk_q8_0 *b = &y[r * nb + i];
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(v[j]));
            const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            const uint16_t dh = hq_f32_to_f16(d);
            memcpy(&b->d, &dh, 2);
            for (int j = 0; j < QK; j++) b->qs[j] = (int8_t)roundf(v[j] * id);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Activation quantization (one implementation for every path, so all paths see the same bytes)

size_t hq_act_row_bytes(int type, long k) {
    if (is_float_type(type)) return (size_t)k * sizeof(float);
    if (is_k_quant(type)) return (size_t)(k / QKK) * sizeof(hq_a8k);
    return (size_t)(k / QK) * sizeof(hq_a8);
}

// llama.cpp quantize_row_q8_0 / q8_1 (x86): d = amax/127 stored as fp16, q = round-half-even(x·127/amax);
// for q4_1 / q5_1 weights s = fp16(d·Σq) as q8_1 has it, for the others s = d·Σq (float).
HQ_CLONES static void quantize_a8(const float *x, hq_a8 *y, long nb, int q8_1_sum) {
    for (long i = 0; i < nb; i++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK; j++) {
            const int q = (int)nearbyintf(x[j] * id);
            y[i].qs[j] = (int8_t)q;
            sum += q;
        }
        // llama.cpp stores d (and q8_1's s) as fp16; where that overflows (|x| beyond ~2000 makes
        // d·Σq exceed 65504) it would compute with inf, so the float value is kept instead.
        const float dh = H2F(hq_f32_to_f16(d));
        y[i].d = isfinite(dh) ? dh : d;
        if (q8_1_sum) {
            const float sh = H2F(hq_f32_to_f16(d * (float)sum));
            y[i].s = isfinite(sh) ? sh : d * (float)sum;
        } else {
            y[i].s = y[i].d * (float)sum;   // exact sum term for the unsigned-form kernels
        }
    }
}

// llama.cpp quantize_row_q8_K_ref: the signed value of largest magnitude maps to −127,
// q = min(127, round-half-even(x·(−127/max))), d = 1/iscale, bsums = sums of each 16.
HQ_CLONES static void quantize_a8k(const float *x, hq_a8k *y, long nb) {
    for (long i = 0; i < nb; i++, x += QKK) {
        float amax = 0, max = 0;
        for (int j = 0; j < QKK; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0) {
            memset(&y[i], 0, sizeof(hq_a8k));
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QKK; j++) {
            const int v = (int)nearbyintf(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[i].qs[16 * g + j];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

void hq_quantize_act(int type, const float *x, long ldx, long m, long k, void *dst) {
    const size_t rb = hq_act_row_bytes(type, k);
    for (long r = 0; r < m; r++) {
        char *out = (char *)dst + (size_t)r * rb;
        if (is_float_type(type)) memcpy(out, x + r * ldx, (size_t)k * 4);
        else if (is_k_quant(type)) quantize_a8k(x + r * ldx, (hq_a8k *)out, k / QKK);
        else quantize_a8(x + r * ldx, (hq_a8 *)out, k / QK, type == HQ_TYPE_Q4_1 || type == HQ_TYPE_Q5_1);
    }
}

// ---------------------------------------------------------------------------------------------
// Dot products, scalar (reference: exact integer sums per block, one float scale per block)

typedef float (*dot_fn)(long k, const void *w, const void *x);

static float dot_q4_0_scalar(long k, const void *vw, const void *vx) {
    const blk_q4_0 *w = vw; const hq_a8 *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QK; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += ((w[i].qs[j] & 0xF) - 8) * x[i].qs[j] + ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + 16];
        sum += (float)s * (H2F(w[i].d) * x[i].d);
    }
    return sum;
}

static float dot_q4_1_scalar(long k, const void *vw, const void *vx) {
    const blk_q4_1 *w = vw; const hq_a8 *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QK; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += (w[i].qs[j] & 0xF) * x[i].qs[j] + (w[i].qs[j] >> 4) * x[i].qs[j + 16];
        sum += (float)s * (H2F(w[i].d) * x[i].d) + H2F(w[i].m) * x[i].s;
    }
    return sum;
}

static float dot_q5_0_scalar(long k, const void *vw, const void *vx) {
    const blk_q5_0 *w = vw; const hq_a8 *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QK; i++) {
        const uint32_t qh = load_u32(w[i].qh);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            const int q0 = ((w[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
            const int q1 = ((w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            s += q0 * x[i].qs[j] + q1 * x[i].qs[j + 16];
        }
        sum += (float)s * (H2F(w[i].d) * x[i].d);
    }
    return sum;
}

static float dot_q5_1_scalar(long k, const void *vw, const void *vx) {
    const blk_q5_1 *w = vw; const hq_a8 *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QK; i++) {
        const uint32_t qh = load_u32(w[i].qh);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            const int q0 = (w[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
            const int q1 = (w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            s += q0 * x[i].qs[j] + q1 * x[i].qs[j + 16];
        }
        sum += (float)s * (H2F(w[i].d) * x[i].d) + H2F(w[i].m) * x[i].s;
    }
    return sum;
}

static float dot_q8_0_scalar(long k, const void *vw, const void *vx) {
    const blk_q8_0 *w = vw; const hq_a8 *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QK; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += w[i].qs[j] * x[i].qs[j];
        sum += (float)s * (H2F(w[i].d) * x[i].d);
    }
    return sum;
}

static float dot_q2_K_scalar(long k, const void *vw, const void *vx) {
    const blk_q2_K *w = vw; const hq_a8k *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QKK; i++) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 16; s++) {
            int p = 0;
            for (int e = 16 * s; e < 16 * s + 16; e++) {
                const int n = e / 128, j = (e % 128) / 32, l = e % 32;
                p += ((w[i].qs[32 * n + l] >> (2 * j)) & 3) * x[i].qs[e];
            }
            sumi += (w[i].scales[s] & 0xF) * p;
            summ += (w[i].scales[s] >> 4) * x[i].bsums[s];
        }
        sum += x[i].d * (H2F(w[i].d) * (float)sumi - H2F(w[i].dmin) * (float)summ);
    }
    return sum;
}

static float dot_q3_K_scalar(long k, const void *vw, const void *vx) {
    const blk_q3_K *w = vw; const hq_a8k *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QKK; i++) {
        int8_t sc[16];
        scales_q3_K(w[i].scales, sc);
        int sumi = 0;
        for (int s = 0; s < 16; s++) {
            int p = 0;
            for (int e = 16 * s; e < 16 * s + 16; e++) {
                const int n = e / 128, j = (e % 128) / 32, l = e % 32;
                const int low = (w[i].qs[32 * n + l] >> (2 * j)) & 3;
                const int high = (w[i].hmask[l] >> (4 * n + j)) & 1;
                p += (low - (high ? 0 : 4)) * x[i].qs[e];
            }
            sumi += sc[s] * p;
        }
        sum += x[i].d * H2F(w[i].d) * (float)sumi;
    }
    return sum;
}

static float dot_q4_K_scalar(long k, const void *vw, const void *vx) {
    const blk_q4_K *w = vw; const hq_a8k *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QKK; i++) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 8; s++) {
            uint8_t sc, mn;
            scale_min_k4(s, w[i].scales, &sc, &mn);
            const uint8_t *q = w[i].qs + 32 * (s / 2);
            const int8_t *y = x[i].qs + 32 * s;
            int p = 0;
            for (int l = 0; l < 32; l++) p += ((s & 1) ? (q[l] >> 4) : (q[l] & 0xF)) * y[l];
            sumi += sc * p;
            summ += mn * (x[i].bsums[2 * s] + x[i].bsums[2 * s + 1]);
        }
        sum += x[i].d * (H2F(w[i].d) * (float)sumi - H2F(w[i].dmin) * (float)summ);
    }
    return sum;
}

static float dot_q5_K_scalar(long k, const void *vw, const void *vx) {
    const blk_q5_K *w = vw; const hq_a8k *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QKK; i++) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 8; s++) {
            uint8_t sc, mn;
            scale_min_k4(s, w[i].scales, &sc, &mn);
            const uint8_t *q = w[i].qs + 32 * (s / 2);
            const int8_t *y = x[i].qs + 32 * s;
            int p = 0;
            for (int l = 0; l < 32; l++) {
                const int low = (s & 1) ? (q[l] >> 4) : (q[l] & 0xF);
                p += (low | (((w[i].qh[l] >> s) & 1) << 4)) * y[l];
            }
            sumi += sc * p;
            summ += mn * (x[i].bsums[2 * s] + x[i].bsums[2 * s + 1]);
        }
        sum += x[i].d * (H2F(w[i].d) * (float)sumi - H2F(w[i].dmin) * (float)summ);
    }
    return sum;
}

static float dot_q6_K_scalar(long k, const void *vw, const void *vx) {
    const blk_q6_K *w = vw; const hq_a8k *x = vx;
    float sum = 0;
    for (long i = 0; i < k / QKK; i++) {
        int sumi = 0;
        for (int s = 0; s < 16; s++) {
            int p = 0;
            for (int e = 16 * s; e < 16 * s + 16; e++) p += q6_value(&w[i], e) * x[i].qs[e];
            sumi += w[i].scales[s] * p;
        }
        sum += x[i].d * H2F(w[i].d) * (float)sumi;
    }
    return sum;
}

// ---------------------------------------------------------------------------------------------
// Dot products, AVX2 + FMA + F16C

#if HQ_X86
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static inline float h2f_avx(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of nibble pairs → 32 values 0..15: the low nibbles (elements 0..15), then the high ones.
static inline __m256i nibbles32(const uint8_t *p) {
    // the 16 bytes in both halves, the upper half shifted right by 4 (bits crossing into a byte's
    // high nibble are masked off)
    const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    return _mm256_and_si256(_mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0x0F));
}

// 32 bits → 32 bytes, 0xFF where the bit is set (byte i ↔ bit i).
static inline __m256i bits32(const uint8_t *p) {
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)load_u32(p)),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel);
}

// Σ of products of 4 consecutive byte pairs, as 8 int32: unsigned u × signed s.
static inline __m256i dot_us(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// The same for signed × signed (|a| × sign(b, a)).
static inline __m256i dot_ss(__m256i a, __m256i b) {
    return dot_us(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// The 32-element formats share one loop: per block, unsigned weight values u (0..15 or 0..31)
// times the activation bytes, summed in 32-bit lanes, scaled by d_w·d_x; two blocks per
// iteration. What the unsigned form leaves out is
// added per block: min·s for q4_1 / q5_1 (s = d_x·Σq_x, llama.cpp's q8_1), or −offset·d_w·s for
// q4_0 / q5_0 (values u − 8 / u − 16) and, with VNNI, q8_0 (u = q + 128).
// SCALES gives [d_w·d_x, term, 0, 0] in one multiply: the fp16 (d_w, m_w) or (d_w, d_w) pair
// converted together, times the adjacent (d_x, s_x) of the activation block.
//
// Summation order is part of the contract: a row's result must not depend on how many rows share
// a call (batched generation must give the tokens single prompts give), so HQ_DOT32 and
// HQ_DOT32_X4 below combine each row's blocks identically: even blocks into acc0, odd ones into
// acc1 (two FMA chains hide the latency), their scale terms into c0 / c1; an odd last block goes
// to acc0 / c0; result hsum(acc0 + acc1) + CSCALE · (c0 + c1)[1].
#define HQ_DOT32(NAME, BLK, UNPACK, DOTOP, SCALES, CSCALE)                                            \
    static float NAME(long k, const void *vw, const void *vx) {                                       \
        const BLK *w = vw; const hq_a8 *x = vx;                                                       \
        const long nb = k / QK;                                                                       \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                \
        __m128 c0 = _mm_setzero_ps(), c1 = _mm_setzero_ps();                                          \
        long i = 0;                                                                                   \
        for (; i + 1 < nb; i += 2) {                                                                  \
            const __m128 s0 = SCALES(&w[i], &x[i]), s1 = SCALES(&w[i + 1], &x[i + 1]);                \
            const __m256i p0 = DOTOP(UNPACK(&w[i]), _mm256_loadu_si256((const __m256i *)x[i].qs));     \
            const __m256i p1 = DOTOP(UNPACK(&w[i + 1]), _mm256_loadu_si256((const __m256i *)x[i + 1].qs)); \
            acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(s0), _mm256_cvtepi32_ps(p0), acc0);          \
            acc1 = _mm256_fmadd_ps(_mm256_broadcastss_ps(s1), _mm256_cvtepi32_ps(p1), acc1);          \
            c0 = _mm_add_ps(c0, s0);                                                                  \
            c1 = _mm_add_ps(c1, s1);                                                                  \
        }                                                                                             \
        if (i < nb) {                                                                                 \
            const __m128 s0 = SCALES(&w[i], &x[i]);                                                   \
            const __m256i p0 = DOTOP(UNPACK(&w[i]), _mm256_loadu_si256((const __m256i *)x[i].qs));     \
            acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(s0), _mm256_cvtepi32_ps(p0), acc0);          \
            c0 = _mm_add_ps(c0, s0);                                                                  \
        }                                                                                             \
        const __m128 c = _mm_add_ps(c0, c1);                                                          \
        return hsum_ps(_mm256_add_ps(acc0, acc1)) + (CSCALE) * _mm_cvtss_f32(_mm_movehdup_ps(c));     \
    }

// (d_x, s_x) of an activation block, upper lanes zero
static inline __m128 act_ds(const hq_a8 *x) { return _mm_castpd_ps(_mm_load_sd((const double *)(const void *)&x->d)); }
// [d_w·d_x, m_w·s_x, 0, 0]: d and m are the first two fp16 fields of q4_1 / q5_1 blocks
static inline __m128 scales_dm(const void *b, const hq_a8 *x) {
    return _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(b))), act_ds(x));
}
// [d_w·d_x, d_w·s_x, …]: d is the first fp16 field of q4_0 / q5_0 / q8_0 blocks
static inline __m128 scales_dd(const void *b, const hq_a8 *x) {
    uint16_t d;
    memcpy(&d, b, 2);
    return _mm_mul_ps(_mm_cvtph_ps(_mm_set1_epi16((short)d)), act_ds(x));
}
#define scales_q4_0(b, x) scales_dd(b, x)
#define scales_q5_0(b, x) scales_dd(b, x)
#define scales_q8_0(b, x) scales_dd(b, x)
#define scales_q4_1(b, x) scales_dm(b, x)
#define scales_q5_1(b, x) scales_dm(b, x)

// Four activation rows per weight row: each block unpacked and its fp16 scales converted once;
// each row summed exactly as HQ_DOT32 sums it (same results bit for bit).
#define HQ_DOT32_X4(NAME, BLK, UNPACK, DOTOP, WSCALES, CSCALE)                                        \
    static void NAME(long k, const void *vw, const void *vx, size_t xs, float *y, long ldy) {          \
        const BLK *w = vw;                                                                            \
        const long nb = k / QK;                                                                       \
        __m256 acc0[4], acc1[4];                                                                      \
        __m128 c0[4], c1[4];                                                                          \
        for (int r = 0; r < 4; r++) {                                                                 \
            acc0[r] = acc1[r] = _mm256_setzero_ps();                                                  \
            c0[r] = c1[r] = _mm_setzero_ps();                                                         \
        }                                                                                             \
        long i = 0;                                                                                   \
        for (; i + 1 < nb; i += 2) {                                                                  \
            const __m256i u0 = UNPACK(&w[i]), u1 = UNPACK(&w[i + 1]);                                 \
            const __m128 ws0 = WSCALES(&w[i]), ws1 = WSCALES(&w[i + 1]);                              \
            for (int r = 0; r < 4; r++) {                                                             \
                const hq_a8 *x = XROW(hq_a8, r) + i;                                                  \
                const __m128 s0 = _mm_mul_ps(ws0, act_ds(&x[0])), s1 = _mm_mul_ps(ws1, act_ds(&x[1])); \
                const __m256i p0 = DOTOP(u0, _mm256_loadu_si256((const __m256i *)x[0].qs));           \
                const __m256i p1 = DOTOP(u1, _mm256_loadu_si256((const __m256i *)x[1].qs));           \
                acc0[r] = _mm256_fmadd_ps(_mm256_broadcastss_ps(s0), _mm256_cvtepi32_ps(p0), acc0[r]); \
                acc1[r] = _mm256_fmadd_ps(_mm256_broadcastss_ps(s1), _mm256_cvtepi32_ps(p1), acc1[r]); \
                c0[r] = _mm_add_ps(c0[r], s0);                                                        \
                c1[r] = _mm_add_ps(c1[r], s1);                                                        \
            }                                                                                         \
        }                                                                                             \
        if (i < nb) {                                                                                 \
            const __m256i u0 = UNPACK(&w[i]);                                                         \
            const __m128 ws0 = WSCALES(&w[i]);                                                        \
            for (int r = 0; r < 4; r++) {                                                             \
                const hq_a8 *x = XROW(hq_a8, r) + i;                                                  \
                const __m128 s0 = _mm_mul_ps(ws0, act_ds(x));                                         \
                const __m256i p0 = DOTOP(u0, _mm256_loadu_si256((const __m256i *)x->qs));             \
                acc0[r] = _mm256_fmadd_ps(_mm256_broadcastss_ps(s0), _mm256_cvtepi32_ps(p0), acc0[r]); \
                c0[r] = _mm_add_ps(c0[r], s0);                                                        \
            }                                                                                         \
        }                                                                                             \
        for (int r = 0; r < 4; r++) {                                                                 \
            const __m128 c = _mm_add_ps(c0[r], c1[r]);                                                \
            y[r * ldy] = hsum_ps(_mm256_add_ps(acc0[r], acc1[r])) + (CSCALE) * _mm_cvtss_f32(_mm_movehdup_ps(c)); \
        }                                                                                             \
    }
#define XROW(T, r) ((const T *)((const char *)vx + (size_t)(r) * xs))
// the weight halves of scales_dm / scales_dd: [d_w, m_w, 0, 0] and [d_w, d_w, …]
static inline __m128 wsc_dm(const void *b) { return _mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(b))); }
static inline __m128 wsc_dd(const void *b) {
    uint16_t d;
    memcpy(&d, b, 2);
    return _mm_cvtph_ps(_mm_set1_epi16((short)d));
}

static inline __m256i u_q4_0(const blk_q4_0 *b) { return nibbles32(b->qs); }
static inline __m256i u_q4_1(const blk_q4_1 *b) { return nibbles32(b->qs); }
// q5: nibble | bit << 4
static inline __m256i u_q5_0(const blk_q5_0 *b) {
    return _mm256_or_si256(nibbles32(b->qs), _mm256_and_si256(bits32(b->qh), _mm256_set1_epi8(0x10)));
}
static inline __m256i u_q5_1(const blk_q5_1 *b) {
    return _mm256_or_si256(nibbles32(b->qs), _mm256_and_si256(bits32(b->qh), _mm256_set1_epi8(0x10)));
}
HQ_DOT32(dot_q4_0_avx2, blk_q4_0, u_q4_0, dot_us, scales_q4_0, -8.0f)
HQ_DOT32(dot_q4_1_avx2, blk_q4_1, u_q4_1, dot_us, scales_q4_1, 1.0f)
HQ_DOT32(dot_q5_0_avx2, blk_q5_0, u_q5_0, dot_us, scales_q5_0, -16.0f)
HQ_DOT32(dot_q5_1_avx2, blk_q5_1, u_q5_1, dot_us, scales_q5_1, 1.0f)

// q8_0 stays signed here: u = q + 128 would overflow maddubs' 16-bit pair sums.
static inline __m256i s_q8_0(const blk_q8_0 *b) { return _mm256_loadu_si256((const __m256i *)b->qs); }
HQ_DOT32(dot_q8_0_avx2, blk_q8_0, s_q8_0, dot_ss, scales_q8_0, 0.0f)

HQ_DOT32_X4(dot4_q4_0_avx2, blk_q4_0, u_q4_0, dot_us, wsc_dd, -8.0f)
HQ_DOT32_X4(dot4_q4_1_avx2, blk_q4_1, u_q4_1, dot_us, wsc_dm, 1.0f)
HQ_DOT32_X4(dot4_q5_0_avx2, blk_q5_0, u_q5_0, dot_us, wsc_dd, -16.0f)
HQ_DOT32_X4(dot4_q5_1_avx2, blk_q5_1, u_q5_1, dot_us, wsc_dm, 1.0f)
HQ_DOT32_X4(dot4_q8_0_avx2, blk_q8_0, s_q8_0, dot_ss, wsc_dd, 0.0f)

// For the per-16 scales (q2_K, q3_K, q6_K): int16 lanes 0..7 = scale[2g], lanes 8..15 = scale[2g+1],
// matching maddubs' 16 pair sums of a 32-element group g (the low 128 bits hold elements 0..15).
static const uint8_t k_pair_shuffle[8][16] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
    {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
    {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13},
    {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

static inline __m256i scale_pair_s8(__m128i scales, int g) {   // signed scales
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, _mm_loadu_si128((const __m128i *)k_pair_shuffle[g])));
}

// Σ_s scale[s] · bsums[s] for 16 signed int8 scales.
static inline int scaled_bsums(__m128i scales, const int16_t *bsums) {
    return hsum_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(scales), _mm256_loadu_si256((const __m256i *)bsums)));
}

static float dot_q2_K_avx2(long k, const void *vw, const void *vx) {
    const blk_q2_K *w = vw; const hq_a8k *x = vx;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    float accm = 0;
    for (long i = 0; i < k / QKK; i++) {
        const __m128i packed = _mm_loadu_si128((const __m128i *)w[i].scales);
        const __m128i scales = _mm_and_si128(packed, _mm_set1_epi8(0xF));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0xF));
        accm += x[i].d * h2f_avx(w[i].dmin) * (float)scaled_bsums(mins, x[i].bsums);
        __m256i sumi = _mm256_setzero_si256();
        for (int n = 0; n < 2; n++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * n));
            for (int j = 0; j < 4; j++) {
                const int g = 4 * n + j;
                const __m256i v = _mm256_and_si256(q, m3);
                q = _mm256_srli_epi16(q, 2);
                const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g)));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale_pair_s8(scales, g)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(x[i].d * h2f_avx(w[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc) - accm;
}

static float dot_q3_K_avx2(long k, const void *vw, const void *vx) {
    const blk_q3_K *w = vw; const hq_a8k *x = vx;
    const __m256i m3 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float accc = 0;
    for (long i = 0; i < k / QKK; i++) {
        // the 16 scales of scales_q3_K, four at a time: low nibbles from bytes 0–7 (scales 0–7)
        // or their high nibbles (8–15), top bits from bytes 8–11 shifted by 2·(s/4)
        uint32_t a0, a1, t, r[4];
        memcpy(&a0, w[i].scales, 4);
        memcpy(&a1, w[i].scales + 4, 4);
        memcpy(&t, w[i].scales + 8, 4);
        const uint32_t lo4 = 0x0f0f0f0f, lo2 = 0x03030303;
        r[0] = (a0 & lo4) | ((t & lo2) << 4);
        r[1] = (a1 & lo4) | (((t >> 2) & lo2) << 4);
        r[2] = ((a0 >> 4) & lo4) | (((t >> 4) & lo2) << 4);
        r[3] = ((a1 >> 4) & lo4) | (((t >> 6) & lo2) << 4);
        const __m128i scales = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)r), _mm_set1_epi8(32));
        const float d = x[i].d * h2f_avx(w[i].d);
        // values are low + 4·high − 4: the −4 is folded in through the block sums
        accc += d * 4.0f * (float)scaled_bsums(scales, x[i].bsums);
        __m256i hm = _mm256_loadu_si256((const __m256i *)w[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int n = 0; n < 2; n++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * n));
            for (int j = 0; j < 4; j++) {
                const int g = 4 * n + j;
                const __m256i high = _mm256_slli_epi16(_mm256_and_si256(hm, m1), 2);
                const __m256i v = _mm256_or_si256(_mm256_and_si256(q, m3), high);
                q = _mm256_srli_epi16(q, 2);
                hm = _mm256_srli_epi16(hm, 1);
                const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * g)));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale_pair_s8(scales, g)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc) - accc;
}

// q4_K / q5_K scales: 8 scales then 8 mins, 6 bits each, unpacked from 12 bytes at once.
static inline void unpack_k4(const uint8_t *packed, uint8_t out[16]) {
    uint32_t u[4];
    memcpy(u, packed, 12);
    const uint32_t lo6 = 0x3f3f3f3f, lo4 = 0x0f0f0f0f, lo2 = 0x03030303;
    u[3] = ((u[2] >> 4) & lo4) | (((u[1] >> 6) & lo2) << 4);   // mins 4..7
    const uint32_t mins03 = u[1] & lo6;
    u[1] = (u[2] & lo4) | (((u[0] >> 6) & lo2) << 4);          // scales 4..7
    u[2] = mins03;                                              // mins 0..3
    u[0] &= lo6;                                                // scales 0..3
    memcpy(out, u, 16);
}

static inline int k4_mins(const uint8_t *mins, const int16_t *bsums) {
    // Σ_s min[s] · (bsums[2s] + bsums[2s+1])
    const __m128i m = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mins));
    const __m128i b = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bsums), _mm_loadu_si128((const __m128i *)(bsums + 8)));
    __m128i p = _mm_madd_epi16(m, b);
    p = _mm_add_epi32(p, _mm_unpackhi_epi64(p, p));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(p);
}

// The K-quant kernels are written for R activation rows at once (R ≤ 4): each weight super-block
// is unpacked once and combined with every row. R is a constant in each wrapper below, so the
// row loops unroll and the per-row accumulators stay in registers.

// Q4_K and Q5_K share super-block scales, mins and nibble order; Q5_K adds one high bit per weight
// (qh: bit 2j and 2j+1 of each byte for the two halves of group j). `high_bits` is a constant in
// each wrapper, so the Q4_K body has no trace of it.
static inline __attribute__((always_inline))
void k4_family_rows(long k, const void *vw, const void *vx, size_t xs, float *y, long ldy, const int R,
                    const int high_bits) {
    const size_t block_bytes = high_bits ? sizeof(blk_q5_K) : sizeof(blk_q4_K);
    const __m256i m4 = _mm256_set1_epi8(0xF), m1 = _mm256_set1_epi8(1);
    __m256 acc[4];
    float accm[4];
    for (int r = 0; r < R; r++) { acc[r] = _mm256_setzero_ps(); accm[r] = 0; }
    for (long i = 0; i < k / QKK; i++) {
        const blk_q4_K *w4 = (const void *)((const uint8_t *)vw + i * block_bytes);   // d, dmin, scales
        const blk_q5_K *w5 = (const void *)w4;
        const uint8_t *qs = high_bits ? w5->qs : w4->qs;
        uint8_t sm[16];
        unpack_k4(w4->scales, sm);
        const float dw = h2f_avx(w4->d), dmw = h2f_avx(w4->dmin);
        __m256i sumi[4];
        for (int r = 0; r < R; r++) {
            const hq_a8k *x = XROW(hq_a8k, r) + i;
            accm[r] += x->d * dmw * (float)k4_mins(sm + 8, x->bsums);
            sumi[r] = _mm256_setzero_si256();
        }
        __m256i hb = high_bits ? _mm256_loadu_si256((const __m256i *)w5->qh) : _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (high_bits) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, m1), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), m1), 4));
                hb = _mm256_srli_epi16(hb, 2);
            }
            const __m256i s0 = _mm256_set1_epi16(sm[2 * j]), s1 = _mm256_set1_epi16(sm[2 * j + 1]);
            for (int r = 0; r < R; r++) {
                const int8_t *xq = (XROW(hq_a8k, r) + i)->qs + 64 * j;
                const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)xq));
                const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xq + 32)));
                sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(_mm256_madd_epi16(pl, s0), _mm256_madd_epi16(ph, s1)));
            }
        }
        for (int r = 0; r < R; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps((XROW(hq_a8k, r) + i)->d * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
    }
    for (int r = 0; r < R; r++) y[r * ldy] = hsum_ps(acc[r]) - accm[r];
}

static inline __attribute__((always_inline))
void q4_K_rows(long k, const void *vw, const void *vx, size_t xs, float *y, long ldy, const int R) {
    k4_family_rows(k, vw, vx, xs, y, ldy, R, 0);
}

static inline __attribute__((always_inline))
void q5_K_rows(long k, const void *vw, const void *vx, size_t xs, float *y, long ldy, const int R) {
    k4_family_rows(k, vw, vx, xs, y, ldy, R, 1);
}

static inline __attribute__((always_inline))
void q6_K_rows(long k, const void *vw, const void *vx, size_t xs, float *y, long ldy, const int R) {
    const blk_q6_K *w = vw;
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3);
    __m256 acc[4];
    float accc[4];
    for (int r = 0; r < R; r++) { acc[r] = _mm256_setzero_ps(); accc[r] = 0; }
    for (long i = 0; i < k / QKK; i++) {
        const __m128i scales = _mm_loadu_si128((const __m128i *)w[i].scales);
        const float dw = h2f_avx(w[i].d);
        __m256i sumi[4];
        for (int r = 0; r < R; r++) {
            const hq_a8k *x = XROW(hq_a8k, r) + i;
            // values are q − 32: the −32 is folded in through the block sums
            accc[r] += x->d * dw * 32.0f * (float)scaled_bsums(scales, x->bsums);
            sumi[r] = _mm256_setzero_si256();
        }
        for (int n = 0; n < 2; n++) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * n));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * n + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * n));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4));
            for (int t = 0; t < 4; t++) {
                const int g = 4 * n + t;
                const __m256i sc = scale_pair_s8(scales, g);
                for (int r = 0; r < R; r++) {
                    const __m256i p = _mm256_maddubs_epi16(q[t], _mm256_loadu_si256((const __m256i *)((XROW(hq_a8k, r) + i)->qs + 32 * g)));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p, sc));
                }
            }
        }
        for (int r = 0; r < R; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps((XROW(hq_a8k, r) + i)->d * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
    }
    for (int r = 0; r < R; r++) y[r * ldy] = hsum_ps(acc[r]) - accc[r];
}

#define HQ_K_WRAPPERS(T)                                                                              \
    static float dot_##T##_avx2(long k, const void *w, const void *x) {                               \
        float y; T##_rows(k, w, x, 0, &y, 0, 1); return y;                                            \
    }                                                                                                 \
    static void dot4_##T##_avx2(long k, const void *w, const void *x, size_t xs, float *y, long ldy) { \
        T##_rows(k, w, x, xs, y, ldy, 4);                                                             \
    }
HQ_K_WRAPPERS(q4_K)
HQ_K_WRAPPERS(q5_K)
HQ_K_WRAPPERS(q6_K)

#pragma clang attribute pop

// AVX-512 VNNI on 256-bit vectors (AVX512VL): vpdpbusd sums four u8·s8 products per 32-bit lane in
// one instruction (no 16-bit intermediate, so q8_0 can use u = q + 128), and q5's fifth bits are
// added through a mask register. The K-quants keep their AVX2 kernels (madd applies their scales).
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"))), apply_to = function)

static inline __m256i dot_vnni(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
static inline __m256i u_q5_0_vnni(const blk_q5_0 *b) {
    const __m256i n = nibbles32(b->qs);
    return _mm256_mask_add_epi8(n, _cvtu32_mask32(load_u32(b->qh)), n, _mm256_set1_epi8(0x10));
}
static inline __m256i u_q5_1_vnni(const blk_q5_1 *b) {
    const __m256i n = nibbles32(b->qs);
    return _mm256_mask_add_epi8(n, _cvtu32_mask32(load_u32(b->qh)), n, _mm256_set1_epi8(0x10));
}
static inline __m256i u_q8_0_vnni(const blk_q8_0 *b) {
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), _mm256_set1_epi8((char)0x80));
}

HQ_DOT32(dot_q4_0_vnni, blk_q4_0, u_q4_0, dot_vnni, scales_q4_0, -8.0f)
HQ_DOT32(dot_q4_1_vnni, blk_q4_1, u_q4_1, dot_vnni, scales_q4_1, 1.0f)
HQ_DOT32(dot_q5_0_vnni, blk_q5_0, u_q5_0_vnni, dot_vnni, scales_q5_0, -16.0f)
HQ_DOT32(dot_q5_1_vnni, blk_q5_1, u_q5_1_vnni, dot_vnni, scales_q5_1, 1.0f)
HQ_DOT32(dot_q8_0_vnni, blk_q8_0, u_q8_0_vnni, dot_vnni, scales_q8_0, -128.0f)

HQ_DOT32_X4(dot4_q4_0_vnni, blk_q4_0, u_q4_0, dot_vnni, wsc_dd, -8.0f)
HQ_DOT32_X4(dot4_q4_1_vnni, blk_q4_1, u_q4_1, dot_vnni, wsc_dm, 1.0f)
HQ_DOT32_X4(dot4_q5_0_vnni, blk_q5_0, u_q5_0_vnni, dot_vnni, wsc_dd, -16.0f)
HQ_DOT32_X4(dot4_q5_1_vnni, blk_q5_1, u_q5_1_vnni, dot_vnni, wsc_dm, 1.0f)
HQ_DOT32_X4(dot4_q8_0_vnni, blk_q8_0, u_q8_0_vnni, dot_vnni, wsc_dd, -128.0f)

#pragma clang attribute pop
#endif // HQ_X86

// ---------------------------------------------------------------------------------------------
// Dispatch

static int g_isa = -2;   // −2: not yet chosen

int hq_isa_available(int isa) {
    if (isa == HQ_ISA_SCALAR) return 1;
#if HQ_X86
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    if (isa == HQ_ISA_AVX2) return avx2;
    if (isa == HQ_ISA_AVX512VNNI)
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
    return 0;
}

static int best_isa(void) {
    if (hq_isa_available(HQ_ISA_AVX512VNNI)) return HQ_ISA_AVX512VNNI;
    return hq_isa_available(HQ_ISA_AVX2) ? HQ_ISA_AVX2 : HQ_ISA_SCALAR;
}

int hq_isa_current(void) {
    if (g_isa == -2) g_isa = best_isa();
    return g_isa;
}

int hq_isa_force(int isa) {
    g_isa = (isa == HQ_ISA_AUTO || !hq_isa_available(isa)) ? best_isa() : isa;
    return g_isa;
}

typedef void (*dot4_fn)(long k, const void *w, const void *x, size_t xs, float *y, long ldy);

static int g_four_rows = 1;

int hq_four_row_kernels(int enable) {
    const int was = g_four_rows;
    if (enable >= 0) g_four_rows = enable != 0;
    return was;
}

// Kernels for four activation rows at once (NULL: use the one-row kernel per row). They give
// each row exactly the one-row kernel's result (same operations in the same order), so a row's
// output never depends on how many rows share a call.
static dot4_fn pick_dot4(int type) {
    if (!g_four_rows) return NULL;
#if HQ_X86
    const int isa = hq_isa_current();
    if (isa == HQ_ISA_AVX512VNNI) {
        switch (type) {
        case HQ_TYPE_Q4_0: return dot4_q4_0_vnni;
        case HQ_TYPE_Q4_1: return dot4_q4_1_vnni;
        case HQ_TYPE_Q5_0: return dot4_q5_0_vnni;
        case HQ_TYPE_Q5_1: return dot4_q5_1_vnni;
        case HQ_TYPE_Q8_0: return dot4_q8_0_vnni;
        default: break;
        }
    }
    if (isa >= HQ_ISA_AVX2) {
        switch (type) {
        case HQ_TYPE_Q4_0: return dot4_q4_0_avx2;
        case HQ_TYPE_Q4_1: return dot4_q4_1_avx2;
        case HQ_TYPE_Q5_0: return dot4_q5_0_avx2;
        case HQ_TYPE_Q5_1: return dot4_q5_1_avx2;
        case HQ_TYPE_Q8_0: return dot4_q8_0_avx2;
        case HQ_TYPE_Q4_K: return dot4_q4_K_avx2;
        case HQ_TYPE_Q5_K: return dot4_q5_K_avx2;
        case HQ_TYPE_Q6_K: return dot4_q6_K_avx2;
        default: break;
        }
    }
#endif
    (void)type;
    return 0;
}

static dot_fn pick_dot(int type) {
#if HQ_X86
    if (hq_isa_current() == HQ_ISA_AVX512VNNI) {
        switch (type) {
        case HQ_TYPE_Q4_0: return dot_q4_0_vnni;
        case HQ_TYPE_Q4_1: return dot_q4_1_vnni;
        case HQ_TYPE_Q5_0: return dot_q5_0_vnni;
        case HQ_TYPE_Q5_1: return dot_q5_1_vnni;
        case HQ_TYPE_Q8_0: return dot_q8_0_vnni;
        default: break;   // the K-quants: AVX2 kernels
        }
    }
    if (hq_isa_current() >= HQ_ISA_AVX2) {
        switch (type) {
        case HQ_TYPE_Q4_0: return dot_q4_0_avx2;
        case HQ_TYPE_Q4_1: return dot_q4_1_avx2;
        case HQ_TYPE_Q5_0: return dot_q5_0_avx2;
        case HQ_TYPE_Q5_1: return dot_q5_1_avx2;
        case HQ_TYPE_Q8_0: return dot_q8_0_avx2;
        case HQ_TYPE_Q2_K: return dot_q2_K_avx2;
        case HQ_TYPE_Q3_K: return dot_q3_K_avx2;
        case HQ_TYPE_Q4_K: return dot_q4_K_avx2;
        case HQ_TYPE_Q5_K: return dot_q5_K_avx2;
        case HQ_TYPE_Q6_K: return dot_q6_K_avx2;
        default: break;
        }
    }
#endif
    switch (type) {
    case HQ_TYPE_Q4_0: return dot_q4_0_scalar;
    case HQ_TYPE_Q4_1: return dot_q4_1_scalar;
    case HQ_TYPE_Q5_0: return dot_q5_0_scalar;
    case HQ_TYPE_Q5_1: return dot_q5_1_scalar;
    case HQ_TYPE_Q8_0: return dot_q8_0_scalar;
    case HQ_TYPE_Q2_K: return dot_q2_K_scalar;
    case HQ_TYPE_Q3_K: return dot_q3_K_scalar;
    case HQ_TYPE_Q4_K: return dot_q4_K_scalar;
    case HQ_TYPE_Q5_K: return dot_q5_K_scalar;
    case HQ_TYPE_Q6_K: return dot_q6_K_scalar;
    default: return 0;
    }
}

// Float weights: each weight row converted once (f16 through kernels.c), then dotted with all m rows.
HQ_CLONES static void matmul_f32(const float *x, long m, long k, const float *w, size_t wrb,
                                 long n0, long n1, float *y, long ldy) {
#pragma clang fp reassociate(on)
    for (long n = n0; n < n1; n++) {
        const float *wn = (const float *)((const char *)w + (size_t)n * wrb);
        for (long r = 0; r < m; r++) {
            const float *xr = x + r * k;
            float s = 0;
            for (long i = 0; i < k; i++) s += wn[i] * xr[i];
            y[r * ldy + n] = s;
        }
    }
}

HQ_CLONES static void matmul_bf16(const float *x, long m, long k, const uint16_t *w, size_t wrb,
                                  long n0, long n1, float *y, long ldy) {
#pragma clang fp reassociate(on)
    float row[k];
    for (long n = n0; n < n1; n++) {
        const uint16_t *wn = (const uint16_t *)((const char *)w + (size_t)n * wrb);
        for (long i = 0; i < k; i++) {
            uint32_t bits = (uint32_t)wn[i] << 16;
            memcpy(&row[i], &bits, 4);
        }
        for (long r = 0; r < m; r++) {
            const float *xr = x + r * k;
            float s = 0;
            for (long i = 0; i < k; i++) s += row[i] * xr[i];
            y[r * ldy + n] = s;
        }
    }
}

float hq_vec_dot(int type, long k, const void *w, const void *xq) {
    if (is_float_type(type)) {
        float y = 0;
        hq_matmul(type, w, (size_t)k * hq_block_bytes(type), k, 0, 1, xq, (size_t)k * 4, 1, &y, 1);
        return y;
    }
    const dot_fn dot = pick_dot(type);
    return dot ? dot(k, w, xq) : 0.0f;
}

void hq_matmul(int type, const void *w, size_t w_row_bytes, long k, long n0, long n1,
               const void *xq, size_t xq_row_bytes, long m, float *y, long ldy) {
    if (n1 <= n0 || m <= 0) return;
    if (is_float_type(type)) {
        // float activations: m rows of k floats, xq_row_bytes apart (must be k·4 here)
        const float *x = xq;
        switch (type) {
        case HQ_TYPE_F32: matmul_f32(x, m, k, w, w_row_bytes, n0, n1, y, ldy); break;
        case HQ_TYPE_F16:
            if (w_row_bytes == (size_t)k * 2) hk_matmul_f16(x, m, k, w, n0, n1, y, ldy);
            else for (long n = n0; n < n1; n++)
                hk_matmul_f16(x, m, k, (const uint16_t *)((const char *)w + (size_t)n * w_row_bytes), 0, 1, y + n, ldy);
            break;
        case HQ_TYPE_BF16: matmul_bf16(x, m, k, w, w_row_bytes, n0, n1, y, ldy); break;
        }
        (void)xq_row_bytes;
        return;
    }
    const dot_fn dot = pick_dot(type);
    if (!dot) return;
    const char *wb = w, *xb = xq;
    if (m == 1) {
        for (long n = n0; n < n1; n++) y[n] = dot(k, wb + (size_t)n * w_row_bytes, xb);
        return;
    }
    // Tiles of weight rows × activation rows that stay in L1/L2 while they are combined; within a
    // tile, four activation rows at a time share each decoded weight block.
    const dot4_fn dot4 = pick_dot4(type);
    const long tn = 8, tm = 16;
    for (long nb = n0; nb < n1; nb += tn) {
        const long ne = nb + tn < n1 ? nb + tn : n1;
        for (long rb = 0; rb < m; rb += tm) {
            const long re = rb + tm < m ? rb + tm : m;
            for (long n = nb; n < ne; n++) {
                const char *wn = wb + (size_t)n * w_row_bytes;
                long r = rb;
                if (dot4)
                    for (; r + 4 <= re; r += 4) dot4(k, wn, xb + (size_t)r * xq_row_bytes, xq_row_bytes, y + r * ldy + n, ldy);
                for (; r < re; r++) y[r * ldy + n] = dot(k, wn, xb + (size_t)r * xq_row_bytes);
            }
        }
    }
}
