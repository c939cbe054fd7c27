/*
 * nn.h: the neural-network kernels the Transformer generator (decoder, causal)
 * and discriminator (encoder, bidirectional) are built from. Each layer is a
 * pair <layer>_forward / <layer>_backward with one argument order: outputs,
 * buffers kept for the backward pass, inputs, parameters, then sizes.
 *
 * Conventions
 * - Tensors are dense row-major float arrays; the comment on each function
 *   gives every shape in the size letters below.
 * - Backward passes ADD into parameter gradients and into input gradients
 *   (dinp += ...); the training step zeroes them, so accumulation over
 *   micro-batches comes free. The one exception is the loss at the head of the
 *   chain, nn_crossentropy_backward, which WRITES dlogits (it may overwrite the
 *   logits in place).
 * - Nothing allocates inside forward or backward: scratch comes from buffers
 *   the caller passes, each documented with its size.
 * - Results do not depend on the thread count for our own loops (each output
 *   element is summed in a fixed order); with OpenBLAS they are repeatable at
 *   a fixed thread count.
 * - Shape mismatches are programmer errors: TG_ASSERT (core.h) prints both
 *   values with file and line and aborts.
 *
 * Size letters
 *   B   batch (sequences)
 *   T   time steps (tokens per sequence)
 *   C   channels (model width, d_model)
 *   H   attention heads; D = C / H channels per head
 *   V   vocabulary size
 *   OC  output channels of a linear layer
 *   R   rows of a relative-position table: T_max for a causal model (distances
 *       -(T_max-1)..0), 2*T_max-1 for a bidirectional one (-(T_max-1)..T_max-1)
 *   N   number of elements of an elementwise kernel
 */
#ifndef TG_NN_H
#define TG_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"
#include "tunegan.h"

/* ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------ */
/* exp for the elementwise kernels: glibc's expf is a call the compiler cannot
 * vectorise without -ffast-math, and it dominated GELU. This one is plain C
 * that GCC turns into vector code inside a loop: Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r (Cephes's expf
 * coefficients) and 2^n put into the exponent bits. Relative error within
 * 2e-7 of expf (a few ulp; tests/test_nn_fast.c checks it) for x in
 * [-87.3, 88.37]; inputs beyond are clamped (so it never returns inf or 0:
 * e^-87.3 = 1.2e-38, e^88.37 = 2.4e38; 2^n must stay a normal float); NaN
 * gives NaN (through the polynomial; the exponent bits take n = 0 then, as
 * converting a NaN to an integer and shifting the result is undefined). */
static inline float nn_expf_fast(float x)
{
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.37f ? 88.37f : x;
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (round to nearest even) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f; /* ln2 = 0.693359375 - 2.12194440e-4, in two pieces */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } two_n;
    n = n == n ? n : 0.0f;
    two_n.i = ((int32_t)n + 127) << 23;
    return p * two_n.f;
}

/* Elementwise and row-wise loops with fewer elements than this stay on the
 * calling thread: waking the team and its closing barrier cost more than the
 * work (decoding one token runs dozens of such loops; on a loaded machine a
 * barrier can wait a whole time slice for a descheduled thread). */
enum { NN_PAR_MIN = 1 << 15 };

/* ------------------------------------------------------------------------ */
/* Threads and BLAS (matmul.c) */

/* Sets the number of threads the kernels use to n (n <= 0: one per core).
 * This is the only process-wide setting of the nn module: OpenMP and OpenBLAS
 * keep their thread counts in their own global state, so call it once at
 * start-up (from --threads), before any kernel runs, and not from inside a
 * parallel region. With OpenMP there is one pool of n threads: OpenBLAS is
 * set to one thread and nn_matmul shares each large product out over the
 * OpenMP threads itself, so BLAS threads and ours never compete for cores
 * (two pools did, badly, on a loaded 2-core machine). Without OpenMP,
 * OpenBLAS gets the n threads. */
void nn_set_threads(int n);
/* The number of threads our parallel loops use (1 without OpenMP). */
int nn_get_threads(void);
/* Writes a line describing the matrix-product backend into buf and returns buf:
 * e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64 (core Zen,
 * 2 threads)" or "plain loops (2 OpenMP threads)". */
const char *nn_blas_info(char *buf, size_t size);

/* The OpenBLAS core type this CPU should use when OpenBLAS picked a weak one
 * (an SSE-era kernel on a CPU with AVX2 or AVX-512): "SkylakeX" or "Haswell";
 * NULL when its choice is fine or there is no OpenBLAS. The caller decides what
 * to do (the command line sets OPENBLAS_CORETYPE and runs itself again). */
const char *nn_blas_better_coretype(void);
/* The decision itself, for tests: current core name and the CPU's features. */
const char *nn_blas_coretype_for(const char *current, bool avx512, bool avx2);

/* ------------------------------------------------------------------------ */
/* Matrix products (matmul.c)
 *
 * BLAS-shaped, row-major (cblas_sgemm with CblasRowMajor):
 *   C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C
 * With OpenMP, a large product is cut along the larger of M and N into one
 * piece per thread, each a serial BLAS call: results are repeatable at a
 * fixed thread count (not across counts).
 * op(X) = X when trans_x is 0, X transposed when it is 1. A is stored (M,K)
 * with leading dimension lda >= K, or (K,M) with lda >= M when transposed;
 * likewise B (K,N) / (N,K); ldc >= N. When beta is 0, C is not read (NaNs in
 * it do not propagate), as in BLAS. */
void nn_matmul(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The plain-loop twin: always compiled, the reference in tests and the
 * backend when built without BLAS. Packed 4x16 register tiles, OpenMP over
 * (row block, column block) tiles; each element is summed in the same order
 * whatever the thread count, so its results do not depend on it. */
void nn_matmul_plain(int trans_a, int trans_b, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc);
/* The same plain loops on the calling thread only: for use inside our own
 * parallel loops (attention runs one of these per batch x head). */
void nn_matmul_serial(int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc);
/* The same product as nn_matmul computed on the calling thread only (serial
 * BLAS, or nn_matmul_serial without BLAS): for use inside our own parallel
 * loops. Its result does not depend on the thread count. */
void nn_matmul_local(int trans_a, int trans_b, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc);
/* count products: C + i*stride_c = alpha * op(A + i*stride_a) op(B + i*stride_b)
 * + beta * (C + i*stride_c), i = 0..count-1. Through BLAS one call per product;
 * with plain loops the products are shared out over the threads. */
void nn_matmul_batched(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, ptrdiff_t stride_a, const float *B, int ldb,
                       ptrdiff_t stride_b, float beta, float *C, int ldc, ptrdiff_t stride_c,
                       int count);

/* ------------------------------------------------------------------------ */
/* Mixed precision (bf16.c, matvec_bf16.c)
 *
 * bf16 (bfloat16): the top half of an IEEE float, 8 exponent bits and 7
 * stored mantissa bits (8 significant bits: rounding to it has a relative
 * error of at most 2^-8). Products take bf16 inputs and sum in fp32: a dot
 * product of length K of rounded inputs a~ b~ differs from the fp32 one by
 * at most about 2^-7 * sum |a_k b_k| in the worst case, and by about
 * 2^-8 * sqrt(K) * rms(a_k b_k) for random signs (tests/test_bf16.c). fp32 stays the reference: bf16 runs only when chosen. */

typedef uint16_t nn_bf16;

/* Round to nearest even; a NaN stays a (quiet) NaN, infinities stay. */
static inline nn_bf16 nn_bf16_from_f32(float x)
{
    union {
        float f;
        uint32_t u;
    } v = {x};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (nn_bf16)((v.u >> 16) | 0x40u);
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (nn_bf16)(v.u >> 16);
}
static inline float nn_bf16_to_f32(nn_bf16 h)
{
    union {
        uint32_t u;
        float f;
    } v = {(uint32_t)h << 16};
    return v.f;
}
/* out (n) = in (n) rounded; widened back (exact). */
void nn_bf16_from_f32_n(nn_bf16 *out, const float *in, size_t n);
void nn_bf16_to_f32_n(float *out, const nn_bf16 *in, size_t n);

/* The CPU's bf16 instructions (cpuid, and the OS's saving of AVX-512 state),
 * asked once; TUNEGAN_NO_BF16=1 in the environment reports none (to try the
 * fp32 fallback and the skipped tests on a machine that has bf16). */
typedef struct {
    bool avx512_bf16; /* vdpbf16ps, vcvtne2ps2bf16 (AMD Zen 4, Intel Cooper Lake on) */
    bool amx_bf16;    /* AMX tiles with bf16 (Intel Sapphire Rapids on) */
} nn_bf16_cpu;
nn_bf16_cpu nn_bf16_cpu_features(void);
/* bf16 products can run here: built with oneDNN and the CPU has one of the two. */
bool nn_bf16_available(void);

typedef enum { NN_PRECISION_AUTO = 0, NN_PRECISION_FP32 = 1, NN_PRECISION_BF16 = 2 } nn_precision;
const char *nn_precision_name(nn_precision p); /* "auto", "fp32", "bf16" */
tg_status nn_precision_parse(const char *text, nn_precision *p); /* TG_ERR_ARG if unknown */
/* What a request becomes on this machine (auto: bf16 when available), with
 * the reason in why: "precision auto: bf16 (avx512_bf16, no amx; oneDNN 2.6.3)". */
nn_precision nn_precision_resolve(nn_precision want, char *why, size_t why_size);
/* The process-wide precision new models take (model_create), set once at
 * start-up like nn_set_threads; fp32 until set. TG_ERR_UNSUPPORTED for bf16
 * where it is not available. p must not be AUTO (resolve it first). */
tg_status nn_set_precision(nn_precision p);
nn_precision nn_get_precision(void);
/* "avx512_bf16, no amx; oneDNN 2.6.3" */
const char *nn_bf16_info(char *buf, size_t size);

/* C (M,N) fp32 = alpha op(A) op(B) + beta C with A, B in bf16, summed in
 * fp32; shapes and leading dimensions as nn_matmul's. Through oneDNN (its
 * threads are ours: the OpenMP team); the reference below without it. */
void nn_matmul_bf16(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const nn_bf16 *A, int lda, const nn_bf16 *B, int ldb, float beta, float *C,
                    int ldc);
/* The reference: serial, inputs widened exactly, sums in double. */
void nn_matmul_bf16_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                        const nn_bf16 *A, int lda, const nn_bf16 *B, int ldb, float beta,
                        float *C, int ldc);

/* The linear layer with bf16 weights: out (B,T,OC) fp32 = inp (B,T,C) w^T
 * + bias; inp is rounded to bf16 into cast (B*T*C) first. */
void nn_linear_forward_bf16(float *out, nn_bf16 *cast, const float *inp, const nn_bf16 *w,
                            const float *bias, int B, int T, int C, int OC);
/* The backward pass with bf16 products into fp32 gradients: dinp (B,T,C) =
 * dout w (WRITTEN, as nn_linear_backward_into; NULL: skipped), dw (OC,C) +=
 * dout^T inp, dbias (OC) += column sums of dout (fp32). cast_out
 * (B*T*OC) and cast_in (B*T*C) are scratch for the rounded dout and inp. */
void nn_linear_backward_bf16(float *dinp, float *dw, float *dbias, nn_bf16 *cast_out,
                             nn_bf16 *cast_in, const float *dout, const float *inp,
                             const nn_bf16 *w, int B, int T, int C, int OC);

/* The few-rows linear layer with bf16 weights (matvec_bf16.c), nn_matvec's
 * contract and epilogues: out (B,OC) = inp (B,C) w^T + bias, inp rounded to
 * bf16, sums in fp32. AVX512-BF16 (vdpbf16ps) where the CPU has it, else a
 * plain loop that widens the weights. */
void nn_matvec_bf16(float *out, const float *inp, const nn_bf16 *w, const float *bias, int B,
                    int C, int OC, int flags);
/* The plain loop (the reference of the vector kernel; the same rounding of inp). */
void nn_matvec_bf16_plain(float *out, const float *inp, const nn_bf16 *w, const float *bias,
                          int B, int C, int OC, int flags);

/* Attention over a bf16 key/value cache (attend_bf16.c), for decoding.
 * Logits: out[r*ldo + j] = q_r . K[j] for g queries (row r at q + r*ldq, D
 * floats, rounded to bf16) and n keys K (n, D) in bf16, summed in fp32
 * (vdpbf16ps where the CPU has it). A key's logit has the same bits
 * whatever n, g and the first key are (a prefix cut anywhere). */
void nn_attn_logits_bf16(float *out, size_t ldo, const float *q, size_t ldq, int g,
                         const nn_bf16 *K, int n, int D);
void nn_attn_logits_bf16_plain(float *out, size_t ldo, const float *q, size_t ldq, int g,
                               const nn_bf16 *K, int n, int D);
/* Weighted sums of g rows sharing n1 values V1 (n1, D): o[r] (D) =
 * sum_j a[r][j] V1[j] + sum_j a[r][n1 + j] V2[r][j] (n2 rows of D each),
 * values widened to fp32, fused multiply-adds in the order of the rows:
 * row r's bits are those of g = 1 and of the plain loop (fmaf). */
void nn_attn_values_bf16(float *const *o, const float *const *a, const nn_bf16 *V1, int n1,
                         const nn_bf16 *const *V2, int n2, int D, int g);
void nn_attn_values_bf16_plain(float *const *o, const float *const *a, const nn_bf16 *V1, int n1,
                               const nn_bf16 *const *V2, int n2, int D, int g);

/* ------------------------------------------------------------------------ */
/* The linear layer for a few rows (matvec.c): decoding one token of 1..16
 * sequences, where reading the weights is the cost. Each block of rows of w
 * is read once for up to 2 input rows (again from cache for more), with
 * AVX-512 or AVX2 FMA kernels chosen at run time and a plain-loop fallback.
 * Large products (>= 1M multiply-adds) share w's rows out over the threads;
 * every output element is summed by one thread in a fixed order, so results
 * do not depend on the thread count. */

/* Epilogue flags of nn_matvec (at most one of them). */
enum {
    NN_MV_GELU = 1, /* out = gelu(inp w^T + bias), nn_gelu_forward's bits */
    NN_MV_ADD = 2   /* out += inp w^T + bias (a residual branch) */
};
typedef enum { NN_ISA_PLAIN = 0, NN_ISA_AVX2 = 1, NN_ISA_AVX512 = 2 } nn_matvec_isa;

/* out (B,OC) = inp (B,C) w^T + bias (OC, or NULL), then the epilogue;
 * w (OC,C) as nn_linear_forward's. out must not overlap inp. */
void nn_matvec(float *out, const float *inp, const float *w, const float *bias, int B, int C,
               int OC, int flags);
/* The same with a chosen kernel (tests); an ISA the build or CPU lacks must
 * not be asked for (see nn_matvec_best_isa). */
void nn_matvec_isa_run(nn_matvec_isa isa, float *out, const float *inp, const float *w,
                       const float *bias, int B, int C, int OC, int flags);
/* The best kernel this CPU runs, and its name ("avx512", "avx2", "plain"). */
nn_matvec_isa nn_matvec_best_isa(void);
const char *nn_matvec_isa_name(nn_matvec_isa isa);
/* The reference: serial, dot products summed in double, GELU with expf. */
void nn_matvec_ref(float *out, const float *inp, const float *w, const float *bias, int B, int C,
                   int OC, int flags);

/* ------------------------------------------------------------------------ */
/* Layers (layers.c) */

/* Token embedding plus optional learned absolute position embedding:
 * out (B,T,C) = wte[tokens[b,t]] + wpe[t]; tokens (B,T) in [0,V); wte (V,C);
 * wpe (T_max,C) with T <= T_max, or NULL (relative attention needs none). */
void nn_embedding_forward(float *out, const int *tokens, const float *wte, const float *wpe,
                          int B, int T, int C, int V);
/* dwte (V,C) += scatter of dout (B,T,C) by token; dwpe (T_max,C) += sum over b,
 * skipped when NULL. */
void nn_embedding_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                           int B, int T, int C, int V);

/* LayerNorm over the last axis, eps = 1e-5 (PyTorch's default):
 * out (B,T,C) = (inp - mean) * rstd * weight + bias; keeps mean (B,T) and
 * rstd (B,T) = 1/sqrt(var + eps) for the backward pass. weight, bias (C). */
void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int B, int T, int C);
/* dinp (B,T,C), dweight (C), dbias (C) += ... */
void nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int B, int T, int C);
/* The references (serial scalar loops, sums in double in channel order; the
 * kernels above keep 8 partial sums per row, rowops.c): the forward pass, and
 * the backward pass's dinp (B,T,C) += ... alone. */
void nn_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp,
                              const float *weight, const float *bias, int B, int T, int C);
void nn_layernorm_backward_ref(float *dinp, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int B,
                               int T, int C);

/* GELU's constants (the tanh approximation below). */
#define NN_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define NN_GELU_A 0.044715f

/* The bias step of both linear layers (fp32 and bf16 products): out (BT,OC)
 * += bias (OC) on every row; dbias (OC) += the column sums of dout (BT,OC),
 * each column summed in row order (the same bits at any thread count). */
void nn_bias_forward(float *out, const float *bias, int BT, int OC);
void nn_bias_backward(float *dbias, const float *dout, int BT, int OC);
/* Linear layer as PyTorch's nn.Linear: out (B,T,OC) = inp (B,T,C) w^T + bias,
 * with w (OC,C) and bias (OC) or NULL. */
void nn_linear_forward(float *out, const float *inp, const float *w, const float *bias, int B,
                       int T, int C, int OC);
/* dinp (B,T,C) += dout w; dw (OC,C) += dout^T inp; dbias (OC) += column sums of
 * dout. dinp may be NULL (first layer, nothing upstream), dbias NULL when
 * there is no bias. */
void nn_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                        const float *inp, const float *w, int B, int T, int C, int OC);
/* The same, but WRITES dinp (not NULL; it is not read, so it needs no
 * zeroing first): dinp = dout w. The same values as zeroing dinp and calling
 * nn_linear_backward (tests). */
void nn_linear_backward_into(float *dinp, float *dw, float *dbias, const float *dout,
                             const float *inp, const float *w, int B, int T, int C, int OC);

/* GELU, the tanh approximation used by GPT-2 and by PyTorch's
 * nn.GELU(approximate="tanh"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * Smooth everywhere (no kink). out (N) may equal inp. */
void nn_gelu_forward(float *out, const float *inp, size_t N);
/* dinp (N) += gelu'(inp) * dout */
void nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t N);
/* In place, for a gradient buffer nothing else needs: d (N) = gelu'(inp) * d.
 * The same values as nn_gelu_backward into zeros (tests). */
void nn_gelu_backward_inplace(float *d, const float *inp, size_t N);
/* The references: the same formulas with glibc's expf, serial. nn_gelu_forward
 * and _backward use nn_expf_fast and agree with these to a few ulp (tests). */
void nn_gelu_forward_ref(float *out, const float *inp, size_t N);
void nn_gelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t N);

/* Residual connection: out (N) = inp1 + inp2. */
void nn_residual_forward(float *out, const float *inp1, const float *inp2, size_t N);
/* dinp1 (N) += dout; dinp2 (N) += dout */
void nn_residual_backward(float *dinp1, float *dinp2, const float *dout, size_t N);

/* Inverted dropout: keeps each element with probability 1-p and scales kept
 * ones by 1/(1-p), so nothing changes at evaluation time. The keep mask (N,
 * 1 = kept) is drawn from rng, one draw per element in order, and kept for the
 * backward pass. p = 0 is the identity and draws nothing (mask set to all
 * ones, or left out: mask may be NULL when p = 0); p must be < 1. out may
 * equal inp. */
void nn_dropout_forward(float *out, uint8_t *mask, const float *inp, float p, tg_rng *rng,
                        size_t N);
/* dinp (N) += dout * mask / (1-p) */
void nn_dropout_backward(float *dinp, const float *dout, const uint8_t *mask, float p, size_t N);

/* ------------------------------------------------------------------------ */
/* Multi-head self-attention (attention.c)
 *
 * qkv (B,T,3C) is the fused output of one linear layer: q in columns [0,C),
 * k in [C,2C), v in [2C,3C); head h uses columns h*D..h*D+D-1 of each.
 * out (B,T,C) holds the heads side by side in the same way.
 *
 * Logits of head h, query i, key j (Music Transformer, Huang et al. 2018,
 * https://arxiv.org/abs/1809.04281, section 3.4):
 *     logit_ij = (q_i . k_j + q_i . E_h[j - i]) / sqrt(D)
 * where the relative term is present only when rel is not NULL.
 * causal = 1: keys j > i are masked (decoder); causal = 0: every key is seen
 * (bidirectional encoder). lengths (B) or NULL: keys j >= lengths[b] are masked
 * too (right padding), 1 <= lengths[b] <= T.
 *
 * Relative table rel (H,R,D): one embedding per head and per distance. Row
 * z + r holds distance r = j - i, where z = R-1 for a causal model (R = T_max,
 * r in [-(T_max-1), 0]) and z = (R-1)/2 for a bidirectional one (R = 2*T_max-1,
 * r in [-(T_max-1), T_max-1]); sequences shorter than T_max use the rows around
 * z. Per head rather than shared: each head can learn its own profile over
 * distance (one the previous beat, another the previous bar) as in the paper
 * and in Tensor2Tensor's default; the cost is H*R*D = C*R parameters a layer.
 *
 * The relative term is computed with the paper's skewing procedure: QE^T
 * (T, R_used) by one matrix product, then the (T,T) term is read from it as
 * the padded-reshaped-sliced view (row stride R_used-1), so the extra memory
 * is O(T*R) like the logits, never O(T*T*D).
 */

/* Floats of scratch nn_attention_forward and _backward need (one buffer can
 * serve both and every layer): B*H*T*T without a relative table, B*H*T*R_used
 * with one, R_used = T (causal) or 2T-1 (bidirectional). */
size_t nn_attention_scratch_floats(int B, int T, int H, int has_rel, int causal);

/* out (B,T,C); att (B,H,T,T) softmax probabilities kept for backward (masked
 * entries 0); scratch, see nn_attention_scratch_floats (unused without rel,
 * may then be NULL); qkv (B,T,3C); rel (H,R,D) or NULL; lengths (B) or NULL. */
void nn_attention_forward(float *out, float *att, float *scratch, const float *qkv,
                          const float *rel, const int *lengths, int B, int T, int C, int H,
                          int R, int causal);
/* dqkv (B,T,3C) += ...; drel (H,R,D) += ... (NULL when rel is NULL); scratch
 * as above (overwritten); dout (B,T,C); the rest as in the forward pass. */
void nn_attention_backward(float *dqkv, float *drel, float *scratch, const float *dout,
                           const float *qkv, const float *rel, const float *att,
                           const int *lengths, int B, int T, int C, int H, int R, int causal);

/* The naive reference (attention_ref.c): the same function computed pair by
 * pair, serially, with double sums; the relative term gathers the O(T*T*D)
 * tensor Er[i][j] = E[j - i] for one head at a time, as the paper's naive
 * version does. For tests only. scratch: T*T*D floats. */
void nn_attention_naive_forward(float *out, float *att, float *scratch, const float *qkv,
                                const float *rel, const int *lengths, int B, int T, int C,
                                int H, int R, int causal);
void nn_attention_naive_backward(float *dqkv, float *drel, float *scratch, const float *dout,
                                 const float *qkv, const float *rel, const float *att,
                                 const int *lengths, int B, int T, int C, int H, int R,
                                 int causal);

/* ------------------------------------------------------------------------ */
/* Fine- and coarse-grained bar attention (fcattn.c, fcattn_ref.c): Museformer's
 * FC-attention (Yu et al., NeurIPS 2022, https://arxiv.org/abs/2210.10349),
 * causal only.
 *
 * Bars come from the tokens: bar[t] = the number of Bar tokens at positions
 * 0..t, so a Bar token opens the bar it belongs to and the tokens before the
 * first Bar (BOS, a header, or the end of a bar a window starts inside) form
 * bar 0. start[k] is the first position of bar k (start[n_bars] = T; bar 0 is
 * empty, start[0] = start[1] = 0, when position 0 is a Bar).
 *
 * Who sees whom (keys j <= i of query i, in bars K = bar[j], J = bar[i]):
 * - the Bar token opening bar J >= 1 is the SUMMARY of bar J-1: it sees the
 *   tokens of bar J-1 and itself, nothing else;
 * - any other token sees its own bar (K == J), every token of the bars d
 *   back for d in the distance set (J-K in distances: fine-grained), and the
 *   first token of every other earlier bar (j == start[K]: coarse-grained,
 *   one summary per bar, the Bar tokens and position 0).
 * The first token of each bar is thus both the summary of the bar before
 * and, for the tokens after it, part of their own bar.
 *
 * Positions: logit_ij = (q_i.k_j + q_i.E_h[row(i,j)]) / sqrt(D) with a
 * clipped relative table of R = near + NN_FC_BAR_ROWS rows per head: row
 * i-j for token distances below near, beyond that row near + min(J-K,
 * NN_FC_BAR_ROWS-1), one row per bar distance. The table's size does not grow
 * with the context (an exact table at 8192 tokens would be 8192 rows a layer).
 *
 * Cost: the queries of a bar share their keys (but for the causal part of
 * their own bar), so the kernel gathers them once per block of a bar's
 * queries and uses matrix products: O(keys) per query, never O(T). The probabilities are
 * not kept: the forward pass keeps the log-sum-exp of each row, (B,H,T), and
 * the backward pass recomputes the probabilities from it (as FlashAttention
 * does), so memory is O(B*H*T) and not O(B*H*T*T). */

enum { NN_FC_BAR_ROWS = 64, NN_FC_MAX_DISTANCE = 63 };

/* The bar structure of a batch and the attention's shape rule. */
typedef struct {
    const int *bar;      /* (B,T) bar of every position */
    const int *start;    /* (B,T+2) first position of each bar, start[n_bars] = T */
    const int *n_bars;   /* (B) bars of each sequence (bar 0 counted) */
    uint64_t distances;  /* bit d (1..NN_FC_MAX_DISTANCE): bars d back are seen in full */
    int near;            /* token distances with their own table row */
} nn_fc_plan;

/* Fills bar (T), start (T+2) and *n_bars of one sequence from its tokens. */
void nn_fc_bars(int *bar, int *start, int *n_bars, const int *tokens, int T, int bar_token);
/* The keys of query i of sequence b (T positions), increasing, into keys
 * (at most i+1 of them); returns how many. */
int nn_fc_keys(const nn_fc_plan *p, int b, int T, int i, int *keys);
/* Whether query i sees key j (the rule above, pair by pair, for references). */
bool nn_fc_visible(const nn_fc_plan *p, int b, int T, int i, int j);
/* The relative table row of the pair (i,j), j <= i. */
int nn_fc_rel_row(const nn_fc_plan *p, int b, int T, int i, int j);
/* Rows of the table for a given near: near + NN_FC_BAR_ROWS. */
int nn_fc_rows(int near);

/* Floats of scratch for nn_fc_attention_forward and _backward (D = C/H,
 * R = nn_fc_rows(near)): per head 4*T*D + 128*T + 128*R. */
size_t nn_fc_scratch_floats(int T, int H, int D, int R);
/* out (B,T,C); lse (B,H,T) log-sum-exp of each scaled logit row, kept for
 * backward; keys (H*T ints) and scratch (nn_fc_scratch_floats) work space;
 * qkv (B,T,3C); rel (H,R,D), R = nn_fc_rows(p->near). */
void nn_fc_attention_forward(float *out, float *lse, int *keys, float *scratch, const float *qkv,
                             const float *rel, const nn_fc_plan *p, int B, int T, int C, int H);
/* dqkv (B,T,3C) += ...; drel (H,R,D) += ...; dout (B,T,C); out and lse of
 * the forward pass; keys and scratch as there. */
void nn_fc_attention_backward(float *dqkv, float *drel, int *keys, float *scratch,
                              const float *dout, const float *qkv, const float *rel,
                              const float *out, const float *lse, const nn_fc_plan *p, int B,
                              int T, int C, int H);
/* The dense reference (fcattn_ref.c): plain softmax attention over every
 * earlier key with the keys nn_fc_visible refuses masked to -inf, in double,
 * serial; the backward recomputes the probabilities densely and needs no
 * saved state. For tests only. lse may be NULL. */
void nn_fc_dense_forward(float *out, float *lse, const float *qkv, const float *rel,
                         const nn_fc_plan *p, int B, int T, int C, int H);
void nn_fc_dense_backward(float *dqkv, float *drel, const float *dout, const float *qkv,
                          const float *rel, const nn_fc_plan *p, int B, int T, int C, int H);

/* ------------------------------------------------------------------------ */
/* Row kernels (rowops.c): attention's softmax rows, vectorised (16 partial
 * sums in a fixed order, the same bits on every CPU), each with its plain
 * scalar reference for the tests. */

/* row[0..n) = softmax(row[0..n) * scale), 1 <= n <= total; row[n..total) = 0. */
void nn_softmax_row(float *row, int n, int total, float scale);
void nn_softmax_row_ref(float *row, int n, int total, float scale);
/* The softmax's backward on one row: g[0..n) = a * (g - sum_j a_j g_j) * scale
 * (a the probabilities, g their gradient in, the logits' gradient out);
 * g[n..total) = 0. */
void nn_softmax_row_backward(float *g, const float *a, int n, int total, float scale);
void nn_softmax_row_backward_ref(float *g, const float *a, int n, int total, float scale);

/* One row of LayerNorm (C channels), for nn_layernorm_forward: o, *mean,
 * *rstd as there. */
void nn_layernorm_row(float *o, float *mean, float *rstd, const float *x, const float *weight,
                      const float *bias, int C, double eps);
/* One row of nn_layernorm_backward's dinp (C) += ... */
void nn_layernorm_row_backward(float *dinp, const float *dout, const float *x,
                               const float *weight, float m, float s, int C);

/* ------------------------------------------------------------------------ */
/* Output head: fused softmax cross-entropy (loss.c) */

/* losses (B,T) = -log softmax(logits[b,t])[targets[b,t]], 0 where the target
 * is ignore_index; logits (B,T,V); targets (B,T) in [0,V) or ignore_index.
 * Returns the mean over non-ignored targets (0 when all are ignored) and
 * writes their count to *n_valid when n_valid is not NULL. */
float nn_crossentropy_forward(float *losses, const float *logits, const int *targets,
                              int ignore_index, int *n_valid, int B, int T, int V);
/* WRITES dlogits (B,T,V) = (softmax(logits) - onehot(target)) * w[b,t], where
 * w = dlosses[b,t] when dlosses (B,T) is given (e.g. REINFORCE weights), else
 * 1/n_valid (the gradient of the mean); rows with an ignored target get 0.
 * dlogits may equal logits (in place). */
void nn_crossentropy_backward(float *dlogits, const float *logits, const int *targets,
                              const float *dlosses, int ignore_index, int B, int T, int V);

/* ------------------------------------------------------------------------ */
/* Optimisation (optim.c) */

/* AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
 * https://arxiv.org/abs/1711.05101), in PyTorch's torch.optim.AdamW form:
 *   param *= 1 - lr * weight_decay              (only when decay is 1)
 *   m = beta1 m + (1-beta1) g;  v = beta2 v + (1-beta2) g^2
 *   param -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)
 * The decay is decoupled from the gradient and scaled by the scheduled lr.
 * The caller says per tensor whether it is decayed; the plan: weights of
 * linear layers decayed; biases, LayerNorm parameters, embeddings and
 * relative tables not. step t counts from 1. */
typedef struct {
    float lr;
    float beta1, beta2; /* 0.9, 0.95 or 0.999 */
    float eps;          /* 1e-8 */
    float weight_decay; /* applied only to tensors updated with decay = 1 */
} nn_adamw_hparams;

/* param, m, v (N) updated in place; grad (N). */
void nn_adamw_update(float *param, float *m, float *v, const float *grad,
                     const nn_adamw_hparams *hp, int step, int decay, size_t N);
/* The same with the plain scalar loop (the reference). nn_adamw_update runs
 * AVX-512 or AVX2 kernels when the CPU has them (chosen at run time), with
 * the same operations in the same order: the same bits (tests). */
void nn_adamw_update_ref(float *param, float *m, float *v, const float *grad,
                         const nn_adamw_hparams *hp, int step, int decay, size_t N);

/* Sum of squares of g (N) in double, summed in a fixed order (64 fixed
 * chunks), so the result does not depend on the thread count. */
double nn_sum_squares(const float *g, size_t N);
/* Global gradient-norm clipping over one flat gradient block g (N): returns
 * the L2 norm before clipping and, when it exceeds max_norm > 0, scales g by
 * max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). max_norm <= 0:
 * only the norm. */
float nn_clip_grad_norm(float *g, size_t N, float max_norm);

/* Learning rate at step (counting from 0): linear warm-up
 * lr_max * (step+1) / warmup_steps for step < warmup_steps, then cosine decay
 * from lr_max at step = warmup_steps to lr_min at step = total_steps - 1, and
 * lr_min after. A pure function of its arguments. */
float nn_lr_schedule(int step, int warmup_steps, int total_steps, float lr_max, float lr_min);

#endif /* TG_NN_H */
