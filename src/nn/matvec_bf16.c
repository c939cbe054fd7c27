/*
 * matvec_bf16.c: the linear layer for a few rows (decoding) with bf16
 * weights, out (B,OC) = inp (B,C) w^T + bias, as nn_matvec (matvec.c) but
 * with w in bf16: half the bytes to stream, which is what decoding one token
 * waits on. The inputs are rounded to bf16 in registers (vcvtne2ps2bf16) and
 * each step multiplies 32 pairs with vdpbf16ps into 16 fp32 sums. Like
 * matvec.c, a block of 8 rows of w meets up to 3 input rows (24
 * accumulators) and w is walked in chunks of about 16 KB so that every group
 * of inputs finds the chunk in L1.
 *
 * Chosen at run time: the AVX512-BF16 kernel where the CPU has it, else the
 * plain loop, which widens the weights and is also the tests' reference.
 * oneDNN's matmul (bf16.c) is slower here: its per-call setup is longer than
 * a product of a few rows (bench/matvec.c, bench/RESULTS.md).
 *
 * Left out: AMX tiles for these few rows (the tiles pay off from 16 rows on,
 * where decoding at batch 16 sits; oneDNN could take that over on a Xeon).
 */
#include <math.h>
#include <string.h>

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include "bf16_x86.h"
#define NN_MVB_X86 1
#endif

#include "nn.h"

enum { MVB_RB = 8, MVB_NB = 3, MVB_CHUNK_BYTES = 16384, MVB_PAR_MIN = 1 << 20 };

static inline void store(float *o, float y, const float *bias, int r, int flags)
{
    if (bias) y += bias[r];
    if (flags & NN_MV_ADD) y += *o;
    *o = y;
}

/* nn_gelu_forward's formula in place (the same as matvec.c's epilogue). */
static void gelu_span(float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float v = x[i];
        float u = NN_GELU_K * (v + NN_GELU_A * v * v * v);
        x[i] = v / (1.0f + nn_expf_fast(-2.0f * u));
    }
}

/* ------------------------------------------------------------------------ */
/* Plain loop: rows r0..r1 against inputs b0..b0+nb-1 */

static void mvb_rows_plain(float *out, const float *inp, const nn_bf16 *w, const float *bias,
                           int b0, int nb, int r0, int r1, int C, int OC, int flags)
{
    for (int r = r0; r < r1; r++) {
        const nn_bf16 *wr = w + (size_t)r * C;
        for (int b = b0; b < b0 + nb; b++) {
            const float *x = inp + (size_t)b * C;
            float acc[8] = {0};
            int k = 0;
            for (; k + 8 <= C; k += 8)
                for (int u = 0; u < 8; u++)
                    acc[u] += nn_bf16_to_f32(wr[k + u]) * nn_bf16_to_f32(nn_bf16_from_f32(x[k + u]));
            float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            for (; k < C; k++) s += nn_bf16_to_f32(wr[k]) * nn_bf16_to_f32(nn_bf16_from_f32(x[k]));
            store(out + (size_t)b * OC + r, s, bias, r, flags);
        }
    }
}

#ifdef NN_MVB_X86
/* ------------------------------------------------------------------------ */
/* AVX512-BF16 */

#define MVB_TARGET NN_BF16_TARGET

/* 32 inputs from x (fewer under mask m32: lanes beyond are 0) as bf16 pairs */
MVB_TARGET static inline __m512bh load_x(const float *x, __mmask32 m32)
{
    __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m32, x);
    __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m32 >> 16), x + 16);
    return _mm512_cvtne2ps_pbh(hi, lo);
}

/* rb (1 or 8) rows from r against nb (1..3) inputs from b0, 32 a step. */
MVB_TARGET __attribute__((always_inline)) static inline void
mvb_block(float *out, const float *inp, const nn_bf16 *w, const float *bias, int b0, int nb,
          int r, int rb, int C, int OC, int flags)
{
    __m512 acc[MVB_NB][MVB_RB];
    const float *x = inp + (size_t)b0 * C;
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < rb; i++) acc[j][i] = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 32) {
        __mmask32 m = C - k >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (C - k)) - 1u);
        __m512bh xv[MVB_NB];
        for (int j = 0; j < nb; j++) xv[j] = load_x(x + (size_t)j * C + k, m);
        for (int i = 0; i < rb; i++) {
            const nn_bf16 *wr = w + (size_t)(r + i) * C + k;
            _mm_prefetch((const char *)(wr + (size_t)rb * C), _MM_HINT_T1);
            __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, wr);
            for (int j = 0; j < nb; j++) acc[j][i] = _mm512_dpbf16_ps(acc[j][i], wv, xv[j]);
        }
    }
    for (int j = 0; j < nb; j++) {
        float *o = out + (size_t)(b0 + j) * OC + r;
        if (rb == 8) {
            __m256 y = nn_reduce8x16(acc[j]);
            if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + r));
            if (flags & NN_MV_ADD) y = _mm256_add_ps(y, _mm256_loadu_ps(o));
            _mm256_storeu_ps(o, y);
        } else {
            store(o, _mm512_reduce_add_ps(acc[j][0]), bias, r, flags);
        }
    }
}

#define MVB_ROWS_NB(NB)                                                                   \
    do {                                                                                  \
        int r = r0;                                                                       \
        for (; r + 8 <= r1; r += 8) mvb_block(out, inp, w, bias, b0, NB, r, 8, C, OC, flags); \
        for (; r < r1; r++) mvb_block(out, inp, w, bias, b0, NB, r, 1, C, OC, flags);      \
    } while (0)

MVB_TARGET static void mvb_rows_avx512bf16(float *out, const float *inp, const nn_bf16 *w,
                                           const float *bias, int b0, int nb, int r0, int r1,
                                           int C, int OC, int flags)
{
    if (nb == 1)
        MVB_ROWS_NB(1);
    else if (nb == 2)
        MVB_ROWS_NB(2);
    else
        MVB_ROWS_NB(3);
}
#endif

/* ------------------------------------------------------------------------ */
/* Dispatch, as nn_matvec_isa_run: w's rows shared out over the threads for
 * large products, each output summed by one thread in a fixed order. */

typedef void (*mvb_rows_fn)(float *, const float *, const nn_bf16 *, const float *, int, int, int,
                            int, int, int, int);

/* Rows r0..r1 of w (one thread's share) against every input row. */
static void share_rows(mvb_rows_fn fn, int chunk, float *out, const float *inp, const nn_bf16 *w,
                       const float *bias, int B, int C, int OC, int flags, int r0, int r1)
{
    for (int c0 = r0; c0 < r1; c0 += chunk) {
        int c1 = c0 + chunk < r1 ? c0 + chunk : r1;
        for (int b0 = 0; b0 < B; b0 += MVB_NB)
            fn(out, inp, w, bias, b0, B - b0 < MVB_NB ? B - b0 : MVB_NB, c0, c1, C, OC, flags);
    }
    if (flags & NN_MV_GELU)
        for (int b = 0; b < B; b++) gelu_span(out + (size_t)b * OC + r0, r1 - r0);
}

static void run(mvb_rows_fn fn, float *out, const float *inp, const nn_bf16 *w, const float *bias,
                int B, int C, int OC, int flags)
{
    TG_ASSERT(B >= 1 && C >= 1 && OC >= 1);
    TG_ASSERT(!((flags & NN_MV_GELU) && (flags & NN_MV_ADD)));
    int parts = 1;
#ifdef TG_HAVE_OPENMP
    if (!omp_in_parallel() && (double)B * C * OC >= MVB_PAR_MIN) parts = omp_get_max_threads();
#endif
    int share = ((OC + parts - 1) / parts + MVB_RB - 1) / MVB_RB * MVB_RB;
    parts = (OC + share - 1) / share;
    int chunk = MVB_CHUNK_BYTES / (int)(C * sizeof(nn_bf16)) / MVB_RB * MVB_RB;
    if (chunk < MVB_RB) chunk = MVB_RB;
    if (parts == 1) { /* no parallel region: see nn_matvec_isa_run */
        share_rows(fn, chunk, out, inp, w, bias, B, C, OC, flags, 0, OC);
        return;
    }
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(parts)
#endif
    for (int p = 0; p < parts; p++) {
        int r0 = p * share, r1 = r0 + share < OC ? r0 + share : OC;
        share_rows(fn, chunk, out, inp, w, bias, B, C, OC, flags, r0, r1);
    }
}

void nn_matvec_bf16(float *out, const float *inp, const nn_bf16 *w, const float *bias, int B,
                    int C, int OC, int flags)
{
#ifdef NN_MVB_X86
    if (nn_bf16_cpu_features().avx512_bf16) {
        run(mvb_rows_avx512bf16, out, inp, w, bias, B, C, OC, flags);
        return;
    }
#endif
    run(mvb_rows_plain, out, inp, w, bias, B, C, OC, flags);
}

void nn_matvec_bf16_plain(float *out, const float *inp, const nn_bf16 *w, const float *bias,
                          int B, int C, int OC, int flags)
{
    run(mvb_rows_plain, out, inp, w, bias, B, C, OC, flags);
}
