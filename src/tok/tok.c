/*
 * tok.c: the common part of the tokenizers: vocabularies (names, types,
 * lookup by name through a small hash table), encode/decode through the
 * kind's table, the shared handling of PAD, BOS and EOS when decoding,
 * velocity bins and the clock of the timed kinds. The kinds live in
 * tok_remi.c, tok_grid.c, tok_perf.c and tok_raw.c, their registry and the
 * configs in tok_kind.c; tok.h documents their vocabularies and grammars.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

/* ------------------------------------------------------------------------ */
/* Vocabulary. */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

tg_status tok_add(tok_tokenizer *tok, tok_type type, int value, const char *name)
{
    if (tok->size >= 65535) return TG_ERR_TOO_LARGE;
    char **names = realloc(tok->names, (size_t)(tok->size + 1) * sizeof *names);
    if (!names) return TG_ERR_NOMEM;
    tok->names = names;
    tok_info *info = realloc(tok->info, (size_t)(tok->size + 1) * sizeof *info);
    if (!info) return TG_ERR_NOMEM;
    tok->info = info;
    char *copy = strdup(name);
    if (!copy) return TG_ERR_NOMEM;
    int id = tok->size++;
    tok->names[id] = copy;
    tok->info[id] = (tok_info){type, value};
    if (tok->base[type] < 0) {
        tok->base[type] = id;
        tok->first_value[type] = value;
    }
    tok->count[type]++;
    return TG_OK;
}

static tg_status build_hash(tok_tokenizer *tok)
{
    size_t cap = 16;
    while (cap < (size_t)tok->size * 2) cap *= 2;
    tok->hash = malloc(cap * sizeof *tok->hash);
    if (!tok->hash) return TG_ERR_NOMEM;
    tok->hash_cap = cap;
    for (size_t i = 0; i < cap; i++) tok->hash[i] = -1;
    for (int id = 0; id < tok->size; id++) {
        size_t h = (size_t)hash_name(tok->names[id]) & (cap - 1);
        while (tok->hash[h] >= 0) {
            if (strcmp(tok->names[tok->hash[h]], tok->names[id]) == 0) return TG_ERR_ARG; /* dup */
            h = (h + 1) & (cap - 1);
        }
        tok->hash[h] = id;
    }
    return TG_OK;
}

void tok_velocity_bins(tok_tokenizer *tok, int bins)
{
    /* bin(v) = (v - 1) * bins / 127 for v in 1..127; the centre of a bin is the
     * middle of the velocities it holds (rounded up). Velocity 0 goes with 1. */
    int lo[128], hi[128];
    for (int k = 0; k < 128; k++) lo[k] = 200, hi[k] = -1;
    for (int v = 1; v <= 127; v++) {
        int k = (v - 1) * bins / 127;
        tok->vel_bin[v] = (uint8_t)k;
        if (v < lo[k]) lo[k] = v;
        if (v > hi[k]) hi[k] = v;
    }
    tok->vel_bin[0] = tok->vel_bin[1];
    for (int k = 0; k < bins; k++) tok->vel_centre[k] = (uint8_t)((lo[k] + hi[k] + 1) / 2);
}

tg_status tok_create(const tok_config *cfg, tok_tokenizer **out)
{
    *out = NULL;
    tg_status st = tok_config_check(cfg, NULL, 0);
    if (st != TG_OK) return st;
    tok_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return TG_ERR_NOMEM;
    tok->cfg = *cfg;
    tok->ops = tok_kind_get(cfg->kind); /* known: tok_config_check passed */
    for (int t = 0; t < TOK_T_COUNT_; t++) tok->base[t] = -1;
    st = tok_add(tok, TOK_T_PAD, 0, "PAD");
    if (st == TG_OK) st = tok_add(tok, TOK_T_BOS, 0, "BOS");
    if (st == TG_OK) st = tok_add(tok, TOK_T_EOS, 0, "EOS");
    if (st == TG_OK) st = tok->ops->build(tok);
    if (st == TG_OK) st = build_hash(tok);
    if (st != TG_OK) {
        tok_free(tok);
        return st;
    }
    *out = tok;
    return TG_OK;
}

void tok_free(tok_tokenizer *tok)
{
    if (!tok) return;
    for (int i = 0; i < tok->size; i++) free(tok->names[i]);
    free(tok->names);
    free(tok->info);
    free(tok->hash);
    free(tok);
}

const tok_config *tok_get_config(const tok_tokenizer *tok) { return &tok->cfg; }
int tok_vocab_size(const tok_tokenizer *tok) { return tok->size; }

const char *tok_name(const tok_tokenizer *tok, int id)
{
    return id >= 0 && id < tok->size ? tok->names[id] : "?";
}

int tok_lookup(const tok_tokenizer *tok, const char *name)
{
    size_t h = (size_t)hash_name(name) & (tok->hash_cap - 1);
    while (tok->hash[h] >= 0) {
        if (strcmp(tok->names[tok->hash[h]], name) == 0) return tok->hash[h];
        h = (h + 1) & (tok->hash_cap - 1);
    }
    return -1;
}

tok_info tok_get_info(const tok_tokenizer *tok, int id)
{
    if (id < 0 || id >= tok->size) return (tok_info){TOK_T_COUNT_, 0};
    return tok->info[id];
}

int tok_id(const tok_tokenizer *tok, tok_type type, int value)
{
    /* Within a type, values are consecutive except for TimeSig (meter index,
     * also consecutive) and Program_drums (128 after 127): all consecutive. */
    if ((int)type < 0 || type >= TOK_T_COUNT_ || tok->base[type] < 0) return -1;
    int k = value - tok->first_value[type];
    if (k < 0 || k >= tok->count[type]) return -1;
    return tok->base[type] + k;
}

tg_status tok_clock_init(tok_clock *c, const tg_score *s, const tg_track *track)
{
    memset(c, 0, sizeof *c);
    c->score = s;
    c->chunk = s->format == 2 ? track->chunk : -1;
    if (s->ticks_per_quarter <= 0 || s->n_tempos == 0) return TG_OK;
    size_t n = s->n_tempos;
    c->ticks = malloc(n * sizeof *c->ticks);
    c->usec = malloc(n * sizeof *c->usec);
    c->sec = malloc(n * sizeof *c->sec);
    if (!c->ticks || !c->usec || !c->sec) {
        tok_clock_free(c);
        return TG_ERR_NOMEM;
    }
    double tpq = (double)s->ticks_per_quarter;
    double sec = 0.0;
    int64_t at = 0;
    uint32_t usec = 500000u;
    for (size_t i = 0; i < n; i++) {
        const tg_tempo *t = &s->tempos[i];
        if (s->format == 2 && t->chunk != c->chunk && t->chunk >= 0) continue;
        if (c->n > 0 && t->ticks < c->ticks[c->n - 1]) {
            c->walk = true;
            break;
        }
        sec += (double)(t->ticks - at) * usec / (tpq * 1e6);
        at = t->ticks;
        usec = t->usec_per_quarter;
        c->ticks[c->n] = at;
        c->usec[c->n] = usec;
        c->sec[c->n] = sec;
        c->n++;
    }
    return TG_OK;
}

int64_t tok_clock_usec(const tok_clock *c, int64_t ticks)
{
    const tg_score *s = c->score;
    if (s->ticks_per_quarter <= 0 || c->walk)
        return (int64_t)llround(tg_score_ticks_to_sec(s, c->chunk, ticks) * 1e6);
    /* events before ticks: [0, lo) */
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ticks[mid] < ticks)
            lo = mid + 1;
        else
            hi = mid;
    }
    double tpq = (double)s->ticks_per_quarter;
    double sec = lo == 0 ? 0.0 : c->sec[lo - 1];
    int64_t at = lo == 0 ? 0 : c->ticks[lo - 1];
    uint32_t usec = lo == 0 ? 500000u : c->usec[lo - 1];
    return (int64_t)llround((sec + (double)(ticks - at) * usec / (tpq * 1e6)) * 1e6);
}

void tok_clock_free(tok_clock *c)
{
    free(c->ticks);
    free(c->usec);
    free(c->sec);
    c->ticks = NULL;
    c->usec = NULL;
    c->sec = NULL;
}

tg_status tok_timed_score(const char *track_name, const tg_note *notes, size_t n, tg_score **out)
{
    *out = NULL;
    tg_score *s;
    tg_status st = tg_score_create(TOK_TIMED_TPQ, &s);
    if (st != TG_OK) return st;
    size_t t;
    st = tg_score_add_tempo(s, (tg_tempo){0, 500000, -1});
    if (st == TG_OK) st = tg_score_add_timesig(s, (tg_timesig){0, 4, 4, -1});
    if (st == TG_OK) st = tg_score_add_track(s, track_name, 0, 0, -1, &t);
    for (size_t i = 0; st == TG_OK && i < n; i++) st = tg_score_add_note(s, t, notes[i]);
    if (st != TG_OK) {
        tg_score_free(s);
        return st;
    }
    if (n > 0) tg_score_sort(s); /* (tg_score_sort hands an empty track's NULL array to qsort) */
    *out = s;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Sequences. */

void tok_seq_free(tok_seq *seq)
{
    free(seq->ids);
    seq->ids = NULL;
    seq->n = seq->cap = 0;
}

tg_status tok_seq_push(tok_seq *seq, int id)
{
    if (seq->n == seq->cap) {
        tg_status st = tg_grow((void **)&seq->ids, &seq->cap, seq->n + 1, sizeof *seq->ids);
        if (st != TG_OK) return st;
    }
    seq->ids[seq->n++] = (uint16_t)id;
    return TG_OK;
}

tg_status tok_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    seq->n = 0;
    return tok->ops->encode(tok, score, seq);
}

/* ------------------------------------------------------------------------ */
/* Decoding. */

tok_decode_options tok_decode_options_default(void)
{
    tok_decode_options o;
    memset(&o, 0, sizeof o);
    return o;
}

tg_status tok_dec_problem(tok_dec *d, size_t index, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!d->opt->lenient) {
        if (d->err) {
            d->err->index = index;
            snprintf(d->err->what, sizeof d->err->what, "%s", what);
        }
        return TG_ERR_GRAMMAR;
    }
    d->repairs++;
    const char *name = d->opt->name ? d->opt->name : "tokens";
    if (d->opt->lines)
        tg_log(&d->opt->logger, TG_LOG_WARN, "%s:%u: repaired: %s", name,
               (unsigned)d->opt->lines[index], what);
    else
        tg_log(&d->opt->logger, TG_LOG_WARN, "%s: token %zu: repaired: %s", name, index, what);
    return TG_OK;
}

int tok_dec_common(tok_dec *d, const uint16_t *ids, size_t n, size_t i, tg_status *st)
{
    *st = TG_OK;
    int id = ids[i];
    if (id >= d->tok->size) {
        *st = tok_dec_problem(d, i, "id %d is outside the vocabulary (size %d): dropped", id,
                              d->tok->size);
        return 1;
    }
    switch (d->tok->info[id].type) {
    case TOK_T_BOS:
        if (i != 0) *st = tok_dec_problem(d, i, "BOS inside the sequence: dropped");
        return 1;
    case TOK_T_EOS:
        for (size_t j = i + 1; j < n; j++)
            if (ids[j] != TOK_PAD) {
                *st = tok_dec_problem(d, j, "%s after EOS: ignored with the rest",
                                      tok_name(d->tok, ids[j]));
                break;
            }
        return 2;
    case TOK_T_PAD: {
        size_t j = i + 1;
        while (j < n && ids[j] == TOK_PAD) j++;
        if (j == n) return 2; /* padding at the end */
        *st = tok_dec_problem(d, i, "PAD inside the sequence: dropped");
        return 1;
    }
    default: return 0;
    }
}

tg_status tok_decode(const tok_tokenizer *tok, const uint16_t *ids, size_t n,
                     const tok_decode_options *opt, tg_score **out, tok_decode_error *err,
                     size_t *repairs)
{
    *out = NULL;
    tok_decode_options def = tok_decode_options_default();
    tok_dec d = {tok, opt ? opt : &def, err, 0};
    if (err) {
        err->index = 0;
        err->what[0] = 0;
    }
    tg_status st = tok->ops->decode(&d, ids, n, out);
    if (repairs) *repairs = d.repairs;
    return st;
}
