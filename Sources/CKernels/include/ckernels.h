// Hot elementwise / row kernels in C: clang vectorizes these loops, and target_clones picks an
// AVX2+FMA build or the baseline x86-64 one at run time (no -march=native anywhere).
#ifndef HEARTH_CKERNELS_H
#define HEARTH_CKERNELS_H
#include <stdint.h>
#include "pool.h"

/// Softmax of n values in place, after multiplying by `scale`.
void hk_softmax(float *x, long n, float scale);
/// Exact-form GELU x·½(1+erf(x/√2)) in place (erf via a 1.2e-7 polynomial).
void hk_gelu(float *x, long n);
/// tanh-approximated GELU ½x(1+tanh(√(2/π)(x+0.044715x³))) in place (PyTorch approximate="tanh").
void hk_gelu_tanh(float *x, long n);
/// SiLU x·σ(x) in place.
void hk_silu(float *x, long n);
/// LayerNorm of `rows` rows of n values (beta may be NULL); x and y may alias.
void hk_layernorm(const float *x, float *y, long rows, long n, const float *gamma, const float *beta, float eps);
/// RMSNorm of `rows` rows of n values; x and y may alias.
void hk_rmsnorm(const float *x, float *y, long rows, long n, const float *gamma, float eps);
/// log-softmax of n values into out (may alias x); −inf stays −inf.
void hk_log_softmax(const float *x, float *out, long n);
/// x += y
void hk_add(float *x, const float *y, long n);
/// x *= y
void hk_mul(float *x, const float *y, long n);
/// x[i] = (float)(_Float16)x[i]
void hk_round_half(float *x, long n);
/// Σ a·b
float hk_dot(const float *a, const float *b, long n);
/// y += alpha·x
void hk_axpy(float *y, const float *x, float alpha, long n);
/// IEEE half → float.
void hk_f16_to_f32(const uint16_t *src, float *dst, long n);


/// Y(m, ldy)[:, n0..<n1] = X(m, k) · W[n0..<n1]ᵀ for a float16 weight W (n, k): the decode-time
/// product (few rows, weight-bandwidth bound), converting each weight row once for all m rows.
void hk_matmul_f16(const float *x, long m, long k, const uint16_t *w, long n0, long n1, float *y, long ldy);
#endif
