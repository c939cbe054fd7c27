/*
 * test_tok.c: the tokenizers. Vocabularies and config strings; the round trip
 * decode(encode(score)) against an oracle written here from tok.h's contract
 * (not from the encoders), on scores built in code (several programs, drums,
 * tempo changes, 3/4 and 6/8, meter changes inside a bar, notes across bar
 * lines, notes longer than two bars) and on the MIDI fixtures in tests/data;
 * strict decoding of broken sequences (status and index) and lenient repair.
 * remi-compact against remi: its tokens are remi's without the repeated
 * Programs and Velocities, they decode to the same score, the grammar agrees.
 * Run with the argument "nottingham" it counts exact round trips over
 * ../shared/data/nottingham/full instead (skipped when the folder is missing);
 * with "remi-compact", remi-compact against remi on every file of
 * nottingham/full and jsb-chorales/midi.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include "core/core.h"
#include "tok/tok.h"
#include "test.h"

/* ------------------------------------------------------------------------ */
/* Helpers. */

static tok_tokenizer *make_tok(tok_kind kind)
{
    tok_config c = tok_config_default(kind);
    tok_tokenizer *t = NULL;
    CHECK_OK(tok_create(&c, &t));
    return t;
}

static void add(tg_score *s, size_t track, int64_t a, int64_t b, int pitch, int vel)
{
    tg_note n = {a, b, (uint8_t)pitch, (uint8_t)vel, (uint8_t)s->tracks[track].channel};
    CHECK_OK(tg_score_add_note(s, track, n));
}

static uint16_t *ids_of(const tok_tokenizer *t, const char *const *names, size_t n)
{
    uint16_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        int id = tok_lookup(t, names[i]);
        if (id < 0) fprintf(stderr, "unknown token name %s\n", names[i]);
        CHECK(id >= 0);
        ids[i] = (uint16_t)(id < 0 ? 0 : id);
    }
    return ids;
}

/* A note as the oracle sees it: program (128 drums), pitch, times in the
 * tokenizer's unit, velocity. */
typedef struct {
    int program, pitch;
    int64_t start, end;
    int vel;
} qnote;

static int cmp_qnote(const void *pa, const void *pb)
{
    const qnote *a = pa, *b = pb;
    if (a->program != b->program) return a->program - b->program;
    if (a->pitch != b->pitch) return a->pitch - b->pitch;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->vel != b->vel) return a->vel - b->vel;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return 0;
}

typedef struct {
    qnote *v;
    size_t n;
} qlist;

static void qpush(qlist *l, qnote q)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = q;
}

/* Compares two note lists; prints the first difference. Returns 1 when equal. */
static int qsame(qlist *want, qlist *got, const char *what)
{
    if (want->n) qsort(want->v, want->n, sizeof *want->v, cmp_qnote);
    if (got->n) qsort(got->v, got->n, sizeof *got->v, cmp_qnote);
    if (want->n != got->n) {
        fprintf(stderr, "%s: %zu notes expected, %zu decoded\n", what, want->n, got->n);
        return 0;
    }
    for (size_t i = 0; i < want->n; i++)
        if (cmp_qnote(&want->v[i], &got->v[i]) != 0) {
            const qnote *a = &want->v[i], *b = &got->v[i];
            fprintf(stderr,
                    "%s: note %zu: want prog %d pitch %d [%lld,%lld) vel %d, got prog %d pitch %d "
                    "[%lld,%lld) vel %d\n",
                    what, i, a->program, a->pitch, (long long)a->start, (long long)a->end, a->vel,
                    b->program, b->pitch, (long long)b->start, (long long)b->end, b->vel);
            return 0;
        }
    return 1;
}

/* The oracle's velocity bins: 32 bins over 1..127, centre = middle of the bin's range. */
static int vel_centre(int v, int bins)
{
    int k = (v - 1) * bins / 127, lo = 999, hi = -1;
    for (int u = 1; u <= 127; u++)
        if ((u - 1) * bins / 127 == k) {
            if (u < lo) lo = u;
            if (u > hi) hi = u;
        }
    return (lo + hi + 1) / 2;
}

/* ------------------------------------------------------------------------ */
/* Oracles from tok.h's round-trip contract. */

static int64_t nearest(int64_t ticks, int64_t num, int64_t den)
{
    /* round(ticks * num / den), ties up */
    return (ticks * num * 2 + den) / (2 * den);
}

/* remi time: steps from ticks; SMPTE time from seconds at 120 bpm */
static int64_t remi_step(const tg_score *s, int spq, int64_t ticks)
{
    if (s->ticks_per_quarter > 0) return nearest(ticks, spq, s->ticks_per_quarter);
    return (int64_t)floor(tg_score_ticks_to_sec(s, -1, ticks) * 2 * spq + 0.5);
}

static qlist remi_expected(const tg_score *s, const tok_config *c)
{
    qlist l = {0};
    int spq = c->remi.steps_per_quarter;
    for (size_t t = 0; t < s->n_tracks; t++)
        for (size_t i = 0; i < s->tracks[t].n_notes; i++) {
            const tg_note *n = &s->tracks[t].notes[i];
            int64_t a = remi_step(s, spq, n->start_ticks);
            int64_t b = remi_step(s, spq, n->end_ticks);
            if (b <= a) b = a + 1;
            if (b - a > c->remi.max_duration_steps) b = a + c->remi.max_duration_steps;
            qpush(&l, (qnote){s->tracks[t].is_drum ? 128 : s->tracks[t].program, n->pitch, a, b,
                              vel_centre(n->velocity, c->remi.velocity_bins)});
        }
    return l;
}

static qlist remi_got(const tg_score *d, const tok_config *c)
{
    qlist l = {0};
    int64_t tps = d->ticks_per_quarter / c->remi.steps_per_quarter;
    CHECK_INT(d->ticks_per_quarter, 40 * c->remi.steps_per_quarter);
    for (size_t t = 0; t < d->n_tracks; t++) {
        CHECK_INT(d->tracks[t].is_drum, d->tracks[t].channel == 9);
        for (size_t i = 0; i < d->tracks[t].n_notes; i++) {
            const tg_note *n = &d->tracks[t].notes[i];
            CHECK_INT(n->start_ticks % tps, 0);
            qpush(&l, (qnote){d->tracks[t].is_drum ? 128 : d->tracks[t].program, n->pitch,
                              n->start_ticks / tps, n->end_ticks / tps, n->velocity});
        }
    }
    return l;
}

/* perf: per pitch, onsets (sorted with their velocity bins) paired in order with sorted ends. */
static int cmp_i64p(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static qlist perf_expected(const tg_score *s, const tok_config *c)
{
    qlist l = {0};
    double step = c->perf.shift_ms / 1000.0;
    for (int p = 0; p < 128; p++) {
        int64_t *on = NULL, *off = NULL;
        size_t n = 0;
        for (size_t t = 0; t < s->n_tracks; t++) {
            const tg_track *tr = &s->tracks[t];
            if (tr->is_drum) continue;
            int chunk = s->format == 2 ? tr->chunk : -1;
            for (size_t i = 0; i < tr->n_notes; i++) {
                const tg_note *nt = &tr->notes[i];
                if (nt->pitch != p) continue;
                int64_t a = llround(llround(tg_score_ticks_to_sec(s, chunk, nt->start_ticks) * 1e6) /
                                    (step * 1e6) + 1e-9);
                int64_t b = llround(llround(tg_score_ticks_to_sec(s, chunk, nt->end_ticks) * 1e6) /
                                    (step * 1e6) + 1e-9);
                if (b <= a) b = a + 1;
                on = realloc(on, (n + 1) * sizeof *on);
                off = realloc(off, (n + 1) * sizeof *off);
                /* onset and velocity centre packed in one key so that ties sort by velocity */
                on[n] = a * 256 + vel_centre(nt->velocity, c->perf.velocity_bins);
                off[n] = b;
                n++;
            }
        }
        if (n == 0) continue;
        qsort(on, n, sizeof *on, cmp_i64p);
        qsort(off, n, sizeof *off, cmp_i64p);
        for (size_t i = 0; i < n; i++)
            qpush(&l, (qnote){0, p, on[i] / 256, off[i], (int)(on[i] % 256)});
        free(on);
        free(off);
    }
    return l;
}

static qlist timed_got(const tg_score *d, int64_t ticks_per_unit)
{
    qlist l = {0};
    CHECK_INT(d->ticks_per_quarter, TOK_TIMED_TPQ);
    CHECK_INT(tg_score_tempo_at(d, -1, 0), 500000);
    for (size_t t = 0; t < d->n_tracks; t++)
        for (size_t i = 0; i < d->tracks[t].n_notes; i++) {
            const tg_note *n = &d->tracks[t].notes[i];
            qpush(&l, (qnote){0, n->pitch, n->start_ticks / ticks_per_unit,
                              n->end_ticks / ticks_per_unit, n->velocity});
        }
    return l;
}

/* Whether the decoded remi score has the original's bar lines (in steps) up to
 * the last onset; remi changes them only for bars no meter token fits. */
static int bars_kept = 0, bars_checked = 0;

static void check_bars(const tg_score *s, const tg_score *d, int spq)
{
    if (s->ticks_per_quarter <= 0) return;
    int64_t last = 0;
    for (size_t t = 0; t < s->n_tracks; t++)
        for (size_t i = 0; i < s->tracks[t].n_notes; i++)
            if (s->tracks[t].notes[i].start_ticks > last) last = s->tracks[t].notes[i].start_ticks;
    int64_t *b1, *b2;
    size_t n1, n2;
    if (tg_score_bar_lines(s, last, &b1, &n1) != TG_OK) return;
    if (tg_score_bar_lines(d, remi_step(s, spq, last) * 40, &b2, &n2) != TG_OK) {
        free(b1);
        return;
    }
    int same = n1 == n2;
    for (size_t i = 0; same && i < n1; i++) same = remi_step(s, spq, b1[i]) * 40 == b2[i];
    bars_checked++;
    bars_kept += same;
    free(b1);
    free(b2);
}

/* Encodes, decodes strictly, compares with the oracle; returns 1 when exact,
 * -1 when the encoder refuses a piece longer than TOK_MAX_STEPS, else 0. */
static int roundtrip(const tok_tokenizer *t, const tg_score *s, const char *what, int quiet)
{
    const tok_config *c = tok_get_config(t);
    tok_seq seq = {0};
    tg_status st = tok_encode(t, s, &seq);
    if (st == TG_ERR_TOO_LARGE) {
        printf("%s: refused: longer than %lld steps\n", what, (long long)TOK_MAX_STEPS);
        tok_seq_free(&seq);
        return -1;
    }
    if (st != TG_OK) {
        fprintf(stderr, "%s: encode: %s\n", what, tg_status_str(st));
        return 0;
    }
    tg_score *d = NULL;
    tok_decode_error err;
    st = tok_decode(t, seq.ids, seq.n, NULL, &d, &err, NULL);
    if (st != TG_OK) {
        fprintf(stderr, "%s: decode: %s at %zu: %s\n", what, tg_status_str(st), err.index, err.what);
        tok_seq_free(&seq);
        return 0;
    }
    int ok = 1;
    if (c->kind == TOK_REMI || c->kind == TOK_REMI_COMPACT) {
        qlist want = remi_expected(s, c), got = remi_got(d, c);
        ok = qsame(&want, &got, what);
        check_bars(s, d, c->remi.steps_per_quarter);
        free(want.v);
        free(got.v);
    } else if (c->kind == TOK_PERF) {
        qlist want = perf_expected(s, c), got = timed_got(d, c->perf.shift_ms);
        ok = qsame(&want, &got, what);
        free(want.v);
        free(got.v);
    }
    /* every kind: encoding the decoded score gives the same tokens */
    tok_seq again = {0};
    CHECK_OK(tok_encode(t, d, &again));
    if (again.n != seq.n || memcmp(again.ids, seq.ids, seq.n * sizeof *seq.ids) != 0) {
        if (!quiet) fprintf(stderr, "%s: re-encoding differs (%zu vs %zu tokens)\n", what,
                            again.n, seq.n);
        ok = 0;
    }
    tok_seq_free(&again);
    tok_seq_free(&seq);
    tg_score_free(d);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Vocabularies and configs. */

static void test_vocab(void)
{
    static const struct {
        tok_kind kind;
        int size;
    } sizes[] = {{TOK_REMI, 577}, {TOK_GRID, 92}, {TOK_PERF, 391}};
    for (size_t k = 0; k < 3; k++) {
        tok_tokenizer *t = make_tok(sizes[k].kind);
        CHECK_INT(tok_vocab_size(t), sizes[k].size);
        CHECK_STR(tok_name(t, TOK_PAD), "PAD");
        CHECK_STR(tok_name(t, TOK_BOS), "BOS");
        CHECK_STR(tok_name(t, TOK_EOS), "EOS");
        for (int id = 0; id < tok_vocab_size(t); id++) {
            CHECK_INT(tok_lookup(t, tok_name(t, id)), id);
            tok_info in = tok_get_info(t, id);
            CHECK_INT(tok_id(t, in.type, in.value), id);
        }
        CHECK_INT(tok_lookup(t, "Pitch_128"), -1);
        CHECK_INT(tok_lookup(t, ""), -1);
        CHECK_STR(tok_name(t, 9999), "?");
        tok_free(t);
    }
    tok_tokenizer *t = make_tok(TOK_REMI);
    CHECK_INT(tok_lookup(t, "Bar"), 3);
    CHECK_INT(tok_lookup(t, "Position_0"), 4);
    CHECK(tok_lookup(t, "Position_95") > 0);
    CHECK_INT(tok_lookup(t, "Position_96"), -1);
    CHECK(tok_lookup(t, "TimeSig_6/8") > 0);
    CHECK(tok_lookup(t, "TimeSig_7/16") > 0);
    CHECK_INT(tok_lookup(t, "TimeSig_5/1"), -1);
    CHECK(tok_lookup(t, "Program_drums") > 0);
    CHECK_INT(tok_get_info(t, tok_lookup(t, "Program_drums")).value, 128);
    CHECK(tok_lookup(t, "Duration_96") > 0);
    CHECK_INT(tok_lookup(t, "Duration_97"), -1);
    CHECK_INT(tok_lookup(t, "Duration_0"), -1);
    CHECK_STR(tok_name(t, tok_vocab_size(t) - 1), "Duration_96");
    tok_free(t);
    t = make_tok(TOK_GRID);
    CHECK_STR(tok_name(t, 3), "Rest");
    CHECK_STR(tok_name(t, 4), "Key_21");
    CHECK_STR(tok_name(t, 91), "Key_108");
    tok_free(t);
    t = make_tok(TOK_PERF);
    CHECK_STR(tok_name(t, 3), "NoteOn_0");
    CHECK_STR(tok_name(t, 131), "NoteOff_0");
    CHECK_STR(tok_name(t, 259), "TimeShift_1");
    CHECK_STR(tok_name(t, 358), "TimeShift_100");
    CHECK_STR(tok_name(t, 390), "Velocity_31");
    tok_free(t);
}

static void test_config_string(void)
{
    char buf[256], why[128];
    for (int k = 0; k < 3; k++) {
        tok_config c = tok_config_default((tok_kind)k), back;
        CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
        CHECK_OK(tok_config_parse(buf, &back, why, sizeof why));
        char again[256];
        CHECK_OK(tok_config_to_string(&back, again, sizeof again));
        CHECK_STR(again, buf);
    }
    tok_config c = tok_config_default(TOK_REMI);
    CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
    CHECK_STR(buf, "remi:v=1,steps_per_quarter=12,tempo_bins=32,tempo_min_bpm=30,"
                   "tempo_max_bpm=300,velocity_bins=32,max_duration_steps=96");
    CHECK_STATUS(tok_config_to_string(&c, buf, 10), TG_ERR_TOO_LARGE);
    c = tok_config_default(TOK_GRID);
    CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
    CHECK_STR(buf, "grid:v=1,step_sec=0.4,pitch_min=21,pitch_max=108");
    c.grid.step_sec = 1.0 / 3.0; /* needs 17 digits to read back */
    CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
    tok_config back;
    CHECK_OK(tok_config_parse(buf, &back, why, sizeof why));
    CHECK(back.grid.step_sec == c.grid.step_sec);
    CHECK_OK(tok_config_parse("grid", &c, why, sizeof why));
    CHECK_INT(c.kind, TOK_GRID);
    CHECK_NEAR(c.grid.step_sec, 0.4, 1e-15);
    CHECK_OK(tok_config_parse("grid:step_sec=0.25", &c, why, sizeof why));
    CHECK_NEAR(c.grid.step_sec, 0.25, 1e-15);
    CHECK_INT(c.grid.pitch_min, 21);
    CHECK_OK(tok_config_parse("perf:v=1,velocity_bins=16", &c, why, sizeof why));
    CHECK_INT(c.perf.velocity_bins, 16);
    CHECK_STATUS(tok_config_parse("midi", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK(strstr(why, "unknown tokenizer") != NULL);
    CHECK_STATUS(tok_config_parse("remi:foo=1", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK(strstr(why, "foo") != NULL);
    CHECK_STATUS(tok_config_parse("remi:steps_per_quarter=x", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK_STATUS(tok_config_parse("remi:steps_per_quarter", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK_STATUS(tok_config_parse("remi:steps_per_quarter=0", &c, why, sizeof why), TG_ERR_RANGE);
    CHECK_STATUS(tok_config_parse("remi:v=2", &c, why, sizeof why), TG_ERR_VERSION);
    CHECK_STATUS(tok_config_parse("", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK_STATUS(tok_config_parse("grid:pitch_min=90,pitch_max=80", &c, why, sizeof why),
                 TG_ERR_RANGE);
    /* other settings make other vocabularies */
    tok_config g;
    CHECK_OK(tok_config_parse("grid:pitch_min=60,pitch_max=71", &g, why, sizeof why));
    tok_tokenizer *t;
    CHECK_OK(tok_create(&g, &t));
    CHECK_INT(tok_vocab_size(t), 4 + 12);
    tok_free(t);
    tok_config r;
    CHECK_OK(tok_config_parse("remi:steps_per_quarter=2,max_duration_steps=16", &r, why, sizeof why));
    CHECK_OK(tok_create(&r, &t));
    CHECK(tok_lookup(t, "Position_15") > 0);
    CHECK_INT(tok_lookup(t, "Position_16"), -1);
    CHECK_INT(tok_lookup(t, "TimeSig_3/16"), -1); /* 3/16 is 1.5 steps at 2 per quarter */
    CHECK(tok_lookup(t, "TimeSig_6/8") > 0);
    tok_free(t);
}

/* ------------------------------------------------------------------------ */
/* Scores built in code. */

/* Two programs and drums, 4/4 then 3/4 then 6/8, tempo changes, notes across
 * bar lines, a note longer than two bars, ticks off the step grid. */
static tg_score *rich_score(void)
{
    tg_score *s;
    CHECK_OK(tg_score_create(480, &s));
    size_t mel, bass, drums;
    CHECK_OK(tg_score_add_track(s, "Flute", 0, 73, 0, &mel));
    CHECK_OK(tg_score_add_track(s, "Bass", 1, 33, 1, &bass));
    CHECK_OK(tg_score_add_track(s, "Kit", 9, 0, 2, &drums));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 4, 4, -1}));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){1920 * 2, 3, 4, -1}));         /* bar 2 */
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){1920 * 2 + 1440 * 2, 6, 8, -1})); /* bar 4 */
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){0, 500000, -1}));
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){1920 + 240, 400000, -1}));  /* mid-bar: 150 bpm */
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){1920 * 2, 400100, -1}));   /* same bin: no token */
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){1920 * 3, 1000000, -1}));  /* 60 bpm */
    int64_t t = 0;
    for (int i = 0; i < 24; i++) {
        add(s, mel, t, t + 240, 60 + (i * 5) % 19, 40 + i * 3);
        t += 240;
    }
    add(s, mel, 1800, 2100, 79, 90);            /* across the first bar line */
    add(s, mel, 7, 473, 55, 127);               /* off the grid: rounds to 0..12 steps */
    add(s, mel, 1000, 1001, 90, 1);             /* shorter than a step: keeps one step */
    add(s, bass, 0, 1920 * 4, 36, 100);         /* longer than two bars: clipped to 96 steps */
    add(s, bass, 0, 1920, 36, 100);             /* same pitch, same onset, other length */
    add(s, bass, 5000, 5400, 43, 64);
    add(s, bass, 5000, 5400, 43, 64);           /* exact duplicate */
    for (int b = 0; b < 16; b++) add(s, drums, b * 480, b * 480 + 60, b % 2 ? 38 : 36, 110);
    add(s, mel, 1920 * 2 + 1440 * 2 + 1440 + 240, 1920 * 2 + 1440 * 2 + 1440 + 480, 72, 80);
    return s;
}

/* Whether two configs hold the same kind and values (every kind's part,
 * read through the kinds' keys: padding bytes do not count). */
static bool same_config(const tok_config *a, const tok_config *b)
{
    if (a->kind != b->kind) return false;
    for (size_t i = 0; i < tok_kind_count(); i++) {
        const tok_kind_ops *k = tok_kind_at(i);
        for (int j = 0; j < k->n_keys; j++) {
            const char *x = (const char *)a + k->keys[j].offset;
            const char *y = (const char *)b + k->keys[j].offset;
            if (memcmp(x, y, k->keys[j].real ? sizeof(double) : sizeof(int)) != 0) return false;
        }
    }
    return true;
}

/* The registry of kinds: every table complete, names and keys unique, each
 * kind's default config string read back to the same config. */
static void test_registry(void)
{
    size_t n = tok_kind_count();
    CHECK(n >= 4);
    CHECK(tok_kind_at(n) == NULL);
    CHECK(tok_kind_get((tok_kind)-1) == NULL);
    for (size_t i = 0; i < n; i++) {
        const tok_kind_ops *k = tok_kind_at(i);
        CHECK(k != NULL && k->name != NULL);
        CHECK_INT(k->kind, (int)i); /* the registry is in tok_kind order */
        CHECK(tok_kind_get(k->kind) == k);
        CHECK_STR(tok_kind_name(k->kind), k->name);
        tok_kind parsed;
        CHECK_OK(tok_kind_parse(k->name, &parsed));
        CHECK_INT(parsed, k->kind);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(tok_kind_at(j)->name, k->name) != 0);
        CHECK(k->config_default && k->config_check && k->build && k->encode && k->decode);
        CHECK(k->grammar_init && k->grammar_allows && k->grammar_feed && k->grammar_can_close);
        CHECK(k->grammar_close && k->grammar_time && k->grammar_pad);
        CHECK(k->steps_per_quarter && k->unit_sec);
        CHECK(k->keys != NULL && k->n_keys >= 1);
        for (int a = 0; a < k->n_keys; a++) {
            CHECK(strcmp(k->keys[a].key, "v") != 0);
            CHECK(k->keys[a].offset + (k->keys[a].real ? sizeof(double) : sizeof(int)) <=
                  sizeof(tok_config));
            for (int b = 0; b < a; b++) CHECK(strcmp(k->keys[a].key, k->keys[b].key) != 0);
        }

        /* the default config string, read back, writes itself again */
        char buf[512], again[512], why[160];
        tok_config c = tok_config_default(k->kind), back;
        CHECK_OK(tok_config_check(&c, why, sizeof why));
        CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
        CHECK(strncmp(buf, k->name, strlen(k->name)) == 0);
        CHECK_OK(tok_config_parse(buf, &back, why, sizeof why));
        CHECK_INT(back.kind, k->kind);
        CHECK(same_config(&back, &c));
        CHECK_OK(tok_config_to_string(&back, again, sizeof again));
        CHECK_STR(again, buf);
        CHECK_OK(tok_config_parse(k->name, &back, why, sizeof why)); /* a bare kind */
        CHECK(same_config(&back, &c));
        /* every key can be set by name; an unknown one cannot */
        for (int a = 0; a < k->n_keys; a++) {
            const char *at = (const char *)&c + k->keys[a].offset;
            double v = k->keys[a].real ? *(const double *)at : *(const int *)at;
            CHECK_OK(tok_config_set(&back, k->keys[a].key, v));
        }
        CHECK(same_config(&back, &c));
        CHECK_STATUS(tok_config_set(&back, "no_such_key", 1.0), TG_ERR_ARG);

        /* the tokenizer it makes, and what samplers ask of it */
        tok_tokenizer *t = NULL;
        CHECK_OK(tok_create(&c, &t));
        CHECK(tok_vocab_size(t) > 3);
        CHECK_INT(tok_has_bars(t), tok_bar_id(t) >= 0);
        if (tok_has_bars(t)) CHECK_STR(tok_name(t, tok_bar_id(t)), "Bar");
        if (tok_is_music(t))
            CHECK((tok_steps_per_quarter(t) > 0) != (k->unit_sec(&c) > 0));
        tok_grammar g;
        tok_grammar_init(&g, t);
        CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
        CHECK(tok_grammar_can_end(&g));
        CHECK(tok_grammar_can_close(&g));
        CHECK_INT(tok_grammar_time(&g), 0);
        tok_free(t);
    }
    /* the kinds as they were: bars, time units, padding */
    tok_tokenizer *t[4] = {make_tok(TOK_REMI), make_tok(TOK_GRID), make_tok(TOK_PERF),
                           make_tok(TOK_RAW)};
    CHECK(tok_has_bars(t[0]) && !tok_has_bars(t[1]) && !tok_has_bars(t[2]) && !tok_has_bars(t[3]));
    CHECK(tok_is_music(t[0]) && tok_is_music(t[1]) && tok_is_music(t[2]) && !tok_is_music(t[3]));
    CHECK(!tok_drops_notes(t[0]) && tok_drops_notes(t[1]) && tok_drops_notes(t[2]));
    CHECK(!tok_merges_repeats(t[0]) && tok_merges_repeats(t[1]) && !tok_merges_repeats(t[2]));
    CHECK_INT(tok_steps_per_quarter(t[0]), 12);
    CHECK_INT(tok_steps_per_quarter(t[1]), 0);
    CHECK_NEAR(tok_time_sec(t[1], NULL, 5), 2.0, 1e-12);
    CHECK_NEAR(tok_time_sec(t[2], NULL, 150), 1.5, 1e-12);
    tg_score *smpte = NULL;
    CHECK_OK(tg_score_create(0, &smpte)); /* no ticks per quarter (SMPTE): remi reads 120 bpm */
    CHECK_NEAR(tok_time_sec(t[0], smpte, 24), 1.0, 1e-12);
    tg_score_free(smpte);
    tok_seq seq = {0};
    for (int k = 0; k < 4; k++) {
        tok_grammar g;
        tok_grammar_init(&g, t[k]);
        CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
        seq.n = 0;
        tg_status st = tok_grammar_pad(&g, 1000000, &seq);
        CHECK_STATUS(st, k == 1 || k == 2 ? TG_OK : TG_ERR_UNSUPPORTED);
        if (k == 1) { /* samples at 0, 0.4 and 0.8 s come before 1 s */
            CHECK_INT(seq.n, 3);
            CHECK_STR(tok_name(t[k], seq.ids[2]), "Rest");
        }
        if (k == 2) { /* 100 shifts of 10 ms */
            CHECK_INT(seq.n, 1);
            CHECK_STR(tok_name(t[k], seq.ids[0]), "TimeShift_100");
        }
    }
    tok_free(t[3]);
    tok_free(t[2]);
    tok_free(t[1]);
    tok_free(t[0]);
    tok_seq_free(&seq);
}

static void test_remi_roundtrip(void)
{
    tok_tokenizer *t = make_tok(TOK_REMI);
    tg_score *s = rich_score();
    CHECK(roundtrip(t, s, "remi rich score", 0));

    /* meters bar by bar and tempo bins at their steps */
    tok_seq seq = {0};
    CHECK_OK(tok_encode(t, s, &seq));
    CHECK_INT(seq.ids[0], TOK_BOS);
    CHECK_INT(seq.ids[seq.n - 1], TOK_EOS);
    CHECK_STR(tok_name(t, seq.ids[1]), "Bar");
    CHECK_STR(tok_name(t, seq.ids[2]), "TimeSig_4/4");
    CHECK_STR(tok_name(t, seq.ids[3]), "Position_0");
    CHECK(strncmp(tok_name(t, seq.ids[4]), "Tempo_", 6) == 0);
    CHECK_STR(tok_name(t, seq.ids[5]), "Program_33"); /* program order: 33 before 73, drums last */
    int n_tempo = 0, n_ts = 0, n_bars = 0;
    for (size_t i = 0; i < seq.n; i++) {
        const char *nm = tok_name(t, seq.ids[i]);
        n_tempo += strncmp(nm, "Tempo_", 6) == 0;
        n_ts += strncmp(nm, "TimeSig_", 8) == 0;
        n_bars += strcmp(nm, "Bar") == 0;
    }
    CHECK_INT(n_tempo, 3);
    CHECK_INT(n_ts, 3);
    tg_score *d;
    CHECK_OK(tok_decode(t, seq.ids, seq.n, NULL, &d, NULL, NULL));
    CHECK_INT(d->n_timesigs, 3);
    CHECK_INT(d->timesigs[1].ticks, 1920 * 2);
    CHECK_INT(d->timesigs[1].numerator, 3);
    CHECK_INT(d->timesigs[2].ticks, 1920 * 2 + 1440 * 2);
    CHECK_INT(d->timesigs[2].numerator, 6);
    CHECK_INT(d->timesigs[2].denominator, 8);
    CHECK_INT(d->n_tempos, 3);
    CHECK_INT(d->tempos[1].ticks, 1920 + 240);
    CHECK_NEAR(60e6 / d->tempos[1].usec_per_quarter, 150.0, 0.05); /* bin centre near 150 */
    CHECK_INT(d->tempos[2].ticks, 1920 * 3);
    CHECK_NEAR(60e6 / d->tempos[2].usec_per_quarter, 60.0, 0.05);
    /* one track per program, drums on channel 9, last */
    CHECK_INT(d->n_tracks, 3);
    CHECK_INT(d->tracks[0].program, 33);
    CHECK_INT(d->tracks[1].program, 73);
    CHECK(d->tracks[2].is_drum);
    CHECK_INT(d->tracks[2].channel, 9);
    CHECK_STR(d->tracks[2].name, "Drums");
    /* the long note is clipped at two bars of 4/4 */
    int clipped = 0;
    for (size_t i = 0; i < d->tracks[0].n_notes; i++)
        if (d->tracks[0].notes[i].end_ticks - d->tracks[0].notes[i].start_ticks == 96 * 40) clipped++;
    CHECK_INT(clipped, 1);
    /* bars of the decoded score are those of the original */
    int64_t *b1, *b2;
    size_t n1, n2;
    CHECK_OK(tg_score_bar_lines(s, tg_score_end_ticks(s), &b1, &n1));
    CHECK_OK(tg_score_bar_lines(d, tg_score_end_ticks(s), &b2, &n2));
    CHECK_INT(n1, n2);
    for (size_t i = 0; i < n1 && i < n2; i++) CHECK_INT(b1[i], b2[i]);
    CHECK_INT(n_bars, 6); /* 4/4 4/4 3/4 3/4 6/8 6/8: up to the last onset */
    free(b1);
    free(b2);
    tg_score_free(d);
    tok_seq_free(&seq);
    tg_score_free(s);

    /* a meter change inside a bar (as in some Nottingham files): the short bar
     * gets the meter of its length, onsets stay exact */
    CHECK_OK(tg_score_create(1024, &s));
    size_t tr;
    CHECK_OK(tg_score_add_track(s, "", 0, 0, -1, &tr));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 6, 4, -1}));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){6144 + 3072, 6, 4, -1})); /* half-way into bar 2 */
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){6144 * 3, 5, 16, -1}));   /* not 6/4-aligned */
    for (int64_t k = 0; k < 40; k++) add(s, tr, k * 512 + 100, k * 512 + 600, 60 + (int)(k % 12), 80);
    CHECK(roundtrip(t, s, "remi meter change inside a bar", 0));
    CHECK_OK(tok_encode(t, s, &seq));
    int saw_3_4 = 0, saw_5_16 = 0;
    for (size_t i = 0; i < seq.n; i++) {
        saw_3_4 += strcmp(tok_name(t, seq.ids[i]), "TimeSig_3/4") == 0;
        saw_5_16 += strcmp(tok_name(t, seq.ids[i]), "TimeSig_5/16") == 0;
    }
    CHECK_INT(saw_3_4, 2); /* the halves of bars 2 and 4 */
    CHECK_INT(saw_5_16, 1);
    tok_seq_free(&seq);
    tg_score_free(s);

    /* a meter with no token (11/4 is longer than 8 quarters) and odd ticks per quarter */
    CHECK_OK(tg_score_create(97, &s));
    CHECK_OK(tg_score_add_track(s, "", 0, 0, -1, &tr));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 11, 4, -1}));
    for (int64_t k = 0; k < 60; k++) add(s, tr, k * 61, k * 61 + 200, 40 + (int)(k % 30), 10 + (int)k);
    CHECK(roundtrip(t, s, "remi 11/4 at 97 ticks per quarter", 0));
    tg_score_free(s);

    /* SMPTE time is read as 120 bpm */
    CHECK_OK(tg_score_create(0, &s));
    s->smpte_fps = 25;
    s->ticks_per_frame = 40; /* 1000 ticks per second: a quarter (0.5 s) is 500 ticks */
    CHECK_OK(tg_score_add_track(s, "", 0, 0, -1, &tr));
    add(s, tr, 0, 500, 60, 100);
    add(s, tr, 2000, 2250, 62, 100);
    CHECK_OK(tok_encode(t, s, &seq));
    CHECK_OK(tok_decode(t, seq.ids, seq.n, NULL, &d, NULL, NULL));
    CHECK_INT(tg_score_note_count(d), 2);
    CHECK_INT(d->tracks[0].notes[1].start_ticks, 4 * 480);
    CHECK_INT(d->tracks[0].notes[1].end_ticks, 4 * 480 + 240);
    tg_score_free(d);
    tok_seq_free(&seq);
    tg_score_free(s);

    /* an empty score is BOS EOS and decodes to no notes */
    CHECK_OK(tg_score_create(480, &s));
    CHECK_OK(tok_encode(t, s, &seq));
    CHECK_INT(seq.n, 2);
    CHECK_OK(tok_decode(t, seq.ids, seq.n, NULL, &d, NULL, NULL));
    CHECK_INT(tg_score_note_count(d), 0);
    tg_score_free(d);
    tok_seq_free(&seq);
    tg_score_free(s);
    tok_free(t);
}

static void test_grid(void)
{
    tok_tokenizer *t = make_tok(TOK_GRID);
    tg_score *s;
    CHECK_OK(tg_score_create(480, &s));
    size_t mel, acc, drums;
    CHECK_OK(tg_score_add_track(s, "", 0, 0, -1, &mel));
    CHECK_OK(tg_score_add_track(s, "", 1, 0, -1, &acc));
    CHECK_OK(tg_score_add_track(s, "", 9, 0, -1, &drums));
    /* 120 bpm: 960 ticks per second, a sample every 384 ticks */
    add(s, mel, 0, 768, 72, 100);      /* samples 0, 1 (0.0, 0.4) */
    add(s, acc, 0, 1920, 60, 100);     /* under the melody, then alone at 0.8, 1.2, 1.6 */
    add(s, mel, 1152, 1300, 20, 100);  /* out of range: ignored */
    add(s, mel, 2304, 2688, 74, 100);  /* sample 6 (2.4 s): start == t counts */
    add(s, mel, 3000, 3072, 76, 100);  /* between samples 7 (2.8 s = 2688) and 8 (3.2 s = 3072): lost */
    add(s, drums, 0, 5000, 100, 100);  /* drums never count */
    tok_seq seq = {0};
    CHECK_OK(tok_encode(t, s, &seq));
    static const char *const want[] = {"BOS", "Key_72", "Key_72", "Key_60", "Key_60", "Key_60",
                                       "Rest", "Key_74", "EOS"};
    CHECK_INT(seq.n, TG_ARRAY_LEN(want));
    for (size_t i = 0; i < seq.n && i < TG_ARRAY_LEN(want); i++) CHECK_STR(tok_name(t, seq.ids[i]), want[i]);
    tg_score *d;
    CHECK_OK(tok_decode(t, seq.ids, seq.n, NULL, &d, NULL, NULL));
    CHECK_INT(tg_score_note_count(d), 3);
    CHECK_INT(d->tracks[0].notes[0].start_ticks, 0);
    CHECK_INT(d->tracks[0].notes[0].end_ticks, 800);
    CHECK_INT(d->tracks[0].notes[0].pitch, 72);
    CHECK_INT(d->tracks[0].notes[1].start_ticks, 800);
    CHECK_INT(d->tracks[0].notes[1].end_ticks, 2000);
    CHECK_INT(d->tracks[0].notes[2].start_ticks, 2400);
    CHECK_INT(d->tracks[0].notes[2].velocity, TOK_GRID_VELOCITY);
    tg_score_free(d);
    tok_seq_free(&seq);
    CHECK(roundtrip(t, s, "grid", 0));
    /* tempo changes move the samples: at 60 bpm from 1 s on, 0.4 s is 192 ticks */
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){960, 1000000, -1}));
    CHECK_OK(tok_encode(t, s, &seq));
    /* 60 (acc) sounds until tick 1920 = 1 s + 960/480 s = 3.0 s: samples 0..7 */
    CHECK_STR(tok_name(t, seq.ids[8]), "Key_60");
    tok_seq_free(&seq);
    CHECK(roundtrip(t, s, "grid with tempo change", 0));
    tg_score_free(s);
    tok_free(t);
}

static void test_perf(void)
{
    tok_tokenizer *t = make_tok(TOK_PERF);
    tg_score *s = rich_score();
    CHECK(roundtrip(t, s, "perf rich score", 0));
    tg_score_free(s);

    CHECK_OK(tg_score_create(480, &s));
    size_t a, b;
    CHECK_OK(tg_score_add_track(s, "", 0, 0, -1, &a));
    CHECK_OK(tg_score_add_track(s, "", 1, 0, -1, &b));
    add(s, a, 0, 480, 60, 100);      /* 0 .. 0.5 s */
    add(s, a, 480, 960, 60, 50);     /* re-struck at 0.5 s: the off comes first */
    add(s, b, 240, 2400, 64, 100);   /* 0.25 .. 2.5 s: TimeShift_100 twice plus rest */
    add(s, b, 100, 1000, 60, 20);    /* overlaps the same pitch in the other track */
    add(s, a, 3000, 3001, 70, 100);  /* shorter than 10 ms: keeps one step */
    CHECK(roundtrip(t, s, "perf overlaps", 0));
    tok_seq seq = {0};
    CHECK_OK(tok_encode(t, s, &seq));
    CHECK_STR(tok_name(t, seq.ids[1]), "Velocity_24"); /* (100 - 1) * 32 / 127 */
    CHECK_STR(tok_name(t, seq.ids[2]), "NoteOn_60");
    size_t shifts100 = 0;
    for (size_t i = 0; i < seq.n; i++) shifts100 += strcmp(tok_name(t, seq.ids[i]), "TimeShift_100") == 0;
    CHECK(shifts100 >= 1);
    tok_seq_free(&seq);
    tg_score_free(s);
    tok_free(t);
}

/* The clock of grid and perf agrees with tg_score_ticks_to_sec to the microsecond. */
static void test_clock(void)
{
    for (int format = 1; format <= 2; format += 1) {
        tg_score *s;
        CHECK_OK(tg_score_create(384, &s));
        s->format = format;
        size_t t0, t1;
        CHECK_OK(tg_score_add_track(s, "", 0, 0, 0, &t0));
        CHECK_OK(tg_score_add_track(s, "", 1, 0, 1, &t1));
        tg_rng rng;
        tg_rng_seed(&rng, 7);
        int64_t at = 0;
        for (int i = 0; i < 50; i++) {
            at += tg_rng_below(&rng, 2000);
            int chunk = format == 2 ? (int)tg_rng_below(&rng, 3) - 1 : -1;
            CHECK_OK(tg_score_add_tempo(s, (tg_tempo){at, 200000 + tg_rng_below(&rng, 1500000), chunk}));
        }
        for (int k = 0; k < 2; k++) {
            tok_clock clock;
            CHECK_OK(tok_clock_init(&clock, s, &s->tracks[k]));
            int chunk = format == 2 ? s->tracks[k].chunk : -1;
            for (int64_t ticks = 0; ticks < at + 5000; ticks += 37)
                CHECK_INT(tok_clock_usec(&clock, ticks),
                          llround(tg_score_ticks_to_sec(s, chunk, ticks) * 1e6));
            tok_clock_free(&clock);
        }
        tg_score_free(s);
    }
}

/* ------------------------------------------------------------------------ */
/* Strict and lenient decoding. */

static void count_log(void *user, tg_log_level level, const char *msg)
{
    (void)msg;
    if (level == TG_LOG_WARN) (*(int *)user)++;
}

typedef struct {
    const char *const *names;
    size_t n;
    size_t bad_index;   /* where strict decoding stops */
    const char *what;   /* a word of its message */
    size_t notes;       /* notes after lenient repair */
} broken_case;

static void check_broken(tok_tokenizer *t, const broken_case *bc)
{
    uint16_t *ids = ids_of(t, bc->names, bc->n);
    tg_score *d = NULL;
    tok_decode_error err;
    CHECK_STATUS(tok_decode(t, ids, bc->n, NULL, &d, &err, NULL), TG_ERR_GRAMMAR);
    CHECK(d == NULL);
    CHECK_INT(err.index, bc->bad_index);
    if (!strstr(err.what, bc->what)) fprintf(stderr, "message '%s' lacks '%s'\n", err.what, bc->what);
    CHECK(strstr(err.what, bc->what) != NULL);
    CHECK(err.index < bc->n); /* a token of the input (lines[] is indexed by it) */
    int warnings = 0;
    tok_decode_options opt = tok_decode_options_default();
    opt.lenient = true;
    opt.logger = (tg_logger){count_log, &warnings};
    /* with a line per token, as detokenize passes them: read at every repair */
    uint32_t *lines = malloc(bc->n * sizeof *lines);
    for (size_t i = 0; i < bc->n; i++) lines[i] = (uint32_t)(i + 1);
    opt.lines = lines;
    size_t repairs = 0;
    CHECK_OK(tok_decode(t, ids, bc->n, &opt, &d, NULL, &repairs));
    CHECK(repairs >= 1);
    CHECK_INT(warnings, repairs);
    CHECK_INT(tg_score_note_count(d), bc->notes);
    tg_score_free(d);
    free(lines);
    free(ids);
}

#define CASE(arr, idx, word, notes) {arr, TG_ARRAY_LEN(arr), idx, word, notes}

static void test_strict_lenient(void)
{
    tok_tokenizer *t = make_tok(TOK_REMI);
    static const char *const no_program[] = {"BOS", "Bar", "TimeSig_4/4", "Position_0", "Pitch_60",
                                             "Velocity_20", "Duration_12", "EOS"};
    static const char *const no_position[] = {"BOS", "Bar", "Program_0", "Pitch_60", "Velocity_20",
                                              "Duration_12", "EOS"};
    static const char *const cut_note[] = {"Bar", "Position_0", "Program_0", "Pitch_60", "Position_4",
                                           "Program_0", "Pitch_62", "Velocity_3", "Duration_1"};
    static const char *const backwards[] = {"Bar", "Position_6", "Program_0", "Pitch_60", "Velocity_3",
                                            "Duration_1", "Position_2", "Program_0", "Pitch_62",
                                            "Velocity_3", "Duration_1"};
    static const char *const beyond[] = {"Bar", "TimeSig_3/4", "Position_36", "Program_0", "Pitch_60",
                                         "Velocity_3", "Duration_1"};
    static const char *const after_eos[] = {"BOS", "Bar", "Position_0", "Program_0", "Pitch_60",
                                            "Velocity_3", "Duration_1", "EOS", "PAD", "Bar"};
    static const char *const late_ts[] = {"Bar", "Position_0", "TimeSig_3/4", "Program_0", "Pitch_60",
                                          "Velocity_3", "Duration_1"};
    static const char *const bos_inside[] = {"Bar", "BOS", "Position_0", "Program_0", "Pitch_60",
                                             "Velocity_3", "Duration_1"};
    static const char *const pad_inside[] = {"Bar", "PAD", "Position_0", "Program_0", "Pitch_60",
                                             "Velocity_3", "Duration_1", "PAD", "PAD"};
    static const char *const ends_in_note[] = {"Bar", "Position_0", "Program_0", "Pitch_60",
                                               "Velocity_3", "Duration_1", "Program_0", "Pitch_60"};
    /* the note cut by the end is blamed on the last token, or on EOS (found by fuzz_tok: it was
     * index n, one past the input, which lenient decoding read lines[] at) */
    static const char *const ends_in_note_eos[] = {"Bar", "Position_0", "Program_0", "Pitch_60",
                                                   "Velocity_3", "Duration_1", "Program_0", "Pitch_60",
                                                   "EOS", "PAD"};
    const broken_case remi_cases[] = {
        CASE(no_program, 4, "no Program", 0),     CASE(no_position, 2, "no Position", 1),
        CASE(cut_note, 4, "inside a note", 1),   CASE(backwards, 6, "forward", 2),
        CASE(beyond, 2, "beyond", 1),             CASE(after_eos, 9, "after EOS", 1),
        CASE(late_ts, 2, "not right after a Bar", 1), CASE(bos_inside, 1, "BOS", 1),
        CASE(pad_inside, 1, "PAD", 1),           CASE(ends_in_note, 7, "ends inside a note", 1),
        CASE(ends_in_note_eos, 8, "ends inside a note", 1),
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(remi_cases); i++) check_broken(t, &remi_cases[i]);
    /* ids outside the vocabulary */
    uint16_t bad[] = {TOK_BOS, 3, 5000, TOK_EOS};
    tg_score *d;
    tok_decode_error err;
    CHECK_STATUS(tok_decode(t, bad, 4, NULL, &d, &err, NULL), TG_ERR_GRAMMAR);
    CHECK_INT(err.index, 2);
    /* PAD at the end and no EOS are fine */
    static const char *const padded[] = {"BOS", "Bar", "Position_0", "Program_0", "Pitch_60",
                                         "Velocity_3", "Duration_1", "PAD", "PAD"};
    uint16_t *ids = ids_of(t, padded, TG_ARRAY_LEN(padded));
    CHECK_OK(tok_decode(t, ids, TG_ARRAY_LEN(padded), NULL, &d, NULL, NULL));
    CHECK_INT(tg_score_note_count(d), 1);
    tg_score_free(d);
    free(ids);
    /* lenient messages name the line when lines are given */
    int warnings = 0;
    uint32_t lines[TG_ARRAY_LEN(no_program)];
    for (size_t i = 0; i < TG_ARRAY_LEN(lines); i++) lines[i] = (uint32_t)(i + 10);
    tok_decode_options opt = tok_decode_options_default();
    opt.lenient = true;
    opt.logger = (tg_logger){count_log, &warnings};
    opt.lines = lines;
    ids = ids_of(t, no_program, TG_ARRAY_LEN(no_program));
    CHECK_OK(tok_decode(t, ids, TG_ARRAY_LEN(no_program), &opt, &d, NULL, NULL));
    CHECK_INT(warnings, 3); /* Pitch, Velocity, Duration dropped */
    tg_score_free(d);
    free(ids);
    tok_free(t);

    t = make_tok(TOK_PERF);
    static const char *const orphan_off[] = {"BOS", "Velocity_10", "NoteOn_60", "TimeShift_10",
                                             "NoteOff_61", "NoteOff_60", "EOS"};
    static const char *const never_off[] = {"BOS", "Velocity_10", "NoteOn_60", "TimeShift_10",
                                            "NoteOn_62", "TimeShift_5", "NoteOff_62", "EOS"};
    static const char *const no_vel[] = {"NoteOn_60", "TimeShift_10", "NoteOff_60"};
    static const char *const same_instant[] = {"Velocity_1", "NoteOn_60", "NoteOff_60"};
    static const char *const remi_in_perf[] = {"Velocity_1", "NoteOn_60", "TimeShift_1", "NoteOff_60",
                                               "BOS"};
    const broken_case perf_cases[] = {
        CASE(orphan_off, 4, "no sounding note", 1), CASE(never_off, 2, "never ended", 2),
        CASE(no_vel, 0, "before any Velocity", 1),   CASE(same_instant, 2, "instant", 1),
        CASE(remi_in_perf, 4, "BOS", 1),
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(perf_cases); i++) check_broken(t, &perf_cases[i]);
    tok_free(t);

    t = make_tok(TOK_GRID);
    static const char *const grid_pad[] = {"Key_60", "PAD", "Key_60", "Rest", "Key_62"};
    const broken_case grid_cases[] = {CASE(grid_pad, 1, "PAD", 2)};
    check_broken(t, &grid_cases[0]);
    tok_free(t);
}

/* Random id sequences: strict decoding gives OK or ERR_GRAMMAR, lenient always
 * OK, and what lenient decoding made encodes and decodes again strictly. */
static void test_random_sequences(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 2024);
    for (size_t k = 0; k < tok_kind_count(); k++) {
        if (!tok_kind_at(k)->music) continue; /* raw: test_tok_raw */
        tok_tokenizer *t = make_tok((tok_kind)k);
        int V = tok_vocab_size(t);
        int strict_ok = 0;
        for (int round = 0; round < 400; round++) {
            uint16_t ids[300];
            size_t n = tg_rng_below(&rng, 300);
            for (size_t i = 0; i < n; i++)
                ids[i] = (uint16_t)(tg_rng_below(&rng, 50) == 0 ? tg_rng_below(&rng, 70000) % 65536
                                                                : tg_rng_below(&rng, (uint32_t)V));
            tg_score *d = NULL;
            tok_decode_error err;
            tg_status st = tok_decode(t, ids, n, NULL, &d, &err, NULL);
            CHECK(st == TG_OK || st == TG_ERR_GRAMMAR);
            if (st == TG_ERR_GRAMMAR) CHECK(err.index <= n && err.what[0]);
            strict_ok += st == TG_OK;
            tg_score_free(d);
            tok_decode_options opt = tok_decode_options_default();
            opt.lenient = true;
            CHECK_OK(tok_decode(t, ids, n, &opt, &d, NULL, NULL));
            if (!d) continue;
            tok_seq seq = {0};
            CHECK_OK(tok_encode(t, d, &seq));
            tg_score *again = NULL;
            CHECK_OK(tok_decode(t, seq.ids, seq.n, NULL, &again, &err, NULL));
            tg_score_free(again);
            tok_seq_free(&seq);
            tg_score_free(d);
        }
        printf("random sequences, %s: %d of 400 decode strictly\n", tok_kind_name((tok_kind)k),
               strict_ok);
        tok_free(t);
    }
}

/* ------------------------------------------------------------------------ */
/* remi-compact: remi's tokens without the repeated Programs and Velocities. */

/* The oracle from tok.h: remi's tokens (ids are shared) less every Program
 * equal to the previous note's program and every Velocity equal to the
 * previous note's bin, in force across positions and bars. */
static void compact_expected(const tok_tokenizer *remi, const tok_seq *in, tok_seq *out)
{
    int program = -1, vel = -1;
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        tok_info x = tok_get_info(remi, in->ids[i]);
        int *in_force = x.type == TOK_T_PROGRAM ? &program : x.type == TOK_T_VELOCITY ? &vel : NULL;
        if (in_force && *in_force == x.value) continue;
        if (in_force) *in_force = x.value;
        CHECK_OK(tok_seq_push(out, in->ids[i]));
    }
}

/* Whether two decoded scores are the same: tracks (name, channel, program,
 * drums, notes), meters and tempos. Prints the first difference. */
static int same_score(const tg_score *a, const tg_score *b, const char *what)
{
    const char *diff = NULL;
    if (a->ticks_per_quarter != b->ticks_per_quarter) diff = "ticks per quarter";
    else if (a->n_tracks != b->n_tracks) diff = "track count";
    else if (a->n_timesigs != b->n_timesigs) diff = "meter count";
    else if (a->n_tempos != b->n_tempos) diff = "tempo count";
    for (size_t i = 0; !diff && i < a->n_timesigs; i++) {
        const tg_timesig *x = &a->timesigs[i], *y = &b->timesigs[i];
        if (x->ticks != y->ticks || x->numerator != y->numerator || x->denominator != y->denominator)
            diff = "meters";
    }
    for (size_t i = 0; !diff && i < a->n_tempos; i++)
        if (a->tempos[i].ticks != b->tempos[i].ticks ||
            a->tempos[i].usec_per_quarter != b->tempos[i].usec_per_quarter)
            diff = "tempos";
    for (size_t t = 0; !diff && t < a->n_tracks; t++) {
        const tg_track *x = &a->tracks[t], *y = &b->tracks[t];
        if (strcmp(x->name, y->name) != 0 || x->channel != y->channel || x->program != y->program ||
            x->is_drum != y->is_drum || x->n_notes != y->n_notes)
            diff = "tracks";
        for (size_t i = 0; !diff && i < x->n_notes; i++) {
            const tg_note *p = &x->notes[i], *q = &y->notes[i];
            if (p->start_ticks != q->start_ticks || p->end_ticks != q->end_ticks ||
                p->pitch != q->pitch || p->velocity != q->velocity || p->channel != q->channel)
                diff = "notes";
        }
    }
    if (diff) fprintf(stderr, "%s: the decoded scores differ in their %s\n", what, diff);
    return diff == NULL;
}

/* Index of the first token of seq the grammar's mask refuses (seq->n when none). */
static size_t mask_refuses(const tok_tokenizer *t, const tok_seq *seq)
{
    tok_grammar g;
    tok_grammar_init(&g, t);
    uint8_t *mask = malloc((size_t)tok_vocab_size(t));
    size_t i = 0;
    for (; i < seq->n; i++) {
        tok_grammar_mask(&g, mask);
        if (!mask[seq->ids[i]] || tok_grammar_feed(&g, seq->ids[i]) != TG_OK) break;
    }
    free(mask);
    return i;
}

/* One score through remi (r) and remi-compact (t): the compact tokens are
 * the oracle's, the grammar's mask allows each of them, both decode strictly
 * to the same score, and the round trip is exact. Adds the token counts to
 * sizes[2] when given. Returns 1 when all hold. */
static int check_compact(const tok_tokenizer *r, const tok_tokenizer *t, const tg_score *s,
                         const char *what, int quiet, size_t *sizes)
{
    tok_seq rs = {0}, cs = {0}, want = {0};
    tg_score *rd = NULL, *cd = NULL;
    int ok = 0;
    if (tok_encode(r, s, &rs) != TG_OK || tok_encode(t, s, &cs) != TG_OK) {
        fprintf(stderr, "%s: encode failed\n", what);
        goto done;
    }
    compact_expected(r, &rs, &want);
    if (want.n != cs.n || memcmp(want.ids, cs.ids, cs.n * sizeof *cs.ids) != 0) {
        fprintf(stderr, "%s: remi-compact wrote %zu tokens, the oracle %zu\n", what, cs.n, want.n);
        goto done;
    }
    size_t at = mask_refuses(t, &cs);
    if (at != cs.n) {
        fprintf(stderr, "%s: the grammar refuses token %zu (%s)\n", what, at, tok_name(t, cs.ids[at]));
        goto done;
    }
    tok_decode_error err;
    if (tok_decode(r, rs.ids, rs.n, NULL, &rd, &err, NULL) != TG_OK ||
        tok_decode(t, cs.ids, cs.n, NULL, &cd, &err, NULL) != TG_OK) {
        fprintf(stderr, "%s: strict decoding failed at %zu: %s\n", what, err.index, err.what);
        goto done;
    }
    ok = same_score(rd, cd, what) && roundtrip(t, s, what, quiet) == 1;
    if (sizes) sizes[0] += rs.n, sizes[1] += cs.n;
done:
    tg_score_free(rd);
    tg_score_free(cd);
    tok_seq_free(&rs);
    tok_seq_free(&cs);
    tok_seq_free(&want);
    return ok;
}

static void test_remi_compact(void)
{
    tok_tokenizer *r = make_tok(TOK_REMI), *t = make_tok(TOK_REMI_COMPACT);
    /* remi's vocabulary, id for id */
    CHECK_INT(tok_vocab_size(t), tok_vocab_size(r));
    for (int id = 0; id < tok_vocab_size(t); id++) CHECK_STR(tok_name(t, id), tok_name(r, id));
    char buf[256];
    tok_config c = tok_config_default(TOK_REMI_COMPACT);
    CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
    CHECK_STR(buf, "remi-compact:v=1,steps_per_quarter=12,tempo_bins=32,tempo_min_bpm=30,"
                   "tempo_max_bpm=300,velocity_bins=32,max_duration_steps=96");
    CHECK(tok_has_bars(t) && tok_is_music(t) && !tok_drops_notes(t));
    CHECK_INT(tok_steps_per_quarter(t), 12);

    /* two programs, drums, three meters, tempo changes */
    tg_score *s = rich_score();
    CHECK(check_compact(r, t, s, "remi-compact rich score", 0, NULL));
    tg_score_free(s);

    /* program and velocity changes, spelled out: piano (0), bass (33), drums */
    CHECK_OK(tg_score_create(480, &s));
    size_t piano, bass, drums;
    CHECK_OK(tg_score_add_track(s, "", 0, 0, -1, &piano));
    CHECK_OK(tg_score_add_track(s, "", 1, 33, -1, &bass));
    CHECK_OK(tg_score_add_track(s, "", 9, 0, -1, &drums));
    add(s, piano, 0, 480, 60, 80);
    add(s, piano, 480, 960, 62, 80);     /* same program and bin: Pitch Duration */
    add(s, piano, 960, 1440, 64, 100);   /* a new bin */
    add(s, bass, 960, 1920, 36, 100);    /* a new program, the bin in force */
    add(s, piano, 1920, 2400, 67, 100);  /* next bar: back to piano */
    add(s, drums, 1920, 1980, 36, 100);  /* drums last at their position */
    static const char *const want[] = {
        "BOS", "Bar", "TimeSig_4/4", "Position_0", "Tempo_19", "Program_0", "Pitch_60",
        "Velocity_19", "Duration_12", "Position_12", "Pitch_62", "Duration_12", "Position_24",
        "Pitch_64", "Velocity_24", "Duration_12", "Program_33", "Pitch_36", "Duration_24", "Bar",
        "Position_0", "Program_0", "Pitch_67", "Duration_12", "Program_drums", "Pitch_36",
        "Duration_2", "EOS"};
    tok_seq seq = {0};
    CHECK_OK(tok_encode(t, s, &seq));
    CHECK_INT(seq.n, TG_ARRAY_LEN(want));
    for (size_t i = 0; i < seq.n && i < TG_ARRAY_LEN(want); i++) CHECK_STR(tok_name(t, seq.ids[i]), want[i]);
    tok_seq_free(&seq);
    CHECK_OK(tok_encode(r, s, &seq));
    CHECK_INT(seq.n, TG_ARRAY_LEN(want) + 2 + 4); /* remi: 6 Programs and 6 Velocities */
    tok_seq_free(&seq);
    CHECK(check_compact(r, t, s, "remi-compact program and velocity changes", 0, NULL));
    tg_score_free(s);

    /* random scores: several programs, drums, meters, tempi */
    tg_rng rng;
    tg_rng_seed(&rng, 18);
    int ok = 0;
    for (int k = 0; k < 100; k++) {
        CHECK_OK(tg_score_create(96 + 24 * (int)tg_rng_below(&rng, 20), &s));
        if (tg_rng_below(&rng, 2)) CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 3, 4, -1}));
        CHECK_OK(tg_score_add_tempo(s, (tg_tempo){(int64_t)tg_rng_below(&rng, 4000), 300000 + tg_rng_below(&rng, 900000), -1}));
        int ntr = 1 + (int)tg_rng_below(&rng, 4);
        for (int k2 = 0; k2 < ntr; k2++) {
            size_t tr;
            bool drum = tg_rng_below(&rng, 4) == 0;
            CHECK_OK(tg_score_add_track(s, "", drum ? 9 : k2, (int)tg_rng_below(&rng, 128), -1, &tr));
            for (int i = 0, nn = (int)tg_rng_below(&rng, 50); i < nn; i++) {
                int64_t a = tg_rng_below(&rng, 40 * (uint32_t)s->ticks_per_quarter);
                add(s, tr, a, a + 1 + tg_rng_below(&rng, 3 * (uint32_t)s->ticks_per_quarter),
                    20 + (int)tg_rng_below(&rng, 90), 1 + (int)tg_rng_below(&rng, 127));
            }
        }
        ok += check_compact(r, t, s, "remi-compact random score", 0, NULL);
        tg_score_free(s);
    }
    CHECK_INT(ok, 100);

    /* the grammar: Program and Velocity only as changes */
    tok_grammar g;
    tok_grammar_init(&g, t);
    static const char *const start[] = {"BOS", "Bar", "TimeSig_4/4", "Position_0"};
    for (size_t i = 0; i < TG_ARRAY_LEN(start); i++) CHECK_OK(tok_grammar_feed(&g, tok_lookup(t, start[i])));
#define FEED(name) CHECK_OK(tok_grammar_feed(&g, tok_lookup(t, name)))
#define REFUSED(name) CHECK_STATUS(tok_grammar_feed(&g, tok_lookup(t, name)), TG_ERR_GRAMMAR)
    REFUSED("Pitch_60");     /* no program in force yet */
    FEED("Program_5");
    FEED("Pitch_60");
    REFUSED("Duration_4");   /* no bin in force yet */
    FEED("Velocity_10");
    FEED("Duration_4");
    REFUSED("Program_5");    /* the program in force */
    FEED("Pitch_62");        /* in program 5, rising */
    REFUSED("Velocity_10");  /* the bin in force */
    FEED("Duration_4");
    REFUSED("Pitch_61");     /* below the last pitch of program 5 here */
    REFUSED("Program_3");    /* below program 5 at this position */
    FEED("Program_7");
    FEED("Pitch_40");
    FEED("Duration_2");
    CHECK(tok_grammar_can_end(&g));
    FEED("Position_6");
    FEED("Pitch_30");        /* program 7 stays in force */
    FEED("Duration_1");
    CHECK_INT(tok_grammar_time(&g), 6);
    FEED("Bar");
    FEED("Position_0");
    FEED("Program_5");       /* lower than 7: a new position */
    FEED("Pitch_30");
    FEED("Velocity_11");
    FEED("Duration_1");
    FEED("EOS");
#undef FEED
#undef REFUSED

    /* strict decoding refuses a note with no program or bin in force; lenient
     * decoding assumes Program_0 and the bin of velocity 64 */
    static const char *const no_program[] = {"BOS", "Bar", "TimeSig_4/4", "Position_0", "Pitch_60",
                                             "Velocity_20", "Duration_12", "EOS"};
    static const char *const no_velocity[] = {"BOS", "Bar", "TimeSig_4/4", "Position_0", "Program_5",
                                              "Pitch_60", "Duration_12", "EOS"};
    static const char *const pitch_in_note[] = {"Bar", "Position_0", "Program_0", "Pitch_60",
                                                "Pitch_62", "Velocity_3", "Duration_1"};
    static const char *const ends_in_note[] = {"Bar", "Position_0", "Program_0", "Pitch_60",
                                               "Velocity_3", "Duration_1", "Pitch_62"};
    const broken_case cases[] = {
        CASE(no_program, 4, "no Program in force", 1), CASE(no_velocity, 6, "no Velocity in force", 1),
        CASE(pitch_in_note, 4, "inside a note", 1),    CASE(ends_in_note, 6, "ends inside a note", 1),
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) check_broken(t, &cases[i]);
    tok_decode_options opt = tok_decode_options_default();
    opt.lenient = true;
    tg_score *d = NULL;
    uint16_t *ids = ids_of(t, no_program, TG_ARRAY_LEN(no_program));
    CHECK_OK(tok_decode(t, ids, TG_ARRAY_LEN(no_program), &opt, &d, NULL, NULL));
    CHECK_INT(d->n_tracks, 1);
    CHECK_INT(d->tracks[0].program, 0);
    CHECK_INT(d->tracks[0].notes[0].velocity, vel_centre(82, 32)); /* Velocity_20 */
    tg_score_free(d);
    free(ids);
    ids = ids_of(t, no_velocity, TG_ARRAY_LEN(no_velocity));
    CHECK_OK(tok_decode(t, ids, TG_ARRAY_LEN(no_velocity), &opt, &d, NULL, NULL));
    CHECK_INT(d->tracks[0].program, 5);
    CHECK_INT(d->tracks[0].notes[0].velocity, vel_centre(64, 32));
    tg_score_free(d);
    free(ids);
    /* remi's own sequences are valid remi-compact too (redundant but readable) */
    static const char *const remi_seq[] = {"BOS", "Bar", "Position_0", "Program_0", "Pitch_60",
                                           "Velocity_3", "Duration_1", "Program_0", "Pitch_64",
                                           "Velocity_3", "Duration_1", "EOS"};
    ids = ids_of(t, remi_seq, TG_ARRAY_LEN(remi_seq));
    CHECK_OK(tok_decode(t, ids, TG_ARRAY_LEN(remi_seq), NULL, &d, NULL, NULL));
    CHECK_INT(tg_score_note_count(d), 2);
    tg_score_free(d);
    free(ids);
    tok_free(t);
    tok_free(r);
}

/* ------------------------------------------------------------------------ */
/* MIDI files: the fixtures, and Nottingham on request. */

#ifdef TG_TEST_WITH_MIDI
static int is_midi_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted MIDI file names of a folder; NULL when the folder is missing. */
static char **list_midi(const char *dir, size_t *n)
{
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp) return NULL;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (is_midi_name(e->d_name)) {
            names = realloc(names, (*n + 1) * sizeof *names);
            names[(*n)++] = strdup(e->d_name);
        }
    closedir(dp);
    if (*n) qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

/* Round trips every readable file of dir with each kind; returns files read.
 * exact[k] counts exact round trips, refused[k] pieces too long to encode. */
static size_t roundtrip_folder(const char *dir, size_t *exact, size_t *exact_grid, size_t *refused,
                               int quiet)
{
    size_t n;
    char **names = list_midi(dir, &n);
    tok_tokenizer *t[3] = {make_tok(TOK_REMI), make_tok(TOK_PERF), make_tok(TOK_GRID)};
    size_t read = 0;
    exact[0] = exact[1] = *exact_grid = 0;
    refused[0] = refused[1] = refused[2] = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        tg_score *s = NULL;
        tg_midi_read_options opt = tg_midi_read_options_default();
        if (tg_midi_read_file(path, &opt, &s, NULL, NULL) != TG_OK) {
            free(names[i]);
            continue;
        }
        read++;
        char what[4200];
        for (int k = 0; k < 3; k++) {
            snprintf(what, sizeof what, "%s %s", k == 0 ? "remi" : k == 1 ? "perf" : "grid", path);
            int r = roundtrip(t[k], s, what, quiet || k == 2);
            if (r < 0) refused[k]++;
            if (r > 0) *(k == 2 ? exact_grid : &exact[k]) += 1;
        }
        tg_score_free(s);
        free(names[i]);
    }
    free(names);
    for (int k = 0; k < 3; k++) tok_free(t[k]);
    return read;
}

/* check_compact on every MIDI file of dir that reads; prints a summary
 * line. Returns false when the folder is missing or holds none. */
static bool compact_folder(const char *dir, const char *label)
{
    size_t n;
    char **names = list_midi(dir, &n);
    if (!names) {
        printf("%s: not found (or no MIDI files): not tested\n", dir);
        return false;
    }
    tok_tokenizer *r = make_tok(TOK_REMI), *t = make_tok(TOK_REMI_COMPACT);
    size_t read = 0, ok = 0, sizes[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        char path[8200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        tg_score *s = NULL;
        tg_midi_read_options opt = tg_midi_read_options_default();
        if (tg_midi_read_file(path, &opt, &s, NULL, NULL) != TG_OK) continue;
        read++;
        ok += check_compact(r, t, s, path, 0, sizes);
        tg_score_free(s);
    }
    free(names);
    printf("%s: %zu MIDI files, %zu read; remi-compact = remi without repeats, same decoded "
           "score, exact round trip: %zu/%zu; tokens: remi %zu, remi-compact %zu (%.1f %% fewer)\n",
           label, n, read, ok, read, sizes[0], sizes[1],
           sizes[0] ? 100.0 * (double)(sizes[0] - sizes[1]) / (double)sizes[0] : 0.0);
    CHECK(read > 0);
    CHECK_INT(ok, read);
    tok_free(t);
    tok_free(r);
    return true;
}

static void test_fixtures(void)
{
    size_t exact[2], grid, refused[3];
    size_t read = roundtrip_folder(TG_TEST_DATA, exact, &grid, refused, 0);
    printf("fixtures: %zu MIDI files read; exact round trips: remi %zu, perf %zu, grid %zu; "
           "refused as too long: remi %zu, perf %zu, grid %zu\n",
           read, exact[0], exact[1], grid, refused[0], refused[1], refused[2]);
    CHECK(read > 0);
    /* vlq_sizes.mid lasts 16 days: perf (10 ms steps) refuses it */
    CHECK_INT(refused[0] + refused[2], 0);
    CHECK(refused[1] <= 1);
    CHECK_INT(exact[0], read);
    CHECK_INT(exact[1] + refused[1], read);
    CHECK_INT(grid, read);
    printf("fixtures: remi kept the bar lines of %d of %d files\n", bars_kept, bars_checked);
    CHECK(compact_folder(TG_TEST_DATA, "fixtures"));
}

static int run_nottingham(void)
{
    const char *dir = TG_SHARED_DATA "/nottingham/full";
    size_t n;
    char **names = list_midi(dir, &n);
    if (!names) {
        printf("skipped: %s not found\n", dir);
        return TEST_SKIP_CODE;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    size_t exact[2], grid, refused[3];
    size_t read = roundtrip_folder(dir, exact, &grid, refused, 0);
    printf("nottingham/full: %zu files, %zu read; exact round trips: remi %zu/%zu, perf %zu/%zu, "
           "grid (re-encoding) %zu/%zu\n",
           n, read, exact[0], read, exact[1], read, grid, read);
    printf("nottingham/full: remi kept the bar lines of %d of %d files\n", bars_kept, bars_checked);
    CHECK_INT(bars_kept, bars_checked);
    CHECK_INT(read, n);
    CHECK_INT(exact[0], read);
    CHECK_INT(exact[1], read);
    CHECK_INT(grid, read);
    return test_finish("test_tok nottingham");
}

/* remi-compact against remi on every file of the shared data sets; skipped
 * when none of them is there. */
static int run_compact_data(void)
{
    static const char *const sets[] = {"nottingham/full", "jsb-chorales/midi"};
    int found = 0;
    for (size_t k = 0; k < TG_ARRAY_LEN(sets); k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", TG_SHARED_DATA, sets[k]);
        found += compact_folder(dir, sets[k]);
    }
    if (!found) {
        printf("skipped: no data set under %s\n", TG_SHARED_DATA);
        return TEST_SKIP_CODE;
    }
    return test_finish("test_tok remi-compact");
}
#endif

int main(int argc, char **argv)
{
#ifdef TG_TEST_WITH_MIDI
    if (argc > 1 && strcmp(argv[1], "remi-compact") == 0) return run_compact_data();
#endif
    if (argc > 1 && strcmp(argv[1], "nottingham") == 0) {
#ifdef TG_TEST_WITH_MIDI
        return run_nottingham();
#else
        printf("skipped: built without the MIDI reader\n");
        return TEST_SKIP_CODE;
#endif
    }
    test_vocab();
    test_config_string();
    test_registry();
    test_remi_roundtrip();
    test_grid();
    test_perf();
    test_clock();
    test_strict_lenient();
    test_random_sequences();
    test_remi_compact();
#ifdef TG_TEST_WITH_MIDI
    test_fixtures();
#else
    printf("MIDI fixtures not tested: built without the MIDI reader\n");
#endif
    return test_finish("test_tok");
}
