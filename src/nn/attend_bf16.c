/*
 * attend_bf16.c: attention of decoding over a key/value cache held in bf16
 * (src/model/decode.c, for bf16 models): the logits q . k_j of queries
 * against cached keys, and the weighted sums of cached values. A token of
 * batch-16 decoding spent about 40 % of its time here with an fp32 cache
 * (bench/RESULTS.md, issue 17/19 round three), reading every key and value
 * of its row; in bf16 these reads are half the bytes.
 *
 * Logits: the query is rounded to bf16 in registers (vcvtne2ps2bf16) and
 * each step multiplies 32 pairs into 16 fp32 sums (vdpbf16ps), as
 * matvec_bf16.c does for weights. Keys go in blocks of 8 rows whose sums
 * are folded together (reduce8); a last block of fewer rows repeats its
 * last row to fill the 8, so that a key's logit has the same bits wherever
 * the keys are cut (a shared prefix then the row's own keys, or one run
 * over a copied prefix; tests/test_cache_share.c compares them bit for bit).
 *
 * Values: widened to fp32 (a shift, exactly) and summed with fp32 fused
 * multiply-adds, column by column in the order of the rows: the plain loop
 * (fmaf) and the AVX-512 kernel give the same bits, and a group of rows
 * sharing a prefix's values reads them once for 4 rows at a time with each
 * row's bits those of a row alone.
 *
 * Chosen at run time: AVX512-BF16 where the CPU has it (a bf16 model cannot
 * be chosen elsewhere, see precision.c), else the plain loops, which are
 * also the tests' reference.
 */
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include "bf16_x86.h"
#define NN_ATB_X86 1
#endif

#include "nn.h"

/* ------------------------------------------------------------------------ */
/* Plain loops */

static void logits_plain(float *out, size_t ldo, const float *q, size_t ldq, int g,
                         const nn_bf16 *K, int n, int D)
{
    for (int r = 0; r < g; r++) {
        const float *x = q + (size_t)r * ldq;
        for (int j = 0; j < n; j++) {
            const nn_bf16 *k = K + (size_t)j * D;
            float acc = 0.0f;
            for (int d = 0; d < D; d++)
                acc += nn_bf16_to_f32(nn_bf16_from_f32(x[d])) * nn_bf16_to_f32(k[d]);
            out[(size_t)r * ldo + j] = acc;
        }
    }
}

void nn_attn_values_bf16_plain(float *const *o, const float *const *a, const nn_bf16 *V1, int n1,
                               const nn_bf16 *const *V2, int n2, int D, int g)
{
    for (int r = 0; r < g; r++)
        for (int d = 0; d < D; d++) {
            float acc = 0.0f;
            for (int j = 0; j < n1; j++) acc = fmaf(a[r][j], nn_bf16_to_f32(V1[(size_t)j * D + d]), acc);
            for (int j = 0; j < n2; j++)
                acc = fmaf(a[r][n1 + j], nn_bf16_to_f32(V2[r][(size_t)j * D + d]), acc);
            o[r][d] = acc;
        }
}

#ifdef NN_ATB_X86
/* ------------------------------------------------------------------------ */
/* AVX512-BF16 */

#define ATB_TARGET NN_BF16_TARGET

enum { ATB_DMAX = 512 }; /* head sizes the vector logits take (the query in registers' worth) */

/* One query (nv steps of 32, rounded) against keys j0..j0+7 (rows past n-1
 * repeat row n-1); out[j] for the rows below n. */
ATB_TARGET __attribute__((always_inline)) static inline void
logits_block8(float *out, const __m512bh *xv, int nv, const nn_bf16 *K, int j0, int n, int D)
{
    const nn_bf16 *row[8];
    for (int i = 0; i < 8; i++) row[i] = K + (size_t)(j0 + i < n ? j0 + i : n - 1) * D;
    __m512 acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
    for (int s = 0; s < nv; s++) {
        const int k = 32 * s;
        const __mmask32 m = D - k >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (D - k)) - 1u);
        for (int i = 0; i < 8; i++) {
            __m512bh kv = (__m512bh)_mm512_maskz_loadu_epi16(m, row[i] + k);
            acc[i] = _mm512_dpbf16_ps(acc[i], kv, xv[s]);
        }
    }
    __m256 y = nn_reduce8x16(acc);
    if (n - j0 >= 8) {
        _mm256_storeu_ps(out + j0, y);
    } else {
        _mm256_mask_storeu_ps(out + j0, (__mmask8)((1u << (n - j0)) - 1u), y);
    }
}

ATB_TARGET static void logits_avx512bf16(float *out, size_t ldo, const float *q, size_t ldq, int g,
                                         const nn_bf16 *K, int n, int D)
{
    const int nv = (D + 31) / 32;
    __m512bh xv[ATB_DMAX / 32];
    for (int r = 0; r < g; r++) {
        const float *x = q + (size_t)r * ldq;
        for (int s = 0; s < nv; s++) {
            const int k = 32 * s;
            const __mmask32 m = D - k >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (D - k)) - 1u);
            __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, x + k);
            __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), x + k + 16);
            xv[s] = _mm512_cvtne2ps_pbh(hi, lo);
        }
        float *o = out + (size_t)r * ldo;
        if (nv == 2) /* the common head size 64: the step count as a constant */
            for (int j0 = 0; j0 < n; j0 += 8) logits_block8(o, xv, 2, K, j0, n, D);
        else
            for (int j0 = 0; j0 < n; j0 += 8) logits_block8(o, xv, nv, K, j0, n, D);
    }
}

/* 16 values of row v from column c (mask m), widened to fp32 exactly. */
ATB_TARGET static inline __m512 widen16(const nn_bf16 *v, __mmask16 m)
{
    __m256i h = _mm256_maskz_loadu_epi16(m, v);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Weighted sums of nr (1..4) rows over columns d0..d0+63: V1 for all of
 * them, then each row's own V2[r]. acc = fma(w, v, acc) per column, rows
 * in order: fmaf's bits. */
ATB_TARGET __attribute__((always_inline)) static inline void
values_block(float *const *o, const float *const *a, const nn_bf16 *V1, int n1,
             const nn_bf16 *const *V2, int n2, int D, int d0, int nr)
{
    __mmask16 m[4];
    __m512 acc[4][4];
    for (int c = 0; c < 4; c++) {
        const int left = D - d0 - 16 * c;
        m[c] = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
        for (int r = 0; r < nr; r++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int j = 0; j < n1; j++) {
        const nn_bf16 *v = V1 + (size_t)j * D + d0;
        __m512 vv[4];
        for (int c = 0; c < 4; c++) vv[c] = widen16(v + 16 * c, m[c]);
        for (int r = 0; r < nr; r++) {
            const __m512 w = _mm512_set1_ps(a[r][j]);
            for (int c = 0; c < 4; c++) acc[r][c] = _mm512_fmadd_ps(w, vv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < nr; r++) {
        for (int j = 0; j < n2; j++) {
            const nn_bf16 *v = V2[r] + (size_t)j * D + d0;
            const __m512 w = _mm512_set1_ps(a[r][n1 + j]);
            for (int c = 0; c < 4; c++) acc[r][c] = _mm512_fmadd_ps(w, widen16(v + 16 * c, m[c]), acc[r][c]);
        }
        for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(o[r] + d0 + 16 * c, m[c], acc[r][c]);
    }
}

ATB_TARGET static void values_avx512(float *const *o, const float *const *a, const nn_bf16 *V1,
                                     int n1, const nn_bf16 *const *V2, int n2, int D, int g)
{
    for (int d0 = 0; d0 < D; d0 += 64) {
        int r = 0;
        for (; r + 4 <= g; r += 4) values_block(o + r, a + r, V1, n1, V2 + r, n2, D, d0, 4);
        for (; r < g; r++) values_block(o + r, a + r, V1, n1, V2 + r, n2, D, d0, 1);
    }
}
#endif

/* ------------------------------------------------------------------------ */

void nn_attn_logits_bf16(float *out, size_t ldo, const float *q, size_t ldq, int g,
                         const nn_bf16 *K, int n, int D)
{
    TG_ASSERT(g >= 0 && n >= 0 && D >= 1);
    if (g == 0 || n == 0) return;
#ifdef NN_ATB_X86
    if (D <= ATB_DMAX && nn_bf16_cpu_features().avx512_bf16) {
        logits_avx512bf16(out, ldo, q, ldq, g, K, n, D);
        return;
    }
#endif
    logits_plain(out, ldo, q, ldq, g, K, n, D);
}

void nn_attn_logits_bf16_plain(float *out, size_t ldo, const float *q, size_t ldq, int g,
                               const nn_bf16 *K, int n, int D)
{
    logits_plain(out, ldo, q, ldq, g, K, n, D);
}

void nn_attn_values_bf16(float *const *o, const float *const *a, const nn_bf16 *V1, int n1,
                         const nn_bf16 *const *V2, int n2, int D, int g)
{
    TG_ASSERT(g >= 1 && n1 >= 0 && n2 >= 0 && D >= 1);
#ifdef NN_ATB_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
        values_avx512(o, a, V1, n1, V2, n2, D, g);
        return;
    }
#endif
    nn_attn_values_bf16_plain(o, a, V1, n1, V2, n2, D, g);
}
