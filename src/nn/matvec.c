/*
 * matvec.c: the linear layer for a few rows at a time (decoding: one new
 * token of 1..16 sequences), out (B,OC) = inp (B,C) w^T + bias, with an
 * optional epilogue (GELU, or adding into out for the residual stream).
 *
 * Decoding one token is bound by reading the weights: each (OC,C) matrix is
 * used for B dot products per row, so the work is to stream w once and keep
 * the B input rows in registers. sgemm packs w into its panel layout on
 * every call first (a copy of the whole matrix for 16 rows of output), and
 * sgemv serves one vector only. Here a block of 8 rows of w is read and
 * multiplied with up to 3 input rows (AVX-512: 24 vector accumulators; AVX2:
 * 2 rows, 16): w is taken in chunks of about 16 KB of rows, and every group
 * of inputs passes over a chunk while it is in L1, so w comes from memory
 * once whatever B is (bench/matvec.c: 56 -> 71 GFLOP/s at B = 16 on one
 * AVX-512 core, where sgemm reaches 51).
 *
 * Three kernels with the same summation order within a vector lane: AVX-512
 * and AVX2 with FMA, chosen at run time (__builtin_cpu_supports) and compiled
 * with target attributes so a build without -march=native has them too, and
 * the plain loop, which is also the reference for tests. Each output element
 * is computed by one thread in a fixed order, so results do not depend on the
 * thread count (they differ from the plain reference by rounding only).
 *
 * Left out: reduced-precision weights (they would change the samples), and
 * any row count that is not small (nn_linear_forward's sgemm is better there).
 */
#include <math.h>
#include <string.h>

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NN_MV_X86 1
#endif

#include "nn.h"

enum {
    MV_RB = 8, /* rows of w per block */
    MV_NB_AVX2 = 2,   /* input rows per pass over a block: 16 of 16 registers */
    MV_NB_AVX512 = 3, /* 24 of 32 */
    MV_CHUNK_BYTES = 16384
};

/* ------------------------------------------------------------------------ */
/* The epilogue, shared by every kernel: y is the finished dot product. GELU
 * runs afterwards over whole rows (gelu_span), where it vectorises. */

static inline void store(float *o, float y, const float *bias, int r, int flags)
{
    if (bias) y += bias[r];
    if (flags & NN_MV_ADD) y += *o;
    *o = y;
}

/* nn_gelu_forward's formula, serial, in place: the same bits as that kernel
 * (no contraction into FMA under -std=c11, the same operations per lane). */
static void gelu_span(float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float v = x[i];
        float u = NN_GELU_K * (v + NN_GELU_A * v * v * v);
        x[i] = v / (1.0f + nn_expf_fast(-2.0f * u));
    }
}

/* ------------------------------------------------------------------------ */
/* Plain loops: rows r0..r1 of w against inputs b0..b0+nb-1. */

static void mv_rows_plain(float *out, const float *inp, const float *w, const float *bias,
                          int b0, int nb, int r0, int r1, int C, int OC, int flags)
{
    for (int r = r0; r < r1; r++) {
        const float *wr = w + (size_t)r * C;
        for (int b = b0; b < b0 + nb; b++) {
            const float *x = inp + (size_t)b * C;
            /* eight partial sums, one vector register when the compiler vectorises */
            float acc[8] = {0};
            int k = 0;
            for (; k + 8 <= C; k += 8)
                for (int u = 0; u < 8; u++) acc[u] += wr[k + u] * x[k + u];
            float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            for (; k < C; k++) s += wr[k] * x[k];
            store(out + (size_t)b * OC + r, s, bias, r, flags);
        }
    }
}

#ifdef NN_MV_X86
/* ------------------------------------------------------------------------ */
/* AVX2 and AVX-512. A block is 8 rows of w against nb = 1 or 2 inputs: 8 or
 * 16 independent accumulators, each row streamed once. The 8 sums of one
 * input are reduced together (a transpose by horizontal adds) into one vector
 * of 8 outputs, to which bias and the residual are added as vectors. While a
 * block is computed, the next one (the following 8 rows, contiguous) is
 * prefetched into L2, a line per row and step: rows of 1-4 KB are too short
 * for the hardware prefetcher to get going (+30% at batch 1 with the weights
 * in L3, bench/RESULTS.md). */

#define MV_AVX2 __attribute__((target("avx2,fma")))
#define MV_AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Lane sums of a[0..7] as one vector: out[i] = sum of the lanes of a[i]. */
MV_AVX2 static inline __m256 reduce8(const __m256 a[8])
{
    __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
    __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
    __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
    /* q0 = [s0 s1 s2 s3 | s0' s1' s2' s3'] (low and high 128-bit halves) */
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

/* The lane sum of v in reduce8's order, ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)),
 * so that a row's result does not depend on whether it was computed in a
 * block of 8 or alone: a product over rows cut in two places gives the bits
 * of the whole (the shared rollout prefix of decode.c relies on it). */
MV_AVX2 static inline float hsum256(__m256 v)
{
    __m256 h = _mm256_hadd_ps(v, v);
    h = _mm256_hadd_ps(h, h);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    return _mm_cvtss_f32(s);
}

/* The 8 outputs o[0..7] of rows r..r+7 from their sums. */
MV_AVX2 static inline void store8(float *o, __m256 y, const float *bias, int r, int flags)
{
    if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + r));
    if (flags & NN_MV_ADD) y = _mm256_add_ps(y, _mm256_loadu_ps(o));
    _mm256_storeu_ps(o, y);
}

/* The last lanes of a row: mask of the first n < 8 lanes. */
MV_AVX2 static inline __m256i tail_mask8(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* rb (1 or 8) rows from r, nb (1 or 2) inputs from b0, 8 floats a step. */
MV_AVX2 __attribute__((always_inline)) static inline void
mv_block_avx2(float *out, const float *inp, const float *w, const float *bias, int b0, int nb,
              int r, int rb, int C, int OC, int flags)
{
    __m256 acc[2][8];
    const float *x0 = inp + (size_t)b0 * C, *x1 = x0 + (nb > 1 ? C : 0);
    for (int i = 0; i < rb; i++) acc[0][i] = acc[1][i] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= C; k += 8) {
        __m256 xa = _mm256_loadu_ps(x0 + k), xb = _mm256_loadu_ps(x1 + k);
        for (int i = 0; i < rb; i++) {
            const float *wr = w + (size_t)(r + i) * C + k;
            if ((k & 15) == 0) _mm_prefetch((const char *)(wr + (size_t)rb * C), _MM_HINT_T1);
            __m256 wv = _mm256_loadu_ps(wr);
            acc[0][i] = _mm256_fmadd_ps(wv, xa, acc[0][i]);
            if (nb > 1) acc[1][i] = _mm256_fmadd_ps(wv, xb, acc[1][i]);
        }
    }
    if (k < C) {
        __m256i m = tail_mask8(C - k);
        __m256 xa = _mm256_maskload_ps(x0 + k, m), xb = _mm256_maskload_ps(x1 + k, m);
        for (int i = 0; i < rb; i++) {
            __m256 wv = _mm256_maskload_ps(w + (size_t)(r + i) * C + k, m);
            acc[0][i] = _mm256_fmadd_ps(wv, xa, acc[0][i]);
            if (nb > 1) acc[1][i] = _mm256_fmadd_ps(wv, xb, acc[1][i]);
        }
    }
    for (int j = 0; j < nb; j++) {
        float *o = out + (size_t)(b0 + j) * OC + r;
        if (rb == 8)
            store8(o, reduce8(acc[j]), bias, r, flags);
        else
            store(o, hsum256(acc[j][0]), bias, r, flags);
    }
}

/* The same with 16 floats a step and up to 3 inputs (24 accumulators of the
 * 32 registers); the 16-lane sums are folded to 8 lanes before the common
 * reduction. */
MV_AVX512 __attribute__((always_inline)) static inline void
mv_block_avx512(float *out, const float *inp, const float *w, const float *bias, int b0, int nb,
                int r, int rb, int C, int OC, int flags)
{
    __m512 acc[3][8];
    const float *x = inp + (size_t)b0 * C;
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < rb; i++) acc[j][i] = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 16) {
        __mmask16 m = C - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - k)) - 1u);
        __m512 xv[3];
        for (int j = 0; j < nb; j++) xv[j] = _mm512_maskz_loadu_ps(m, x + (size_t)j * C + k);
        for (int i = 0; i < rb; i++) {
            const float *wr = w + (size_t)(r + i) * C + k;
            _mm_prefetch((const char *)(wr + (size_t)rb * C), _MM_HINT_T1);
            __m512 wv = _mm512_maskz_loadu_ps(m, wr);
            for (int j = 0; j < nb; j++) acc[j][i] = _mm512_fmadd_ps(wv, xv[j], acc[j][i]);
        }
    }
    for (int j = 0; j < nb; j++) {
        __m256 half[8];
        for (int i = 0; i < rb; i++)
            half[i] = _mm256_add_ps(_mm512_castps512_ps256(acc[j][i]),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[j][i]), 1)));
        float *o = out + (size_t)(b0 + j) * OC + r;
        if (rb == 8)
            store8(o, reduce8(half), bias, r, flags);
        else
            store(o, hsum256(half[0]), bias, r, flags);
    }
}

/* Rows r0..r1 in blocks of 8, the rest one by one, with the sizes as
 * constants so that the loops above unroll into registers. */
#define MV_ROWS_NB(kern, NB)                                                             \
    do {                                                                                 \
        int r = r0;                                                                      \
        for (; r + 8 <= r1; r += 8) kern(out, inp, w, bias, b0, NB, r, 8, C, OC, flags);  \
        for (; r < r1; r++) kern(out, inp, w, bias, b0, NB, r, 1, C, OC, flags);          \
    } while (0)
#define MV_ROWS(kern)                                                                    \
    do {                                                                                 \
        if (nb == 1)                                                                     \
            MV_ROWS_NB(kern, 1);                                                         \
        else if (nb == 2)                                                                \
            MV_ROWS_NB(kern, 2);                                                         \
        else                                                                             \
            MV_ROWS_NB(kern, 3);                                                         \
    } while (0)

MV_AVX512 static void mv_rows_avx512(float *out, const float *inp, const float *w,
                                     const float *bias, int b0, int nb, int r0, int r1, int C,
                                     int OC, int flags)
{
    MV_ROWS(mv_block_avx512);
}

MV_AVX2 static void mv_rows_avx2(float *out, const float *inp, const float *w, const float *bias,
                                 int b0, int nb, int r0, int r1, int C, int OC, int flags)
{
    if (nb == 1)
        MV_ROWS_NB(mv_block_avx2, 1);
    else
        MV_ROWS_NB(mv_block_avx2, 2);
}
#endif /* NN_MV_X86 */

/* ------------------------------------------------------------------------ */
/* Dispatch */

typedef void (*mv_rows_fn)(float *, const float *, const float *, const float *, int, int, int,
                           int, int, int, int);

static mv_rows_fn kernel_for(nn_matvec_isa isa)
{
#ifdef NN_MV_X86
    if (isa == NN_ISA_AVX512) return mv_rows_avx512;
    if (isa == NN_ISA_AVX2) return mv_rows_avx2;
#endif
    (void)isa;
    return mv_rows_plain;
}

nn_matvec_isa nn_matvec_best_isa(void)
{
#ifdef NN_MV_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return NN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return NN_ISA_AVX2;
#endif
    return NN_ISA_PLAIN;
}

const char *nn_matvec_isa_name(nn_matvec_isa isa)
{
    return isa == NN_ISA_AVX512 ? "avx512" : isa == NN_ISA_AVX2 ? "avx2" : "plain";
}

/* Rows of w per thread: a multiple of the block, so every share but the
 * last runs whole blocks. Products under NN_MV_PAR_MIN multiply-adds stay on
 * the calling thread (a token of one sequence: waking the team for a 64K
 * product costs more than it saves). */
enum { NN_MV_PAR_MIN = 1 << 20 };

/* Rows r0..r1 of w (one thread's share) against every input row. */
static void mv_share(mv_rows_fn fn, int nb, int chunk, float *out, const float *inp, const float *w,
                     const float *bias, int B, int C, int OC, int flags, int r0, int r1)
{
    for (int c0 = r0; c0 < r1; c0 += chunk) {
        int c1 = c0 + chunk < r1 ? c0 + chunk : r1;
        for (int b0 = 0; b0 < B; b0 += nb)
            fn(out, inp, w, bias, b0, B - b0 < nb ? B - b0 : nb, c0, c1, C, OC, flags);
    }
    if (flags & NN_MV_GELU)
        for (int b = 0; b < B; b++) gelu_span(out + (size_t)b * OC + r0, r1 - r0);
}

void nn_matvec_isa_run(nn_matvec_isa isa, float *out, const float *inp, const float *w,
                       const float *bias, int B, int C, int OC, int flags)
{
    TG_ASSERT(B >= 1 && C >= 1 && OC >= 1);
    TG_ASSERT(!((flags & NN_MV_GELU) && (flags & NN_MV_ADD)));
    mv_rows_fn fn = kernel_for(isa);
    const int nb = isa == NN_ISA_AVX512 ? MV_NB_AVX512 : MV_NB_AVX2;
    int parts = 1;
#ifdef TG_HAVE_OPENMP
    if (!omp_in_parallel() && (double)B * C * OC >= NN_MV_PAR_MIN) parts = omp_get_max_threads();
#endif
    int share = ((OC + parts - 1) / parts + MV_RB - 1) / MV_RB * MV_RB;
    parts = (OC + share - 1) / share;
    int chunk = MV_CHUNK_BYTES / (int)(C * sizeof(float)) / MV_RB * MV_RB;
    if (chunk < MV_RB) chunk = MV_RB;
    if (parts == 1) {
        /* no parallel region at all: inside another one's team of one thread
         * (attention in decode.c at one thread), even an inactive nested
         * region costs libgomp a futex call per product */
        mv_share(fn, nb, chunk, out, inp, w, bias, B, C, OC, flags, 0, OC);
        return;
    }
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(parts)
#endif
    for (int p = 0; p < parts; p++) {
        int r0 = p * share, r1 = r0 + share < OC ? r0 + share : OC;
        mv_share(fn, nb, chunk, out, inp, w, bias, B, C, OC, flags, r0, r1);
    }
}

void nn_matvec(float *out, const float *inp, const float *w, const float *bias, int B, int C,
               int OC, int flags)
{
    /* asked every call (a few nanoseconds): no cached global */
    nn_matvec_isa_run(nn_matvec_best_isa(), out, inp, w, bias, B, C, OC, flags);
}

void nn_matvec_ref(float *out, const float *inp, const float *w, const float *bias, int B, int C,
                   int OC, int flags)
{
    TG_ASSERT(B >= 1 && C >= 1 && OC >= 1);
    TG_ASSERT(!((flags & NN_MV_GELU) && (flags & NN_MV_ADD)));
    for (int b = 0; b < B; b++)
        for (int r = 0; r < OC; r++) {
            const float *wr = w + (size_t)r * C, *x = inp + (size_t)b * C;
            double s = 0.0;
            for (int k = 0; k < C; k++) s += (double)wr[k] * x[k];
            float y = (float)s;
            if (bias) y += bias[r];
            if (flags & NN_MV_GELU) nn_gelu_forward_ref(&y, &y, 1);
            if (flags & NN_MV_ADD) y += out[(size_t)b * OC + r];
            out[(size_t)b * OC + r] = y;
        }
}
