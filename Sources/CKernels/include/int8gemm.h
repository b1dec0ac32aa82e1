// Grouped int8 matrix products through oneDNN's integer GEMM: weights and activations are
// quantized with one scale per row and per group of `group` consecutive values along k (see
// int8gemm.c). With group = k this is CTranslate2's per-row int8.
#ifndef HEARTH_INT8GEMM_H
#define HEARTH_INT8GEMM_H
#include <stdint.h>

/// 1 when the oneDNN path is used on this CPU: it needs AVX-512 VNNI, whose byte products
/// (vpdpbusd) never saturate; elsewhere Hearth keeps its own exact q8_0 kernels.
int hk_int8_available(void);

/// m rows of k floats (row stride ldx) → k/group scales per row (scale[r·groups + g] = amax/127
/// of that group) and q = x/scale rounded half away from zero, in −127…127, stored as q + 128
/// (unsigned, what the u8·s8 kernels take). k must be a multiple of group.
void hk_int8_quantize_rows_u8(const float *x, long m, long k, long ldx, long group, uint8_t *q, float *scale);

/// The same for weights, stored signed.
void hk_int8_quantize_rows_s8(const float *x, long m, long k, long ldx, long group, int8_t *q, float *scale);

/// y(m, ldy)[:, n0..<n1] = Σ_g (a_g · w_gᵀ) · a_scale[r, g] · w_scale[c, g]: a (m, k) from
/// hk_int8_quantize_rows_u8, w (n, k) signed, both with the same group. Runs on the calling
/// thread (oneDNN told to use one); callers split columns across workers. Returns 0, or
/// oneDNN's error status.
int hk_int8_matmul(const uint8_t *a, const float *a_scale, long m, long k, long group,
                   const int8_t *w, const float *w_scale, long n0, long n1, float *y, long ldy);
#endif
