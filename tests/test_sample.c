/*
 * test_sample.c: generation (src/sample) and the tokenizers' grammar states
 * (src/tok/tok_grammar.c).
 *   - cached decoding = model_lm_forward on the whole prefix (logits to 1e-5,
 *     relative and absolute attention, several rows of different tokens, at
 *     every position up to the context; one token at a time, prefills of
 *     several lengths, chunked prefills, rows leaving the batch), with the
 *     default initialisation
 *     and with weights scaled up so that attention is peaked;
 *   - the sliding window: greedy generation past the context equals a
 *     reference that runs model_lm_forward on the window the policy keeps;
 *   - the sampler: greedy, mask, top-k, top-p, frequencies, determinism,
 *     parameter checks;
 *   - the grammars accept every sequence the encoders make (scores built in
 *     code, random scores, the MIDI fixtures), the mask agrees with feeding,
 *     and random walks along the mask, and grammar-masked sampling from a
 *     random model, always decode strictly;
 *   - repeatability: a fixed seed gives the same MIDI bytes twice;
 *   - primers: each sample starts with the primer's notes, unchanged at the
 *     tokenizer's resolution; errors for a primer longer than the context.
 * Run with the argument "nottingham" it checks the grammars against every
 * encoded piece of ../shared/data/nottingham/full instead (skipped without it).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include "core/core.h"
#include "model/model.h"
#include "sample/sample.h"
#include "tok/tok.h"
#include "test.h"
#include "tiny_model.h"

/* ------------------------------------------------------------------------ */
/* Helpers. */

static tok_tokenizer *make_tok(tok_kind kind)
{
    tok_config c = tok_config_default(kind);
    tok_tokenizer *t = NULL;
    CHECK_OK(tok_create(&c, &t));
    return t;
}

/* A generator with random weights (scaled by `scale` after the usual init). */
static tg_model *make_model(int V, int context, model_attention att, int max_batch, float scale,
                            uint64_t seed)
{
    model_config c = model_config_default();
    c.vocab_size = V;
    c.d_model = 48;
    c.n_heads = 4;
    c.n_layers = 2;
    c.context = context;
    c.attention = att;
    c.dropout = 0.0f;
    return test_model_make(&c, max_batch, seed, scale);
}

/* ------------------------------------------------------------------------ */
/* Cached decoding = the full forward pass. */

/* Worst |cached - full| over every row, position and id, for one model;
 * counts as failures differences over tol * max(1, |full|). Prefills are fed
 * in chunks of `chunk` tokens (0: the default 64): up to 16 rows (sequences
 * x chunk) go through the matrix-vector kernels, more through sgemm. */
static double cache_vs_full(tg_model *m, int B, int chunk, uint64_t seed, double tol)
{
    const model_config *cfg = model_get_config(m);
    const int T = cfg->context, V = cfg->vocab_size;
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    int *tokens = malloc((size_t)B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) tokens[i] = (int)tg_rng_below(&rng, (uint32_t)V);
    model_lm_forward(m, tokens, NULL, B, T, NULL);
    float *full = malloc((size_t)B * T * V * sizeof(float));
    memcpy(full, model_logits(m), (size_t)B * T * V * sizeof(float));
    float *logits = malloc((size_t)B * V * sizeof(float));
    int *feed = malloc((size_t)B * T * sizeof(int));
    double worst = 0.0;
    int bad = 0;

    /* compares logits (B,V) with the full pass at position t */
#define COMPARE_AT(t)                                                                  \
    for (int b = 0; b < B; b++)                                                        \
        for (int v = 0; v < V; v++) {                                                  \
            double a = logits[(size_t)b * V + v], f = full[((size_t)b * T + (t)) * V + v]; \
            double d = fabs(a - f);                                                    \
            if (d > worst) worst = d;                                                  \
            if (d > tol * fmax(1.0, fabs(f)) && bad++ < 3)                            \
                fprintf(stderr, "row %d position %d id %d: cached %.9g full %.9g\n", b, (t), v, a, f); \
        }

    /* one token at a time from the start, every position up to the context */
    model_cache *s = NULL;
    CHECK_OK(model_cache_create(m, B, 0, &s));
    model_cache_reset(s, B);
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) feed[b] = tokens[(size_t)b * T + t];
        model_decode(s, feed, 1, logits);
        COMPARE_AT(t);
    }
    CHECK_INT(model_cache_len(s), T);
    model_cache_free(s);

    /* prefills of several lengths, then single steps */
    CHECK_OK(model_cache_create(m, B, chunk, &s));
    const int lens[] = {1, 4, 5, 13, T - 2, T};
    for (size_t k = 0; k < TG_ARRAY_LEN(lens); k++) {
        int p = lens[k];
        model_cache_reset(s, B);
        for (int b = 0; b < B; b++) memcpy(feed + (size_t)b * p, tokens + (size_t)b * T, (size_t)p * sizeof(int));
        model_decode(s, feed, p, logits);
        COMPARE_AT(p - 1);
        for (int t = p; t < T && t < p + 3; t++) {
            for (int b = 0; b < B; b++) feed[b] = tokens[(size_t)b * T + t];
            model_decode(s, feed, 1, logits);
            COMPARE_AT(t);
        }
    }
    /* sequences leaving the batch: keep rows 0 and 2 after a prefill of 7 */
    if (B == 3) {
        model_cache_reset(s, B);
        for (int b = 0; b < B; b++) memcpy(feed + (size_t)b * 7, tokens + (size_t)b * T, 7 * sizeof(int));
        model_decode(s, feed, 7, logits);
        const int rows[2] = {0, 2};
        model_cache_keep_rows(s, rows, 2);
        CHECK_INT(model_cache_batch(s), 2);
        for (int t = 7; t < 12; t++) {
            for (int j = 0; j < 2; j++) feed[j] = tokens[(size_t)rows[j] * T + t];
            model_decode(s, feed, 1, logits);
            for (int j = 0; j < 2; j++)
                for (int v = 0; v < V; v++) {
                    double a = logits[(size_t)j * V + v], f = full[((size_t)rows[j] * T + t) * V + v];
                    worst = fmax(worst, fabs(a - f));
                    if (fabs(a - f) > tol * fmax(1.0, fabs(f))) bad++;
                }
        }
    }
    model_cache_free(s);
#undef COMPARE_AT
    CHECK_INT(bad, 0);
    free(tokens);
    free(full);
    free(logits);
    free(feed);
    return worst;
}

/* Worst |skewed - naive| of the full pass itself: the float noise of a model. */
static double skewed_vs_naive(tg_model *m, int B, uint64_t seed)
{
    const model_config *cfg = model_get_config(m);
    const int T = cfg->context, V = cfg->vocab_size;
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    int *tokens = malloc((size_t)B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) tokens[i] = (int)tg_rng_below(&rng, (uint32_t)V);
    size_t n = (size_t)B * T * V;
    float *a = malloc(n * sizeof(float));
    model_lm_forward(m, tokens, NULL, B, T, NULL);
    memcpy(a, model_logits(m), n * sizeof(float));
    CHECK_OK(model_set_naive_attention(m, 1));
    model_lm_forward(m, tokens, NULL, B, T, NULL);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - model_logits(m)[i]));
    CHECK_OK(model_set_naive_attention(m, 0));
    free(a);
    free(tokens);
    return worst;
}

static void test_cache_equality(void)
{
    /* x1: the initialisation; x3: logits up to ~5, attention far from uniform
     * (both held to 1e-5); x6: logits up to ~20 and near one-hot attention,
     * where float rounding alone moves logits by ~1e-4 (the full pass's own
     * skewed and naive attention differ by as much), so the bound there is
     * 1e-3: loose for rounding, tight for a wrong row or position (O(1)). */
    static const float scales[] = {1.0f, 3.0f, 6.0f};
    for (int a = 0; a < 2; a++)
        for (size_t k = 0; k < TG_ARRAY_LEN(scales); k++) {
            tg_model *m = make_model(61, 40, a == 0 ? MODEL_ATTN_RELATIVE : MODEL_ATTN_ABSOLUTE, 3,
                                     scales[k], 7 + a);
            double noise = skewed_vs_naive(m, 3, 100 + k);
            double tol = scales[k] <= 3.0f ? 1e-5 : 1e-3;
            double worst = cache_vs_full(m, 3, 5, 100 + k, tol);
            printf("cached vs full logits, %s attention, weights x%g: worst |diff| %.3g (full pass "
                   "skewed vs naive: %.3g) over 3 rows x 40 positions x 61 ids\n",
                   a == 0 ? "relative" : "absolute", (double)scales[k], worst, noise);
            /* one sequence (the batch-1 path), and prefills of more than 16
             * rows (sgemm) beside single steps (matrix-vector kernels) */
            double w1 = cache_vs_full(m, 1, 0, 200 + k, tol);
            double w3 = cache_vs_full(m, 3, 0, 300 + k, tol);
            printf("  batch 1: worst |diff| %.3g; batch 3, prefills of up to 120 rows: %.3g\n", w1, w3);
            model_free(m);
        }
}

/* ------------------------------------------------------------------------ */
/* The sliding window against a reference built on model_lm_forward. */

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static void test_sliding_window(void)
{
    const int V = 37, T = 16, N = 50;
    for (int a = 0; a < 2; a++) {
        tg_model *m = make_model(V, T, a == 0 ? MODEL_ATTN_RELATIVE : MODEL_ATTN_ABSOLUTE, 2, 4.0f, 3);
        /* EOS's logit is 0 with a zero embedding row: greedy runs on past the context */
        memset(model_get_params(m)->wte + (size_t)TOK_EOS * model_get_config(m)->d_model, 0,
               (size_t)model_get_config(m)->d_model * sizeof(float));
        tok_config tc = tok_config_default(TOK_GRID);
        tc.grid.pitch_max = tc.grid.pitch_min + V - 5; /* PAD BOS EOS Rest + keys = V ids */
        tok_tokenizer *tok = NULL;
        CHECK_OK(tok_create(&tc, &tok));
        CHECK_INT(tok_vocab_size(tok), V);

        const int keeps[] = {0, 5};
        for (size_t kk = 0; kk < TG_ARRAY_LEN(keeps); kk++) {
            int keep = keeps[kk] ? keeps[kk] : T / 2;
            /* reference: greedy on the window the policy keeps, through the full pass */
            int hist[64], n = 1, slides = 0;
            uint16_t seq[128];
            size_t ns = 1;
            hist[0] = seq[0] = TOK_BOS;
            for (int step = 0; step < N; step++) {
                if (step > 0 && n == T) {
                    memmove(hist, hist + (T - keep), (size_t)keep * sizeof(int));
                    n = keep;
                    slides++;
                }
                if (step > 0) hist[n++] = seq[ns - 1];
                model_lm_forward(m, hist, NULL, 1, n, NULL);
                int id = argmax(model_logits(m) + (size_t)(n - 1) * V, V);
                seq[ns++] = (uint16_t)id;
                if (id == TOK_EOS) break;
            }
            if (seq[ns - 1] != TOK_EOS) seq[ns++] = TOK_EOS;
            sample_gen_options o = sample_gen_options_default();
            o.params.temperature = 0.0f;
            o.grammar = false;
            o.length = N;
            o.num = 2;
            o.keep = keeps[kk];
            tok_seq out[2];
            memset(out, 0, sizeof out);
            sample_gen_stats st;
            char err[256] = "";
            CHECK_OK(sample_generate(m, tok, &o, out, &st, err, sizeof err));
            CHECK_INT(st.slides, slides);
            int same = 1;
            for (int r = 0; r < 2; r++) {
                same &= out[r].n == ns && memcmp(out[r].ids, seq, ns * sizeof *seq) == 0;
                tok_seq_free(&out[r]);
            }
            CHECK(same);
            CHECK(slides >= 2);
            printf("sliding window, %s, keep %d: %zu tokens with context %d, %d slides, greedy "
                   "tokens %s the reference's\n",
                   a == 0 ? "relative" : "absolute", keep, ns, T, slides, same ? "equal" : "DIFFER FROM");
        }
        tok_free(tok);
        model_free(m);
    }
}

/* ------------------------------------------------------------------------ */
/* The sampler. */

/* Pooling: the pooled ids' probability (softmax at T 1) moves to one id,
 * the others keep theirs. */
static void test_pool_logits(void)
{
    const float logits[5] = {0.5f, 2.0f, -1.0f, 1.0f, -INFINITY};
    const uint8_t pool[5] = {0, 1, 0, 1, 1}; /* into 2; id 4 has no mass */
    float out[5];
    sample_pool_logits(logits, pool, 2, 5, out);
    double z = 0.0, zo = 0.0;
    for (int i = 0; i < 5; i++) z += exp(logits[i]), zo += exp(out[i]);
    CHECK(fabs(z - zo) < 1e-5 * z);
    CHECK(fabs(exp(out[2]) / zo - (exp(2.0) + exp(-1.0) + exp(1.0)) / z) < 1e-6);
    CHECK(out[0] == 0.5f && isinf(out[1]) && isinf(out[3]) && isinf(out[4]));
    const float dead[3] = {-INFINITY, -INFINITY, 0.0f}; /* nothing to pool: into keeps its logit */
    const uint8_t p2[3] = {1, 0, 0};
    sample_pool_logits(dead, p2, 1, 3, out);
    CHECK(isinf(out[0]) && out[1] == -INFINITY && out[2] == 0.0f);
}

static void test_sampler(void)
{
    const int V = 6;
    float logits[6] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f};
    void *scratch = malloc(sample_pick_scratch_bytes(V));
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    sample_params p = sample_params_default();
    p.temperature = 0.0f;
    CHECK_INT(sample_pick(logits, NULL, V, &p, &rng, scratch), 1); /* tie: the lower id */
    uint8_t mask[6] = {1, 0, 1, 0, 1, 1};
    CHECK_INT(sample_pick(logits, mask, V, &p, &rng, scratch), 2);
    uint8_t none[6] = {0};
    CHECK_INT(sample_pick(logits, none, V, &p, &rng, scratch), -1);

    /* top-k 1 and a tiny top-p are greedy at any temperature */
    p = sample_params_default();
    p.top_k = 1;
    for (int i = 0; i < 20; i++) CHECK_INT(sample_pick(logits, mask, V, &p, &rng, scratch), 2);
    p = sample_params_default();
    p.top_p = 1e-6f;
    for (int i = 0; i < 20; i++) CHECK_INT(sample_pick(logits, NULL, V, &p, &rng, scratch), 1);

    /* frequencies at temperature 1 follow the softmax; top-k 2 keeps ids 1 and 3 */
    int count[6] = {0};
    p = sample_params_default();
    const int n = 60000;
    for (int i = 0; i < n; i++) count[sample_pick(logits, NULL, V, &p, &rng, scratch)]++;
    double z = 0;
    for (int v = 0; v < V; v++) z += exp(logits[v]);
    for (int v = 0; v < V; v++) {
        double want = exp(logits[v]) / z;
        CHECK_NEAR((double)count[v] / n, want, 0.01);
    }
    p.top_k = 2;
    memset(count, 0, sizeof count);
    for (int i = 0; i < 2000; i++) count[sample_pick(logits, NULL, V, &p, &rng, scratch)]++;
    CHECK_INT(count[1] + count[3], 2000);
    CHECK(count[1] > 800 && count[3] > 800);
    /* top-p: ids 1 and 3 hold 0.384 each, 2 holds 0.141: 0.75 keeps {1,3}, 0.8 adds 2 */
    p = sample_params_default();
    p.top_p = 0.75f;
    memset(count, 0, sizeof count);
    for (int i = 0; i < 2000; i++) count[sample_pick(logits, NULL, V, &p, &rng, scratch)]++;
    CHECK_INT(count[1] + count[3], 2000);
    p.top_p = 0.8f;
    memset(count, 0, sizeof count);
    for (int i = 0; i < 4000; i++) count[sample_pick(logits, NULL, V, &p, &rng, scratch)]++;
    CHECK_INT(count[0] + count[4] + count[5], 0);
    CHECK_NEAR((double)count[2] / 4000, 0.141 / 0.909, 0.03);
    /* a high temperature flattens, a low one sharpens */
    p = sample_params_default();
    p.temperature = 0.05f;
    memset(count, 0, sizeof count);
    for (int i = 0; i < 1000; i++) count[sample_pick(logits, NULL, V, &p, &rng, scratch)]++;
    CHECK_INT(count[1] + count[3], 1000);

    /* the pitch temperature: ids 1, 2, 3 are pitches. At a mixed step they
     * keep their mass at the temperature (1) and share it at 0.5; at a step
     * of pitches only, the draw is at 0.5 outright. */
    const uint8_t pitch[6] = {0, 1, 1, 1, 0, 0};
    p = sample_params_default();
    p.pitch_temperature = 0.5f;
    p.pitch = pitch;
    memset(count, 0, sizeof count);
    for (int i = 0; i < n; i++) count[sample_pick(logits, NULL, V, &p, &rng, scratch)]++;
    double zp = 0, mass = 0;
    for (int v = 1; v <= 3; v++) zp += exp(2.0 * logits[v]), mass += exp(logits[v]) / z;
    for (int v = 0; v < V; v++) {
        double want = pitch[v] ? mass * exp(2.0 * logits[v]) / zp : exp(logits[v]) / z;
        CHECK_NEAR((double)count[v] / n, want, 0.01);
    }
    const uint8_t pitches_only[6] = {0, 0, 1, 1, 0, 0};
    memset(count, 0, sizeof count);
    for (int i = 0; i < n; i++) count[sample_pick(logits, pitches_only, V, &p, &rng, scratch)]++;
    CHECK_NEAR((double)count[2] / n, exp(2.0 * 2.0) / (exp(2.0 * 2.0) + exp(2.0 * 3.0)), 0.01);
    CHECK_INT(count[2] + count[3], n);
    /* without the pitch ids, or at 0, it changes nothing: the same draws */
    tg_rng ra, rb;
    sample_params plain = sample_params_default(), off = plain;
    off.pitch_temperature = 0.5f; /* no ids */
    sample_params zero = plain;
    zero.pitch = pitch; /* ids, temperature 0: off */
    int agree = 1;
    for (int k = 0; k < 2; k++) {
        tg_rng_seed(&ra, 7);
        tg_rng_seed(&rb, 7);
        for (int i = 0; i < 300; i++)
            agree &= sample_pick(logits, NULL, V, &plain, &ra, scratch) ==
                     sample_pick(logits, NULL, V, k ? &zero : &off, &rb, scratch);
    }
    CHECK(agree);
    /* greedy stays greedy; a negative pitch temperature is refused */
    p.temperature = 0.0f;
    CHECK_INT(sample_pick(logits, NULL, V, &p, &rng, scratch), 1);
    p = sample_params_default();
    p.pitch_temperature = -0.5f;
    char reason[128] = "";
    CHECK(sample_params_check(&p, reason, sizeof reason) == TG_ERR_RANGE && strstr(reason, "pitch temperature"));

    /* the same rng state gives the same draws */
    tg_rng r1, r2;
    tg_rng_seed(&r1, 99);
    tg_rng_seed(&r2, 99);
    p = sample_params_default();
    p.top_k = 4;
    p.top_p = 0.9f;
    int same = 1;
    for (int i = 0; i < 200; i++)
        same &= sample_pick(logits, NULL, V, &p, &r1, scratch) ==
                sample_pick(logits, NULL, V, &p, &r2, scratch);
    CHECK(same);

    /* parameter checks */
    char why[160];
    p = sample_params_default();
    CHECK_OK(sample_params_check(&p, why, sizeof why));
    p.temperature = -0.5f;
    CHECK_STATUS(sample_params_check(&p, why, sizeof why), TG_ERR_RANGE);
    CHECK(strstr(why, "temperature") != NULL);
    p = sample_params_default();
    p.top_p = 0.0f;
    CHECK_STATUS(sample_params_check(&p, why, sizeof why), TG_ERR_RANGE);
    p.top_p = 1.5f;
    CHECK_STATUS(sample_params_check(&p, why, sizeof why), TG_ERR_RANGE);
    CHECK(strstr(why, "top-p") != NULL);
    p = sample_params_default();
    p.top_k = -1;
    CHECK_STATUS(sample_params_check(&p, why, sizeof why), TG_ERR_RANGE);
    p = sample_params_default();
    p.temperature = NAN;
    CHECK_STATUS(sample_params_check(&p, why, sizeof why), TG_ERR_RANGE);
    free(scratch);
}

/* ------------------------------------------------------------------------ */
/* Grammars. */

/* The music kinds of the registry in its order (remi, grid, perf, then the
 * kinds appended after raw, which has its own test); returns how many. */
#define MAX_KINDS 8
static int music_kinds(tok_kind *kinds)
{
    int n = 0;
    for (size_t i = 0; i < tok_kind_count() && n < MAX_KINDS; i++)
        if (tok_kind_at(i)->music) kinds[n++] = tok_kind_at(i)->kind;
    return n;
}

/* Tokenizers of the music kinds (t[0] remi, t[1] grid, t[2] perf, ...). */
static int make_music_toks(tok_tokenizer **t)
{
    tok_kind kinds[MAX_KINDS];
    int n = music_kinds(kinds);
    for (int k = 0; k < n; k++) t[k] = make_tok(kinds[k]);
    return n;
}

static void print_counts(const char *what, tok_tokenizer *const *t, const int *ok, int nk)
{
    printf("%s:", what);
    for (int k = 0; k < nk; k++)
        printf("%s %s %d", k ? "," : "", tok_kind_name(tok_get_config(t[k])->kind), ok[k]);
    putchar('\n');
}

/* Feeds seq through a grammar state, checking the mask agrees at every step.
 * Returns the index of the first token refused, or seq->n when all pass. */
static size_t grammar_accepts(const tok_tokenizer *t, const uint16_t *ids, size_t n)
{
    tok_grammar g;
    tok_grammar_init(&g, t);
    int V = tok_vocab_size(t);
    uint8_t *mask = malloc((size_t)V);
    size_t i = 0;
    for (; i < n; i++) {
        int allowed = tok_grammar_mask(&g, mask);
        if (allowed <= 0 || !mask[ids[i]] || !tok_grammar_allows(&g, ids[i])) break;
        if (tok_grammar_feed(&g, ids[i]) != TG_OK) break;
    }
    free(mask);
    return i;
}

static int check_encoded(const tok_tokenizer *t, const tg_score *s, const char *what)
{
    tok_seq seq = {0};
    tg_status st = tok_encode(t, s, &seq);
    if (st == TG_ERR_TOO_LARGE) {
        tok_seq_free(&seq);
        return 1;
    }
    CHECK_OK(st);
    size_t at = grammar_accepts(t, seq.ids, seq.n);
    if (at != seq.n) {
        fprintf(stderr, "%s (%s): the grammar refuses token %zu of %zu: %s after", what,
                tok_kind_name(tok_get_config(t)->kind), at, seq.n, tok_name(t, seq.ids[at]));
        for (size_t j = at > 6 ? at - 6 : 0; j < at; j++) fprintf(stderr, " %s", tok_name(t, seq.ids[j]));
        fputc('\n', stderr);
    }
    int ok = at == seq.n;
    tok_seq_free(&seq);
    return ok;
}

static void add_note(tg_score *s, size_t track, int64_t a, int64_t b, int pitch, int vel)
{
    tg_note n = {a, b, (uint8_t)pitch, (uint8_t)vel, (uint8_t)s->tracks[track].channel};
    CHECK_OK(tg_score_add_note(s, track, n));
}

/* A random score: 1-3 tracks (maybe drums), random meters and tempi, notes
 * anywhere (overlapping, same pitch, off the grid, long and short). */
static tg_score *random_score(tg_rng *r)
{
    int tpq = 96 + 24 * (int)tg_rng_below(r, 20);
    tg_score *s;
    CHECK_OK(tg_score_create(tpq, &s));
    static const int nums[] = {2, 3, 4, 5, 6, 7, 9, 12}, dens[] = {2, 4, 8, 16};
    int64_t t = 0;
    int nts = (int)tg_rng_below(r, 4);
    for (int i = 0; i < nts; i++) {
        tg_timesig ts = {t, (uint8_t)nums[tg_rng_below(r, 8)], (uint16_t)dens[tg_rng_below(r, 4)], -1};
        CHECK_OK(tg_score_add_timesig(s, ts));
        t += (int64_t)tg_rng_below(r, (uint32_t)(8 * tpq)) + 1;
    }
    int ntp = (int)tg_rng_below(r, 5);
    for (int i = 0; i < ntp; i++) {
        tg_tempo tp = {(int64_t)tg_rng_below(r, (uint32_t)(32 * tpq)), 200000 + tg_rng_below(r, 1500000), -1};
        CHECK_OK(tg_score_add_tempo(s, tp));
    }
    int ntr = 1 + (int)tg_rng_below(r, 3);
    for (int k = 0; k < ntr; k++) {
        bool drums = tg_rng_below(r, 4) == 0;
        size_t ti;
        CHECK_OK(tg_score_add_track(s, "t", drums ? 9 : k, (int)tg_rng_below(r, 128), k, &ti));
        int nn = (int)tg_rng_below(r, 60);
        for (int i = 0; i < nn; i++) {
            int64_t a = (int64_t)tg_rng_below(r, (uint32_t)(40 * tpq));
            int64_t len = tg_rng_below(r, 5) == 0 ? 1 + (int64_t)tg_rng_below(r, (uint32_t)(12 * tpq))
                                                  : 1 + (int64_t)tg_rng_below(r, (uint32_t)tpq);
            add_note(s, ti, a, a + len, 20 + (int)tg_rng_below(r, 90), 1 + (int)tg_rng_below(r, 127));
        }
    }
    tg_score_sort(s);
    return s;
}

static void test_grammar_encoded(void)
{
    tok_tokenizer *t[MAX_KINDS];
    int nk = make_music_toks(t);
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    int ok[MAX_KINDS] = {0}, n = 300;
    for (int i = 0; i < n; i++) {
        tg_score *s = random_score(&rng);
        for (int k = 0; k < nk; k++) ok[k] += check_encoded(t[k], s, "random score");
        tg_score_free(s);
    }
    printf("grammar: %d random scores; ", n);
    print_counts("encodings accepted", t, ok, nk);
    for (int k = 0; k < nk; k++) CHECK_INT(ok[k], n);

    /* the empty piece */
    tg_score *e;
    CHECK_OK(tg_score_create(480, &e));
    for (int k = 0; k < nk; k++) CHECK(check_encoded(t[k], e, "empty score"));
    tg_score_free(e);

#ifdef TG_TEST_WITH_MIDI
    DIR *dp = opendir(TG_TEST_DATA);
    CHECK(dp != NULL);
    int files = 0, acc = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        const char *dot = strrchr(de->d_name, '.');
        if (!dot || strcasecmp(dot, ".mid") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", TG_TEST_DATA, de->d_name);
        tg_midi_read_options ro = tg_midi_read_options_default();
        tg_score *s = NULL;
        if (tg_midi_read_file(path, &ro, &s, NULL, NULL) != TG_OK) continue;
        files++;
        int all = 1;
        for (int k = 0; k < nk; k++) all &= check_encoded(t[k], s, path);
        acc += all;
        tg_score_free(s);
    }
    if (dp) closedir(dp);
    printf("grammar: encodings of %d MIDI fixtures accepted by all %d music kinds: %d\n", files, nk, acc);
    CHECK(files > 10);
    CHECK_INT(acc, files);
#endif

    /* feeding what the mask forbids is refused and leaves the state alone */
    tok_grammar g;
    tok_grammar_init(&g, t[0]);
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "Bar")), TG_ERR_GRAMMAR); /* BOS first */
    CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Bar")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "Position_0")), TG_ERR_GRAMMAR); /* TimeSig first */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "TimeSig_3/4")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "Position_36")), TG_ERR_GRAMMAR); /* 3/4: 36 steps */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Position_35")));
    CHECK(!tok_grammar_can_end(&g));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "Bar")), TG_ERR_GRAMMAR); /* a bare Position */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Program_40")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "EOS")), TG_ERR_GRAMMAR);
    CHECK(!tok_grammar_can_close(&g));
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Pitch_60")));
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Velocity_20")));
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Duration_4")));
    CHECK(tok_grammar_can_end(&g));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "Program_30")), TG_ERR_GRAMMAR); /* program order */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Program_40")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[0], "Pitch_59")), TG_ERR_GRAMMAR); /* pitch order */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[0], "Pitch_64")));
    CHECK_INT(tok_grammar_time(&g), 35);

    tok_grammar_init(&g, t[2]);
    CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[2], "NoteOn_60")), TG_ERR_GRAMMAR); /* no velocity */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[2], "Velocity_10")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[2], "TimeShift_5")), TG_ERR_GRAMMAR);
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[2], "NoteOn_60")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[2], "NoteOff_60")), TG_ERR_GRAMMAR); /* same instant */
    CHECK(!tok_grammar_can_end(&g));
    CHECK(tok_grammar_can_close(&g));
    tok_seq close = {0};
    CHECK_OK(tok_grammar_close(&g, &close));
    CHECK_INT(close.n, 2);
    if (close.n == 2) {
        CHECK_STR(tok_name(t[2], close.ids[0]), "TimeShift_1");
        CHECK_STR(tok_name(t[2], close.ids[1]), "NoteOff_60");
    }
    tok_seq_free(&close);
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[2], "TimeShift_7")));
    CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t[2], "TimeShift_7")), TG_ERR_GRAMMAR); /* not canonical */
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[2], "NoteOff_60")));
    CHECK(tok_grammar_can_end(&g));
    CHECK_INT(tok_grammar_time(&g), 7);

    tok_grammar_init(&g, t[1]);
    CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[1], "Key_60")));
    CHECK_OK(tok_grammar_feed(&g, tok_lookup(t[1], "Rest")));
    CHECK(!tok_grammar_can_end(&g));
    CHECK_INT(tok_grammar_time(&g), 2);
    for (int k = 0; k < nk; k++) tok_free(t[k]);
}

/* Random walks along the mask, closed and ended: strict decoding succeeds. */
static void test_grammar_walks(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    tok_kind kinds[MAX_KINDS];
    int nk = music_kinds(kinds);
    for (int k = 0; k < nk; k++) {
        tok_tokenizer *t = make_tok(kinds[k]);
        int V = tok_vocab_size(t);
        uint8_t *mask = malloc((size_t)V);
        int *ids = malloc((size_t)V * sizeof(int));
        int ok = 0, n_walks = 300;
        size_t tokens = 0;
        for (int w = 0; w < n_walks; w++) {
            tok_grammar g, g_ok;
            tok_grammar_init(&g, t);
            tok_seq seq = {0};
            CHECK_OK(tok_seq_push(&seq, TOK_BOS));
            CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
            g_ok = g;
            size_t len_ok = 1;
            int steps = (int)tg_rng_below(&rng, 400);
            bool ended = false;
            for (int i = 0; i < steps && !ended; i++) {
                int n = 0;
                tok_grammar_mask(&g, mask);
                for (int id = 0; id < V; id++)
                    if (mask[id] && (id != TOK_EOS || tg_rng_below(&rng, 50) == 0)) ids[n++] = id;
                if (n == 0 && mask[TOK_EOS]) ids[n++] = TOK_EOS; /* remi-tracks: a Fill section's end */
                CHECK(n > 0);
                if (n == 0) break;
                int id = ids[tg_rng_below(&rng, (uint32_t)n)];
                CHECK_OK(tok_grammar_feed(&g, id));
                CHECK_OK(tok_seq_push(&seq, id));
                ended = id == TOK_EOS;
                if (!ended && tok_grammar_can_close(&g)) {
                    g_ok = g;
                    len_ok = seq.n;
                }
            }
            if (!ended) {
                seq.n = len_ok;
                CHECK_OK(tok_grammar_close(&g_ok, &seq));
                /* after closing, EOS is allowed */
                tok_grammar h = g_ok;
                for (size_t i = len_ok; i < seq.n; i++) CHECK_OK(tok_grammar_feed(&h, seq.ids[i]));
                CHECK(tok_grammar_can_end(&h));
                CHECK_OK(tok_seq_push(&seq, TOK_EOS));
            }
            tokens += seq.n;
            tg_score *d = NULL;
            tok_decode_error err;
            tg_status st = tok_decode(t, seq.ids, seq.n, NULL, &d, &err, NULL);
            if (st != TG_OK && ok == w)
                fprintf(stderr, "%s walk %d: token %zu (%s): %s\n", tok_kind_name(kinds[k]), w,
                        err.index, err.index < seq.n ? tok_name(t, seq.ids[err.index]) : "end", err.what);
            ok += st == TG_OK;
            /* what decodes, encodes to a sequence the grammar accepts */
            if (d) {
                tok_seq again = {0};
                CHECK_OK(tok_encode(t, d, &again));
                CHECK_INT(grammar_accepts(t, again.ids, again.n), again.n);
                tok_seq_free(&again);
            }
            tg_score_free(d);
            tok_seq_free(&seq);
        }
        printf("grammar: %d of %d random walks along the %s mask (%zu tokens) decode strictly\n", ok,
               n_walks, tok_kind_name(kinds[k]), tokens);
        CHECK_INT(ok, n_walks);
        free(mask);
        free(ids);
        tok_free(t);
    }
}

/* Grammar-masked sampling from random models decodes strictly; without the
 * mask it mostly does not. */
static void test_masked_sampling(void)
{
    tok_kind kinds[MAX_KINDS];
    int nk = music_kinds(kinds);
    for (int k = 0; k < nk; k++) {
        tok_tokenizer *t = make_tok(kinds[k]);
        tg_model *m = make_model(tok_vocab_size(t), 32, kinds[k] == TOK_GRID ? MODEL_ATTN_ABSOLUTE : MODEL_ATTN_RELATIVE,
                                 4, 3.0f, 40 + k);
        for (int grammar = 1; grammar >= 0; grammar--) {
            sample_gen_options o = sample_gen_options_default();
            o.num = 6;
            o.batch = 4;
            o.length = 90;
            o.seed = 123;
            o.grammar = grammar;
            tok_seq out[6];
            memset(out, 0, sizeof out);
            sample_gen_stats st;
            char err[256] = "";
            CHECK_OK(sample_generate(m, t, &o, out, &st, err, sizeof err));
            int ok = 0;
            for (int i = 0; i < 6; i++) {
                tg_score *d = NULL;
                tok_decode_error de;
                tg_status s = tok_decode(t, out[i].ids, out[i].n, NULL, &d, &de, NULL);
                if (s != TG_OK && grammar)
                    fprintf(stderr, "%s sample %d: token %zu: %s\n", tok_kind_name(kinds[k]), i,
                            de.index, de.what);
                ok += s == TG_OK;
                CHECK_INT(out[i].ids[0], TOK_BOS);
                CHECK_INT(out[i].ids[out[i].n - 1], TOK_EOS);
                tg_score_free(d);
                tok_seq_free(&out[i]);
            }
            printf("sampling from a random model, %s, grammar %s: %d of 6 samples decode strictly "
                   "(%zu tokens, %d slides, %zu cut to end cleanly)\n",
                   tok_kind_name(kinds[k]), grammar ? "on" : "off", ok, st.new_tokens, st.slides,
                   st.cut_tokens);
            if (grammar) CHECK_INT(ok, 6);
            if (grammar) CHECK(st.slides > 0);
        }
        model_free(m);
        tok_free(t);
    }
}

/* ------------------------------------------------------------------------ */
/* Repeatability and errors. */

static size_t midi_bytes(const tok_tokenizer *t, const tok_seq *seq, uint8_t **data)
{
    tg_score *d = NULL;
    CHECK_OK(tok_decode(t, seq->ids, seq->n, NULL, &d, NULL, NULL));
    size_t n = 0;
    *data = NULL;
    if (d) {
        tg_midi_write_options wo = tg_midi_write_options_default();
        CHECK_OK(tg_midi_write_memory(d, &wo, data, &n));
    }
    tg_score_free(d);
    return n;
}

static void test_repeatable(void)
{
    tok_tokenizer *t = make_tok(TOK_REMI);
    tg_model *m = make_model(tok_vocab_size(t), 32, MODEL_ATTN_RELATIVE, 3, 1.0f, 9);
    sample_gen_options o = sample_gen_options_default();
    o.num = 3;
    o.length = 60;
    o.seed = 77;
    o.params.top_k = 20;
    o.params.top_p = 0.95f;
    tok_seq a[3], b[3];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    char err[256];
    CHECK_OK(sample_generate(m, t, &o, a, NULL, err, sizeof err));
    CHECK_OK(sample_generate(m, t, &o, b, NULL, err, sizeof err));
    int same_bytes = 1, differ = 0;
    for (int i = 0; i < 3; i++) {
        uint8_t *x, *y;
        size_t nx = midi_bytes(t, &a[i], &x), ny = midi_bytes(t, &b[i], &y);
        same_bytes &= nx == ny && nx > 0 && memcmp(x, y, nx) == 0;
        if (i > 0) differ += a[i].n != a[0].n || memcmp(a[i].ids, a[0].ids, a[0].n * 2) != 0;
        free(x);
        free(y);
    }
    CHECK(same_bytes);
    CHECK(differ > 0); /* the samples of one run differ from each other */
    printf("repeatability: seed 77 twice: MIDI bytes of 3 samples %s\n", same_bytes ? "identical" : "DIFFER");
    /* another seed gives other music */
    o.seed = 78;
    tok_seq c[3];
    memset(c, 0, sizeof c);
    CHECK_OK(sample_generate(m, t, &o, c, NULL, err, sizeof err));
    CHECK(c[0].n != a[0].n || memcmp(c[0].ids, a[0].ids, a[0].n * 2) != 0);
    for (int i = 0; i < 3; i++) {
        tok_seq_free(&a[i]);
        tok_seq_free(&b[i]);
        tok_seq_free(&c[i]);
    }

    /* errors */
    uint16_t long_prefix[40];
    long_prefix[0] = TOK_BOS;
    for (int i = 1; i < 40; i++) long_prefix[i] = (uint16_t)tok_lookup(t, "Bar");
    long_prefix[2] = (uint16_t)tok_lookup(t, "TimeSig_4/4");
    o = sample_gen_options_default();
    o.prefix = long_prefix;
    o.prefix_len = 40;
    CHECK_STATUS(sample_generate(m, t, &o, a, NULL, err, sizeof err), TG_ERR_TOO_LARGE);
    CHECK(strstr(err, "context") != NULL);
    o.prefix_len = 3;
    long_prefix[2] = (uint16_t)tok_lookup(t, "Pitch_60");
    CHECK_STATUS(sample_generate(m, t, &o, a, NULL, err, sizeof err), TG_ERR_GRAMMAR);
    o = sample_gen_options_default();
    o.params.top_p = 2.0f;
    CHECK_STATUS(sample_generate(m, t, &o, a, NULL, err, sizeof err), TG_ERR_RANGE);
    CHECK(strstr(err, "top-p") != NULL);
    model_free(m);
    tok_free(t);
}

/* ------------------------------------------------------------------------ */
/* Primers. */

/* A primer at 384 ticks per quarter, 100 bpm, in 3/4, with a tempo change,
 * a melody and a bass line, notes held across bar lines, 6 bars. */
enum { PQ = 384, PBAR = 3 * PQ };

static tg_score *primer_score(void)
{
    tg_score *s;
    CHECK_OK(tg_score_create(PQ, &s));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 3, 4, -1}));
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){0, 600000, -1}));
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){PBAR * 3, 540000, -1}));
    size_t mel, bass;
    CHECK_OK(tg_score_add_track(s, "Melody", 0, 73, 0, &mel));
    CHECK_OK(tg_score_add_track(s, "Bass", 1, 32, 1, &bass));
    for (int i = 0; i < 6 * 6; i++) /* eighths, some held */
        add_note(s, mel, i * PQ / 2, i * PQ / 2 + (i % 5 == 4 ? 5 * PQ / 4 : PQ / 2), 62 + (i * 7) % 12,
                 70 + i);
    for (int bar = 0; bar < 6; bar++) add_note(s, bass, bar * PBAR, bar * PBAR + PBAR, 38 + bar % 3, 90);
    add_note(s, mel, PBAR * 2 - PQ / 4, PBAR * 2 + PQ, 81, 100); /* across the line after bar 2 */
    tg_score_sort(s);
    return s;
}

typedef struct {
    double start_sec, end_sec;
    int pitch, vel;
} snote;

static int cmp_snote(const void *pa, const void *pb)
{
    const snote *a = pa, *b = pb;
    if (a->start_sec != b->start_sec) return a->start_sec < b->start_sec ? -1 : 1;
    if (a->pitch != b->pitch) return a->pitch - b->pitch;
    return a->end_sec < b->end_sec ? -1 : a->end_sec > b->end_sec;
}

/* The notes of s starting before end_ticks, in seconds, sorted. */
static snote *notes_before(const tg_score *s, int64_t end_ticks, size_t *n)
{
    snote *v = malloc((tg_score_note_count(s) + 1) * sizeof *v);
    *n = 0;
    for (size_t t = 0; t < s->n_tracks; t++)
        for (size_t i = 0; i < s->tracks[t].n_notes; i++) {
            const tg_note *nt = &s->tracks[t].notes[i];
            if (nt->start_ticks >= end_ticks) continue;
            v[(*n)++] = (snote){tg_score_ticks_to_sec(s, -1, nt->start_ticks),
                                tg_score_ticks_to_sec(s, -1, nt->end_ticks), nt->pitch, nt->velocity};
        }
    if (*n) qsort(v, *n, sizeof *v, cmp_snote);
    return v;
}

static void test_primers(void)
{
    tg_score *primer = primer_score();
    tok_kind kinds[MAX_KINDS];
    int nk = music_kinds(kinds);
    for (int k = 0; k < nk; k++) {
        tok_tokenizer *t = make_tok(kinds[k]);
        tg_model *m = make_model(tok_vocab_size(t), 160, MODEL_ATTN_RELATIVE, 4, 3.0f, 60 + k);
        const bool metrical = tok_steps_per_quarter(t) > 0; /* remi, remi-compact */
        sample_primer pr;
        char why[160];
        CHECK_OK(sample_primer_make(t, primer, 2, &pr, why, sizeof why));
        /* the primer's end is the line after bar 2: 2 x 3/4 at 100 bpm = 3.6 s */
        CHECK(fabs(pr.end_sec - 3.6) < 1e-9);
        CHECK_INT(pr.bars, 2);

        /* what the primer's tokens decode to, with the primer's timing */
        tok_seq want_seq = {0};
        for (size_t i = 0; i < pr.tokens.n; i++) CHECK_OK(tok_seq_push(&want_seq, pr.tokens.ids[i]));
        tok_grammar g;
        tok_grammar_init(&g, t);
        for (size_t i = 0; i < want_seq.n; i++) CHECK_OK(tok_grammar_feed(&g, want_seq.ids[i]));
        size_t keep = want_seq.n;
        if (!tok_grammar_can_end(&g)) { /* remi ends on a Bar, grid and perf on padding */
            while (keep > 1) {
                tok_grammar h;
                tok_grammar_init(&h, t);
                for (size_t i = 0; i < keep; i++) tok_grammar_feed(&h, want_seq.ids[i]);
                if (tok_grammar_can_close(&h)) {
                    want_seq.n = keep;
                    CHECK_OK(tok_grammar_close(&h, &want_seq));
                    break;
                }
                keep--;
            }
        }
        CHECK_OK(tok_seq_push(&want_seq, TOK_EOS));
        tg_score *want_dec = NULL, *want = NULL;
        CHECK_OK(tok_decode(t, want_seq.ids, want_seq.n, NULL, &want_dec, NULL, NULL));
        int64_t want_end = 0;
        CHECK_OK(sample_apply_primer_timing(t, primer, &pr, want_dec, &want, &want_end));

        sample_gen_options o = sample_gen_options_default();
        o.num = 3;
        o.length = 80;
        o.seed = 5;
        o.prefix = pr.tokens.ids;
        o.prefix_len = pr.tokens.n;
        tok_seq out[3];
        memset(out, 0, sizeof out);
        char err[256] = "";
        CHECK_OK(sample_generate(m, t, &o, out, NULL, err, sizeof err));
        int same = 0, longer = 0;
        for (int i = 0; i < 3; i++) {
            size_t common = out[i].n - 1 < pr.tokens.n ? out[i].n - 1 : pr.tokens.n;
            CHECK(memcmp(out[i].ids, pr.tokens.ids, common * sizeof *out[i].ids) == 0);
            tg_score *dec = NULL, *s = NULL;
            CHECK_OK(tok_decode(t, out[i].ids, out[i].n, NULL, &dec, NULL, NULL));
            int64_t end = 0;
            if (dec) CHECK_OK(sample_apply_primer_timing(t, primer, &pr, dec, &s, &end));
            if (!s) {
                tg_score_free(dec);
                continue;
            }
            CHECK_INT(end, want_end);
            CHECK_INT(s->ticks_per_quarter, metrical ? 480 : PQ); /* remi: 40 ticks per step */
            CHECK_INT(tg_score_tempo_at(s, -1, 0), 600000);
            tg_timesig ts = tg_score_timesig_at(s, 0);
            CHECK_INT(ts.numerator, 3);
            size_t na, nb;
            snote *a = notes_before(want, want_end, &na), *b = notes_before(s, end, &nb);
            int eq = na == nb && na > 0;
            for (size_t j = 0; eq && j < na; j++)
                eq = a[j].pitch == b[j].pitch && a[j].vel == b[j].vel &&
                     fabs(a[j].start_sec - b[j].start_sec) < 1e-6 && fabs(a[j].end_sec - b[j].end_sec) < 1e-6;
            same += eq;
            longer += tg_score_note_count(s) > na;
            /* against the original primer: onsets at the tokenizer's resolution */
            size_t no;
            snote *orig = notes_before(primer, PBAR * 2, &no);
            if (kinds[k] == TOK_PERF) { /* perf: every onset within half a 10 ms step, plus a tick (1.6 ms) */
                CHECK_INT(nb, no);
                for (size_t j = 0; j < no && j < nb; j++) {
                    CHECK(fabs(b[j].start_sec - orig[j].start_sec) < 0.0066);
                    CHECK_INT(b[j].pitch, orig[j].pitch);
                }
            }
            if (metrical) CHECK_INT(nb, no); /* remi: every note of the first two bars */
            free(orig);
            free(a);
            free(b);
            tg_score_free(dec);
            tg_score_free(s);
            tok_seq_free(&out[i]);
        }
        printf("primer, %s: 2 bars (%zu tokens with BOS, ends at %.3f s); %d of 3 samples start with "
               "the primer's notes unchanged, %d add notes after it\n",
               tok_kind_name(kinds[k]), pr.tokens.n, pr.end_sec, same, longer);
        CHECK_INT(same, 3);
        CHECK(longer > 0);

        /* a primer longer than the context */
        sample_primer whole;
        CHECK_OK(sample_primer_make(t, primer, 0, &whole, why, sizeof why));
        tg_model *small = make_model(tok_vocab_size(t), 8, MODEL_ATTN_RELATIVE, 1, 1.0f, 1);
        o.prefix = whole.tokens.ids;
        o.prefix_len = whole.tokens.n;
        CHECK_STATUS(sample_generate(small, t, &o, out, NULL, err, sizeof err), TG_ERR_TOO_LARGE);
        CHECK(strstr(err, "primer") != NULL);
        model_free(small);
        sample_primer_free(&whole);

        tg_score_free(want_dec);
        tg_score_free(want);
        tok_seq_free(&want_seq);
        sample_primer_free(&pr);
        model_free(m);
        tok_free(t);
    }
    /* a primer without notes */
    tg_score *empty;
    CHECK_OK(tg_score_create(480, &empty));
    tok_tokenizer *t = make_tok(TOK_REMI);
    sample_primer pr;
    char why[160] = "";
    CHECK_STATUS(sample_primer_make(t, empty, 0, &pr, why, sizeof why), TG_ERR_ARG);
    CHECK(strstr(why, "no notes") != NULL);
    tok_free(t);
    tg_score_free(empty);
    tg_score_free(primer);
}

/* ------------------------------------------------------------------------ */
/* Nottingham on request. */

#ifdef TG_TEST_WITH_MIDI
static int run_nottingham(void)
{
    const char *dir = TG_SHARED_DATA "/nottingham/full";
    DIR *dp = opendir(dir);
    if (!dp) {
        printf("skipped: %s not found\n", dir);
        return TEST_SKIP_CODE;
    }
    tok_tokenizer *t[MAX_KINDS];
    int nk = make_music_toks(t);
    int files = 0, ok[MAX_KINDS] = {0};
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *dot = strrchr(de->d_name, '.');
        if (!dot || strcasecmp(dot, ".mid") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        tg_midi_read_options ro = tg_midi_read_options_default();
        tg_score *s = NULL;
        if (tg_midi_read_file(path, &ro, &s, NULL, NULL) != TG_OK) continue;
        files++;
        for (int k = 0; k < nk; k++) ok[k] += check_encoded(t[k], s, path);
        tg_score_free(s);
    }
    closedir(dp);
    printf("nottingham/full: %d files; ", files);
    print_counts("encodings accepted by the grammar", t, ok, nk);
    CHECK(files > 0);
    for (int k = 0; k < nk; k++) {
        CHECK_INT(ok[k], files);
        tok_free(t[k]);
    }
    return test_finish("test_sample nottingham");
}
#endif

/* ------------------------------------------------------------------------ */
/* Generation with given tokens (fill.c): the plan's tokens come back in
 * order, the model writes only notes' tokens and only in the open segments,
 * every take decodes strictly, the window slides, a seed repeats. */

/* A plan of 6 bars: the melody (track 0) given, the chords (track 1)
 * written in every bar; returns the open flags (calloc'd). */
static uint8_t *chords_plan(const tok_tokenizer *t, tok_seq *plan)
{
    tg_score *s;
    CHECK_OK(tg_score_create(480, &s));
    size_t mel, ch;
    CHECK_OK(tg_score_add_track(s, "melody", 0, 0, -1, &mel));
    CHECK_OK(tg_score_add_track(s, "chords", 1, 0, -1, &ch));
    for (int i = 0; i < 24; i++) {
        CHECK_OK(tg_score_add_note(s, mel, (tg_note){i * 480, i * 480 + 400, (uint8_t)(60 + i % 7), 90, 0}));
        if (i % 4 == 0) CHECK_OK(tg_score_add_note(s, ch, (tg_note){i * 480, i * 480 + 1920, 48, 70, 1}));
    }
    tok_seq canon = {0};
    CHECK_OK(tok_encode(t, s, &canon));
    tok_tracks_task task = tok_tracks_task_default();
    task.given = 1, task.clear = 2;
    char why[160];
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, plan, NULL, NULL, why, sizeof why));
    uint8_t *open = calloc(plan->n, 1);
    const int trk1 = tok_id(t, TOK_T_TRACK, 1);
    int n_open = 0;
    bool bars = false; /* the header's Track_1 is given */
    for (size_t i = 0; i + 1 < plan->n; i++) {
        bars = bars || plan->ids[i] == tok_bar_id(t);
        n_open += open[i] = bars && plan->ids[i] == trk1;
    }
    CHECK_INT(n_open, 6);
    tok_seq_free(&canon);
    tg_score_free(s);
    return open;
}

static void test_fill(void)
{
    tok_tokenizer *t = make_tok(TOK_REMI_TRACKS);
    tok_seq plan = {0};
    uint8_t *open = chords_plan(t, &plan);
    const int trk1 = tok_id(t, TOK_T_TRACK, 1), n_open = 6;
    tg_model *m = make_model(tok_vocab_size(t), 32, MODEL_ATTN_RELATIVE, 2, 3.0f, 9);
    sample_gen_options o = sample_gen_options_default();
    o.num = 3, o.batch = 2, o.seed = 17;
    const sample_plan sp = {plan.ids, open, plan.n};
    tok_seq out[3], again[3];
    memset(out, 0, sizeof out);
    memset(again, 0, sizeof again);
    sample_gen_stats st;
    char err[256] = "";
    CHECK_OK(sample_fill(m, t, &sp, &o, out, &st, err, sizeof err));
    CHECK(st.slides > 0);
    CHECK_INT(st.ended_by_eos, 3);
    size_t written = 0;
    for (int r = 0; r < 3; r++) {
        size_t j = 0;
        bool in_open = false, ok = true;
        for (size_t i = 0; i < out[r].n; i++) {
            tok_type ty = tok_get_info(t, out[r].ids[i]).type;
            bool note = ty == TOK_T_POSITION || ty == TOK_T_PITCH || ty == TOK_T_VELOCITY || ty == TOK_T_DURATION;
            if (j < plan.n && out[r].ids[i] == plan.ids[j] && !(in_open && note)) {
                in_open = open[j++];
            } else {
                ok = ok && in_open && note;
                written++;
            }
        }
        CHECK(ok);
        CHECK_INT(j, plan.n);
        tg_score *d = NULL;
        CHECK_OK(tok_decode(t, out[r].ids, out[r].n, NULL, &d, NULL, NULL));
        tg_score_free(d);
    }
    CHECK_INT(written, st.new_tokens);
    CHECK(written > 0);
    CHECK_OK(sample_fill(m, t, &sp, &o, again, NULL, err, sizeof err));
    for (int r = 0; r < 3; r++) {
        CHECK(again[r].n == out[r].n && memcmp(again[r].ids, out[r].ids, out[r].n * 2) == 0);
        tok_seq_free(&again[r]);
    }
    CHECK(out[0].n != out[1].n || memcmp(out[0].ids, out[1].ids, out[0].n * 2) != 0);
    for (int r = 0; r < 3; r++) tok_seq_free(&out[r]);
    /* a plan the grammar refuses */
    uint16_t bad[3] = {TOK_BOS, (uint16_t)trk1, TOK_EOS};
    uint8_t bad_open[3] = {0, 0, 0};
    const sample_plan bp = {bad, bad_open, 3};
    CHECK_STATUS(sample_fill(m, t, &bp, &o, out, NULL, err, sizeof err), TG_ERR_GRAMMAR);
    printf("fill: 3 takes follow a plan of %zu tokens with %d open segments (%zu tokens written, %d slides)\n",
           plan.n, n_open, written, st.slides);
    model_free(m);
    free(open);
    tok_seq_free(&plan);
    tok_free(t);
}

/* The odds of ending a segment in any way go to the plan's closer: a model
 * that wants a Bar after every token closes each chords segment at once,
 * the last one too, where the plan has EOS and a Bar is not allowed
 * (without pooling it would write notes there until the segment's cap). */
static void test_fill_pooled_closers(void)
{
    tok_tokenizer *t = make_tok(TOK_REMI_TRACKS);
    tok_seq plan = {0};
    uint8_t *open = chords_plan(t, &plan);
    tg_model *m = make_model(tok_vocab_size(t), 32, MODEL_ATTN_RELATIVE, 2, 3.0f, 9);
    const model_params *p = model_get_params(m);
    const int C = model_get_config(m)->d_model, bar = tok_bar_id(t);
    const float *e = p->wte + (size_t)bar * C;
    double sq = 0.0;
    for (int c = 0; c < C; c++) sq += (double)e[c] * e[c];
    for (int c = 0; c < C; c++) p->lnf_w[c] = 0.0f, p->lnf_b[c] = (float)(40.0 * e[c] / sq); /* Bar's logit 40 */
    model_weights_changed(m);
    const int probe[2] = {TOK_BOS, bar}, V = tok_vocab_size(t);
    model_lm_forward(m, probe, NULL, 1, 2, NULL);
    const float *last = model_logits(m) + V;
    for (int id = 0; id < V; id++) CHECK(id == bar || last[id] < last[bar] - 10.0f);
    sample_gen_options o = sample_gen_options_default();
    o.num = 3, o.batch = 3, o.seed = 5;
    const sample_plan sp = {plan.ids, open, plan.n};
    tok_seq out[3];
    memset(out, 0, sizeof out);
    sample_gen_stats st;
    char err[256] = "";
    CHECK_OK(sample_fill(m, t, &sp, &o, out, &st, err, sizeof err));
    CHECK_INT(st.new_tokens, 0);
    CHECK_INT(st.ended_by_eos, 3);
    for (int r = 0; r < 3; r++) {
        CHECK(out[r].n == plan.n && memcmp(out[r].ids, plan.ids, plan.n * 2) == 0);
        tok_seq_free(&out[r]);
    }
    printf("fill: a model that wants a Bar everywhere closes the 6 chords segments of 3 takes at once, the last by EOS\n");
    model_free(m);
    free(open);
    tok_seq_free(&plan);
    tok_free(t);
}

int main(int argc, char **argv)
{
    nn_set_threads(1);
    if (argc > 1 && strcmp(argv[1], "nottingham") == 0) {
#ifdef TG_TEST_WITH_MIDI
        return run_nottingham();
#else
        printf("skipped: built without the MIDI reader\n");
        return TEST_SKIP_CODE;
#endif
    }
    test_cache_equality();
    test_sliding_window();
    test_sampler();
    test_pool_logits();
    test_grammar_encoded();
    test_grammar_walks();
    test_masked_sampling();
    test_repeatable();
    test_primers();
    test_fill();
    test_fill_pooled_closers();
    return test_finish("test_sample");
}
