// Per-row int8 products on oneDNN (Debian's libdnnl, C API dnnl_gemm_u8s8s32): its JIT kernels
// pick AVX-512 VNNI / AMX at run time. C_int32 = (A_u8 − 128) · W_s8ᵀ is exact integer
// arithmetic on VNNI (no saturation), then each value is scaled by its row's and column's scale.
// Reference: CTranslate2 src/ops/quantize_cpu.cc (per-row amax/127 scales) and
// src/cpu/primitives.cc gemm_s8 (oneDNN / MKL u8·s8 with the 128 shift).
#include "int8gemm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

void omp_set_num_threads(int);   // libgomp, which libdnnl is built with

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

int hk_int8_available(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

// 16 running maxima so the loop vectorizes without fast-math
static float row_scale(const float *x, long k) {
    float m[16] = {0};
    long i = 0;
    for (; i + 16 <= k; i += 16)
        for (int j = 0; j < 16; j++) { const float a = fabsf(x[i + j]); m[j] = a > m[j] ? a : m[j]; }
    float amax = 0;
    for (int j = 0; j < 16; j++) amax = m[j] > amax ? m[j] : amax;
    for (; i < k; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    return amax / 127.0f;
}

// round half away from zero, in a form the vectorizer keeps inline (no libm call)
static inline int round_away(float t) { return (int)(t + copysignf(0.5f, t)); }

CLONES void hk_int8_quantize_rows_u8(const float *x, long m, long k, long ldx, long group, uint8_t *q, float *scale) {
    const long groups = k / group;
    for (long r = 0; r < m; r++)
        for (long g = 0; g < groups; g++) {
            const float *v = x + r * ldx + g * group;
            uint8_t *out = q + r * k + g * group;
            const float s = row_scale(v, group), inv = s != 0 ? 1.0f / s : 0.0f;
            for (long i = 0; i < group; i++) out[i] = (uint8_t)(round_away(v[i] * inv) + 128);
            scale[r * groups + g] = s;
        }
}

CLONES void hk_int8_quantize_rows_s8(const float *x, long m, long k, long ldx, long group, int8_t *q, float *scale) {
    const long groups = k / group;
    for (long r = 0; r < m; r++)
        for (long g = 0; g < groups; g++) {
            const float *v = x + r * ldx + g * group;
            int8_t *out = q + r * k + g * group;
            const float s = row_scale(v, group), inv = s != 0 ? 1.0f / s : 0.0f;
            for (long i = 0; i < group; i++) out[i] = (int8_t)round_away(v[i] * inv);
            scale[r * groups + g] = s;
        }
}

// One int32 buffer per thread, grown as needed (a product's (m, n1 − n0) sums of one group).
static _Thread_local int32_t *t_sums;
static _Thread_local long t_capacity;

static int32_t *sums_buffer(long count) {
    if (count > t_capacity) {
        free(t_sums);
        t_sums = malloc((size_t)count * sizeof(int32_t));
        t_capacity = t_sums ? count : 0;
    }
    return t_sums;
}

int hk_int8_matmul(const uint8_t *a, const float *a_scale, long m, long k, long group,
                   const int8_t *w, const float *w_scale, long n0, long n1, float *y, long ldy) {
    if (m <= 0 || n1 <= n0) return 0;
    omp_set_num_threads(1);
    const long n = n1 - n0, groups = k / group;
    int32_t *c = sums_buffer(m * n);
    if (!c) return -1;
    const int32_t offset = 0;
    for (long g = 0; g < groups; g++) {
        const dnnl_status_t status = dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, group, 1.0f, a + g * group, k, 128,
                                                       w + n0 * k + g * group, k, 0, 0.0f, c, n, &offset);
        if (status != dnnl_success) return (int)status;
        for (long r = 0; r < m; r++) {
            const int32_t *cr = c + r * n;
            float *yr = y + r * ldy + n0;
            const float sa = a_scale[r * groups + g];
            const float *sw = w_scale + n0 * groups + g;
            if (g == 0) for (long j = 0; j < n; j++) yr[j] = (float)cr[j] * (sa * sw[j * groups]);
            else for (long j = 0; j < n; j++) yr[j] += (float)cr[j] * (sa * sw[j * groups]);
        }
    }
    return 0;
}
