#include "ckernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

// e^x: Cephes-style range reduction + degree-5 polynomial, relative error < 1e-7.
static inline float fast_expf(float x) {
    x = fminf(fmaxf(x, -87.3f), 88.3f);
    float n = __builtin_roundf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, 4);
    return y * s;
}

// erf(x) = sign(x)(1 − t·exp(−x² + P(t))), t = 1/(1 + |x|/2) (Numerical Recipes erfc fit, |ε| < 1.2e-7).
static inline float fast_erff(float x) {
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.5f * a);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float r = 1.0f - t * fast_expf(-a * a + p);
    return x < 0 ? -r : r;
}

CLONES void hk_softmax(float *x, long n, float scale) {
#pragma clang fp reassociate(on)  // lets clang vectorize the sums
    float m = -INFINITY;
    for (long i = 0; i < n; i++) m = fmaxf(m, x[i]);
    if (m == -INFINITY) { for (long i = 0; i < n; i++) x[i] = 0; return; }
    // Float sums of 64-value blocks, added in double: summed in one scalar chain (UBSan's checks stop
    // the vectorizer), 1500 float terms drift by ~7e-6 relative; blocks keep either order accurate.
    float shift = m * scale;
    double sum = 0;
    for (long start = 0; start < n; start += 64) {
        long end = start + 64 < n ? start + 64 : n;
        float block = 0;
        for (long i = start; i < end; i++) {
            float v = x[i] == -INFINITY ? 0.0f : fast_expf(x[i] * scale - shift);
            x[i] = v;
            block += v;
        }
        sum += block;
    }
    float inv = (float)(1.0 / sum);
    for (long i = 0; i < n; i++) x[i] *= inv;
}

CLONES void hk_gelu(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + fast_erff(x[i] * 0.70710678118654752f));
}

// tanh-approximated GELU (PyTorch gelu(approximate="tanh"), HF "gelu_pytorch_tanh"; SigLIP):
// ½x(1 + tanh(√(2/π)(x + 0.044715x³))), tanh(u) = 1 − 2/(e^{2u} + 1).
CLONES void hk_gelu_tanh(float *x, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
        float t = 1.0f - 2.0f / (fast_expf(2.0f * u) + 1.0f);
        x[i] = 0.5f * v * (1.0f + t);
    }
}

CLONES void hk_silu(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] / (1.0f + fast_expf(-x[i]));
}

CLONES void hk_layernorm(const float *x, float *y, long rows, long n, const float *gamma, const float *beta, float eps) {
#pragma clang fp reassociate(on)  // lets clang vectorize the sums
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        // Two passes with double sums: a row offset by 1000 summed in float in one chain (UBSan's
        // checks stop the vectorizer) reaches 1e6, where a float ulp is 0.06 — a mean off by ~1e-3.
        double sum = 0, squares = 0;
        for (long i = 0; i < n; i++) sum += xr[i];
        // The mean stays in double too: rounded to float (ulp 6e-5 at 1000) it would shift every x − mean.
        double mean = sum / (double)n;
        for (long i = 0; i < n; i++) { double d = xr[i] - mean; squares += d * d; }
        float inv = (float)(1.0 / sqrt(squares / (double)n + eps));
        if (beta) for (long i = 0; i < n; i++) yr[i] = (float)(xr[i] - mean) * inv * gamma[i] + beta[i];
        else for (long i = 0; i < n; i++) yr[i] = (float)(xr[i] - mean) * inv * gamma[i];
    }
}

CLONES void hk_rmsnorm(const float *x, float *y, long rows, long n, const float *gamma, float eps) {
#pragma clang fp reassociate(on)  // lets clang vectorize the sums
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float ss = 0;
        for (long i = 0; i < n; i++) ss += xr[i] * xr[i];
        float inv = 1.0f / sqrtf(ss / (float)n + eps);
        for (long i = 0; i < n; i++) yr[i] = xr[i] * inv * gamma[i];
    }
}

CLONES void hk_add(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) x[i] += y[i];
}

CLONES void hk_mul(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) x[i] *= y[i];
}

CLONES void hk_round_half(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = (float)(_Float16)x[i];
}

CLONES float hk_dot(const float *a, const float *b, long n) {
#pragma clang fp reassociate(on)  // lets clang vectorize the sums
    float s = 0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

CLONES void hk_axpy(float *y, const float *x, float alpha, long n) {
    for (long i = 0; i < n; i++) y[i] += alpha * x[i];
}

CLONES void hk_f16_to_f32(const uint16_t *src, float *dst, long n) {
    // `src` may be unaligned (CTranslate2 packs tensors at any byte offset): load through memcpy,
    // which compiles to plain unaligned loads, instead of dereferencing (UB, trapped by UBSan).
    const unsigned char *bytes = (const unsigned char *)src;
    for (long i = 0; i < n; i++) {
        _Float16 h;
        memcpy(&h, bytes + 2 * i, sizeof h);
        dst[i] = (float)h;
    }
}

CLONES void hk_matmul_f16(const float *x, long m, long k, const uint16_t *w, long n0, long n1, float *y, long ldy) {
#pragma clang fp reassociate(on)  // lets clang vectorize the sums
    float row[k];
    for (long n = n0; n < n1; n++) {
        const _Float16 *wn = (const _Float16 *)(w + n * k);
        for (long i = 0; i < k; i++) row[i] = (float)wn[i];
        for (long r = 0; r < m; r++) {
            const float *xr = x + r * k;
            float s = 0;
            for (long i = 0; i < k; i++) s += row[i] * xr[i];
            y[r * ldy + n] = s;
        }
    }
}

CLONES void hk_log_softmax(const float *x, float *out, long n) {
    float m = -INFINITY;
    for (long i = 0; i < n; i++) m = fmaxf(m, x[i]);
    if (m == -INFINITY) { for (long i = 0; i < n; i++) out[i] = -INFINITY; return; }
    float sum = 0;
    {
#pragma clang fp reassociate(on)  // lets clang vectorize the sum
        for (long i = 0; i < n; i++) sum += x[i] == -INFINITY ? 0.0f : fast_expf(x[i] - m);
    }
    float log_sum = logf(sum);
    for (long i = 0; i < n; i++) out[i] = (x[i] - m) - log_sum;  // subtract m first: exact for large logits
}
