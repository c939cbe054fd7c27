/*
 * bf16.c: mixed precision. bfloat16 numbers (the top 16 bits of an IEEE
 * float: 8 exponent bits, 7 stored mantissa bits), the CPU's bf16 features,
 * the run's precision choice, and the bf16 matrix product with fp32
 * accumulation: C (fp32) = alpha op(A) op(B) + beta C with A and B in bf16.
 *
 * The product goes through oneDNN's matmul primitive (Debian's libdnnl-dev,
 * the library PyTorch's CPU autocast uses): it dispatches AMX tiles on a
 * Xeon that has them and vdpbf16ps (AVX512-BF16) on an EPYC; bench/gemm.c
 * measured it against OpenBLAS's sgemm and against the fp32 wrapper on the
 * project's shapes (bench/RESULTS.md). Our own AVX512-BF16 kernel is the
 * matrix-vector product of decoding (matvec_bf16.c), where oneDNN's
 * per-call setup costs more than the product.
 *
 * Precision is a process-wide setting like the thread count (nn_set_threads):
 * chosen once at start-up from --precision and the CPU, read by model_create.
 * fp32 stays the reference everywhere: nothing here runs unless bf16 was
 * chosen.
 *
 * Left out: bf16 attention products (QK^T, att V; fp32, they are a small
 * share of a step at the presets' sizes) and bf16 activations kept between
 * layers (the casts are re-done where a product needs them).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif
#ifdef TG_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "nn.h"

/* ------------------------------------------------------------------------ */
/* Conversions */

void nn_bf16_from_f32_n(nn_bf16 *out, const float *in, size_t n)
{
    ptrdiff_t N = (ptrdiff_t)n;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for simd schedule(static) if (n >= NN_PAR_MIN && !omp_in_parallel())
#endif
    for (ptrdiff_t i = 0; i < N; i++) out[i] = nn_bf16_from_f32(in[i]);
}

void nn_bf16_to_f32_n(float *out, const nn_bf16 *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = nn_bf16_to_f32(in[i]);
}

/* ------------------------------------------------------------------------ */
/* CPU features */

static nn_bf16_cpu detect(void)
{
    nn_bf16_cpu f = {false, false};
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    bool avx512f = (b >> 16) & 1;
    bool amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
    /* leaf 7 subleaf 1, eax bit 5: AVX512_BF16 (vcvtne2ps2bf16, vdpbf16ps) */
    unsigned a1 = 0, b1, c1, d1;
    if (a >= 1) __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    /* the OS must save the AVX-512 state: XCR0 bits 5-7 (opmask, ZMM) and 1-2 */
    unsigned long long xcr0 = 0;
    unsigned ca = 0, cb = 0, cc = 0, cd = 0;
    __get_cpuid(1, &ca, &cb, &cc, &cd);
    if ((cc >> 27) & 1) { /* OSXSAVE */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
    f.avx512_bf16 = avx512f && os_avx512 && ((a1 >> 5) & 1);
    /* AMX: the CPU bits; the tile state is enabled per process by the OS on
     * request (oneDNN asks for it with arch_prctl before it uses tiles). */
    f.amx_bf16 = amx_bf16 && amx_tile && os_avx512;
#endif
    return f;
}

/* Asked once: cpuid traps to the hypervisor in a virtual machine (about a
 * microsecond), and decoding asks before every product. */
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;
static nn_bf16_cpu g_cpu;
/* TUNEGAN_NO_BF16 (set and not empty) makes this CPU count as one without
 * bf16, so that the fallback to fp32 and the skipped tests can be tried on
 * any machine (`TUNEGAN_NO_BF16=1 ctest`). */
static void detect_once(void)
{
    const char *off = getenv("TUNEGAN_NO_BF16");
    if (off && *off) return; /* g_cpu stays all false */
    g_cpu = detect();
}

nn_bf16_cpu nn_bf16_cpu_features(void)
{
    pthread_once(&g_cpu_once, detect_once);
    return g_cpu;
}

/* ------------------------------------------------------------------------ */
/* The precision setting */

static nn_precision g_precision = NN_PRECISION_FP32; /* set once, like the thread count */

const char *nn_precision_name(nn_precision p)
{
    switch (p) {
    case NN_PRECISION_AUTO: return "auto";
    case NN_PRECISION_FP32: return "fp32";
    case NN_PRECISION_BF16: return "bf16";
    }
    return "?";
}

tg_status nn_precision_parse(const char *text, nn_precision *p)
{
    for (int i = NN_PRECISION_AUTO; i <= NN_PRECISION_BF16; i++)
        if (strcmp(text, nn_precision_name((nn_precision)i)) == 0) {
            *p = (nn_precision)i;
            return TG_OK;
        }
    return TG_ERR_ARG;
}

bool nn_bf16_available(void)
{
#ifdef TG_HAVE_DNNL
    nn_bf16_cpu f = nn_bf16_cpu_features();
    return f.avx512_bf16 || f.amx_bf16;
#else
    return false;
#endif
}

/* "avx512_bf16, no amx; oneDNN 2.6.3" */
static void describe(char *buf, size_t size)
{
    nn_bf16_cpu f = nn_bf16_cpu_features();
#ifdef TG_HAVE_DNNL
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, size, "%s, %s; oneDNN %d.%d.%d", f.avx512_bf16 ? "avx512_bf16" : "no avx512_bf16",
             f.amx_bf16 ? "amx_bf16" : "no amx", v->major, v->minor, v->patch);
#else
    snprintf(buf, size, "%s, %s; built without oneDNN",
             f.avx512_bf16 ? "avx512_bf16" : "no avx512_bf16", f.amx_bf16 ? "amx_bf16" : "no amx");
#endif
}

nn_precision nn_precision_resolve(nn_precision want, char *why, size_t why_size)
{
    char feat[128];
    describe(feat, sizeof feat);
    nn_precision got = want;
    if (want == NN_PRECISION_AUTO) got = nn_bf16_available() ? NN_PRECISION_BF16 : NN_PRECISION_FP32;
    if (why && why_size)
        snprintf(why, why_size, "precision %s: %s (%s)", nn_precision_name(want),
                 nn_precision_name(got), feat);
    return got;
}

tg_status nn_set_precision(nn_precision p)
{
    TG_ASSERT(p != NN_PRECISION_AUTO);
    if (p == NN_PRECISION_BF16 && !nn_bf16_available()) return TG_ERR_UNSUPPORTED;
    g_precision = p;
    return TG_OK;
}

nn_precision nn_get_precision(void) { return g_precision; }

/* ------------------------------------------------------------------------ */
/* The reference product: bf16 inputs widened to fp32 exactly, sums in double. */

void nn_matmul_bf16_ref(int ta, int tb, int M, int N, int K, float alpha, const nn_bf16 *A,
                        int lda, const nn_bf16 *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                float a = nn_bf16_to_f32(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
                float b = nn_bf16_to_f32(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                s += (double)a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = (float)(alpha * s) + (beta == 0.0f ? 0.0f : beta * *c);
        }
}

/* ------------------------------------------------------------------------ */
/* oneDNN */

#ifdef TG_HAVE_DNNL
/* One CPU engine and one in-order stream for the process, made on first use.
 * Primitives are kept in a small table keyed by the product's shape, so a
 * training step's few dozen shapes are set up once (creating a primitive
 * descriptor costs tens of microseconds; oneDNN's own cache starts after it).
 * Their scratch memory (packed panels) is ours, one buffer grown to the
 * largest need, shared by all of them: left to oneDNN, every cached
 * primitive kept its own, and a small-preset training step's peak memory
 * went from 475 to 837 MB. Products run one at a time (the lock). */
enum { PRIM_SLOTS = 64 };

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, threads;
    float alpha, beta;
} prim_key;

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    prim_key keys[PRIM_SLOTS];
    dnnl_primitive_t prims[PRIM_SLOTS];
    dnnl_memory_desc_t scratch_md[PRIM_SLOTS];
    int used, next;
    void *scratch; /* shared scratchpad, scratch_bytes */
    size_t scratch_bytes;
} g_dnnl = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static void dnnl_start(void)
{
    if (dnnl_engine_create(&g_dnnl.engine, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&g_dnnl.stream, g_dnnl.engine, dnnl_stream_default_flags) !=
        dnnl_success) {
        dnnl_engine_destroy(g_dnnl.engine);
        g_dnnl.engine = NULL;
    }
}

/* A 2-D bf16 or f32 matrix (rows, cols) stored row-major with leading
 * dimension ld, or its transpose view when trans is 1. */
static void md_2d(dnnl_memory_desc_t *md, int rows, int cols, int ld, int trans,
                  dnnl_data_type_t dt)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
    TG_ASSERT(dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides) == dnnl_success);
}

static dnnl_primitive_t make_prim(const prim_key *k, dnnl_memory_desc_t *scratch_md)
{
    dnnl_memory_desc_t a, b, c;
    md_2d(&a, k->M, k->K, k->lda, k->ta, dnnl_bf16);
    md_2d(&b, k->K, k->N, k->ldb, k->tb, dnnl_bf16);
    md_2d(&c, k->M, k->N, k->ldc, 0, dnnl_f32);
    dnnl_matmul_desc_t desc;
    TG_ASSERT(dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c) == dnnl_success);
    dnnl_primitive_attr_t attr;
    TG_ASSERT(dnnl_primitive_attr_create(&attr) == dnnl_success);
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (k->alpha != 1.0f) dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k->alpha);
    dnnl_post_ops_t po = NULL;
    if (k->beta != 0.0f) {
        TG_ASSERT(dnnl_post_ops_create(&po) == dnnl_success);
        dnnl_post_ops_append_sum(po, k->beta);
        dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    if (dnnl_primitive_desc_create(&pd, &desc, attr, g_dnnl.engine, NULL) == dnnl_success) {
        if (dnnl_primitive_create(&prim, pd) != dnnl_success) prim = NULL;
        *scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        dnnl_primitive_desc_destroy(pd);
    }
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    TG_ASSERT(prim != NULL); /* bf16 matmul is supported wherever nn_bf16_available() */
    return prim;
}

/* The primitive for k (made on first use) and its scratch description;
 * called with the lock held. */
static dnnl_primitive_t find_prim(const prim_key *k, const dnnl_memory_desc_t **scratch_md)
{
    for (int i = 0; i < g_dnnl.used; i++)
        if (memcmp(&g_dnnl.keys[i], k, sizeof *k) == 0) {
            *scratch_md = &g_dnnl.scratch_md[i];
            return g_dnnl.prims[i];
        }
    int slot = g_dnnl.used < PRIM_SLOTS ? g_dnnl.used++ : g_dnnl.next++ % PRIM_SLOTS;
    if (g_dnnl.prims[slot]) dnnl_primitive_destroy(g_dnnl.prims[slot]);
    g_dnnl.prims[slot] = make_prim(k, &g_dnnl.scratch_md[slot]);
    g_dnnl.keys[slot] = *k;
    *scratch_md = &g_dnnl.scratch_md[slot];
    return g_dnnl.prims[slot];
}

/* The shared scratchpad, at least bytes long (64-byte aligned). */
static void *scratch(size_t bytes)
{
    if (bytes <= g_dnnl.scratch_bytes) return g_dnnl.scratch;
    free(g_dnnl.scratch);
    g_dnnl.scratch = NULL;
    g_dnnl.scratch_bytes = 0;
    size_t rounded = (bytes + 63) / 64 * 64;
    g_dnnl.scratch = aligned_alloc(64, rounded); /* C11: rounded is a multiple of 64 */
    TG_ASSERT(g_dnnl.scratch != NULL); /* a few MB at most: out of memory is fatal here */
    g_dnnl.scratch_bytes = rounded;
    return g_dnnl.scratch;
}

static void dnnl_product(const prim_key *k, const nn_bf16 *A, const nn_bf16 *B, float *C)
{
    pthread_mutex_lock(&g_dnnl.lock);
    const dnnl_memory_desc_t *smd;
    dnnl_primitive_t prim = find_prim(k, &smd);
    dnnl_memory_desc_t a, b, c;
    md_2d(&a, k->M, k->K, k->lda, k->ta, dnnl_bf16);
    md_2d(&b, k->K, k->N, k->ldb, k->tb, dnnl_bf16);
    md_2d(&c, k->M, k->N, k->ldc, 0, dnnl_f32);
    dnnl_memory_t ma, mb, mc, ms = NULL;
    TG_ASSERT(dnnl_memory_create(&ma, &a, g_dnnl.engine, (void *)A) == dnnl_success);
    TG_ASSERT(dnnl_memory_create(&mb, &b, g_dnnl.engine, (void *)B) == dnnl_success);
    TG_ASSERT(dnnl_memory_create(&mc, &c, g_dnnl.engine, C) == dnnl_success);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    int nargs = 3;
    size_t sbytes = dnnl_memory_desc_get_size(smd);
    if (sbytes > 0) {
        TG_ASSERT(dnnl_memory_create(&ms, smd, g_dnnl.engine, scratch(sbytes)) == dnnl_success);
        args[nargs].arg = DNNL_ARG_SCRATCHPAD;
        args[nargs++].memory = ms;
    }
    TG_ASSERT(dnnl_primitive_execute(prim, g_dnnl.stream, nargs, args) == dnnl_success);
    dnnl_stream_wait(g_dnnl.stream);
    dnnl_memory_destroy(ma);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mc);
    if (ms) dnnl_memory_destroy(ms);
    pthread_mutex_unlock(&g_dnnl.lock);
}
#endif

void nn_matmul_bf16(int ta, int tb, int M, int N, int K, float alpha, const nn_bf16 *A, int lda,
                    const nn_bf16 *B, int ldb, float beta, float *C, int ldc)
{
    TG_ASSERT(M >= 0 && N >= 0 && K >= 0);
    TG_ASSERT_OP(lda, >=, (ta ? M : K) > 1 ? (ta ? M : K) : 1);
    TG_ASSERT_OP(ldb, >=, (tb ? K : N) > 1 ? (tb ? K : N) : 1);
    TG_ASSERT_OP(ldc, >=, N > 1 ? N : 1);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *c = C + (size_t)i * ldc + j;
                *c = beta == 0.0f ? 0.0f : beta * *c;
            }
        return;
    }
#ifdef TG_HAVE_DNNL
    pthread_once(&g_dnnl.once, dnnl_start);
    if (g_dnnl.engine) {
        prim_key k;
        memset(&k, 0, sizeof k); /* the key is compared bytewise */
        k.ta = ta, k.tb = tb, k.M = M, k.N = N, k.K = K, k.lda = lda, k.ldb = ldb, k.ldc = ldc;
        k.alpha = alpha, k.beta = beta;
        k.threads = nn_get_threads(); /* oneDNN sizes its blocking for the team */
        dnnl_product(&k, A, B, C);
        return;
    }
#endif
    nn_matmul_bf16_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *nn_bf16_info(char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    describe(buf, size);
    return buf;
}
