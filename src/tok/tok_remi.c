/*
 * tok_remi.c: the remi tokenizer (REMI, Huang & Yang 2020,
 * https://arxiv.org/abs/2002.00212, with a program token per note as in
 * MidiTok's REMI with programs). Bars, positions in steps of a quarter note,
 * meters, tempo bins, and notes as Program Pitch Velocity Duration. tok.h
 * documents the vocabulary, the grammar and the round-trip contract; this
 * file holds the kind's table (tok_remi_ops): config, vocabulary, the
 * encoder (score -> ids), the decoder (ids -> score) and the grammar's rules,
 * each shared (tok.h's internal section) with remi-compact, which writes
 * Program and Velocity only when they change (tok_remi_compact.c).
 * What it leaves out: key signatures, controllers and track names are not
 * encoded; tracks of one program merge on decoding.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

#define DRUMS 128 /* the program value of Program_drums */

/* ------------------------------------------------------------------------ */
/* Config and vocabulary. */

void tok_remi_default(tok_config *c)
{
    c->remi.steps_per_quarter = 12;
    c->remi.tempo_bins = 32;
    c->remi.tempo_min_bpm = 30.0;
    c->remi.tempo_max_bpm = 300.0;
    c->remi.velocity_bins = 32;
    c->remi.max_duration_steps = 96;
}

tg_status tok_remi_check(const tok_config *c, char *why, size_t n)
{
    const tok_remi_config *r = &c->remi;
    if (r->steps_per_quarter < 1 || r->steps_per_quarter > 96)
        return tg_fail(why, n, TG_ERR_RANGE, "steps_per_quarter must be 1..96, got %d",
                    r->steps_per_quarter);
    if (r->tempo_bins < 1 || r->tempo_bins > 256)
        return tg_fail(why, n, TG_ERR_RANGE, "tempo_bins must be 1..256, got %d", r->tempo_bins);
    if (!(r->tempo_min_bpm >= 1.0 && r->tempo_max_bpm <= 1000.0 &&
          r->tempo_min_bpm < r->tempo_max_bpm))
        return tg_fail(why, n, TG_ERR_RANGE, "tempo range must lie in 1..1000 bpm, min < max");
    if (r->velocity_bins < 1 || r->velocity_bins > 127)
        return tg_fail(why, n, TG_ERR_RANGE, "velocity_bins must be 1..127, got %d",
                    r->velocity_bins);
    if (r->max_duration_steps < 1 || r->max_duration_steps > 4096)
        return tg_fail(why, n, TG_ERR_RANGE, "max_duration_steps must be 1..4096, got %d",
                    r->max_duration_steps);
    return TG_OK;
}

int tok_remi_steps_per_quarter(const tok_config *c) { return c->remi.steps_per_quarter; }

tg_status tok_remi_build(tok_tokenizer *tok)
{
    const tok_remi_config *c = &tok->cfg.remi;
    int spq = c->steps_per_quarter;
    char name[48];
    tok->max_bar_steps = TOK_REMI_MAX_BAR_QUARTERS * spq;
    tg_status st = tok_add(tok, TOK_T_BAR, 0, "Bar");
    for (int k = 0; st == TG_OK && k < tok->max_bar_steps; k++) {
        snprintf(name, sizeof name, "Position_%d", k);
        st = tok_add(tok, TOK_T_POSITION, k, name);
    }
    static const int denoms[] = {2, 4, 8, 16};
    for (size_t di = 0; st == TG_OK && di < TG_ARRAY_LEN(denoms); di++) {
        int d = denoms[di];
        for (int n = 1; st == TG_OK && n <= TOK_REMI_MAX_BAR_QUARTERS * d / 4; n++) {
            if ((n * 4 * spq) % d != 0) continue; /* bar is not a whole number of steps */
            if (tok->n_meters >= TOK_MAX_METERS) return TG_ERR_TOO_LARGE;
            tok->meters[tok->n_meters] = (tok_meter){(uint8_t)n, (uint16_t)d, n * 4 * spq / d};
            snprintf(name, sizeof name, "TimeSig_%d/%d", n, d);
            st = tok_add(tok, TOK_T_TIMESIG, tok->n_meters, name);
            tok->n_meters++;
        }
    }
    for (int k = 0; st == TG_OK && k < c->tempo_bins; k++) {
        snprintf(name, sizeof name, "Tempo_%d", k);
        st = tok_add(tok, TOK_T_TEMPO, k, name);
    }
    for (int p = 0; st == TG_OK && p <= DRUMS; p++) {
        if (p == DRUMS)
            snprintf(name, sizeof name, "Program_drums");
        else
            snprintf(name, sizeof name, "Program_%d", p);
        st = tok_add(tok, TOK_T_PROGRAM, p, name);
    }
    for (int p = 0; st == TG_OK && p < 128; p++) {
        snprintf(name, sizeof name, "Pitch_%d", p);
        st = tok_add(tok, TOK_T_PITCH, p, name);
    }
    for (int k = 0; st == TG_OK && k < c->velocity_bins; k++) {
        snprintf(name, sizeof name, "Velocity_%d", k);
        st = tok_add(tok, TOK_T_VELOCITY, k, name);
    }
    for (int k = 1; st == TG_OK && k <= c->max_duration_steps; k++) {
        snprintf(name, sizeof name, "Duration_%d", k);
        st = tok_add(tok, TOK_T_DURATION, k, name);
    }
    tok_velocity_bins(tok, c->velocity_bins);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Time, meters and tempo bins. */

/* Step nearest to ticks (ties to the later step); SMPTE time is read at 120 bpm. */
int64_t tok_remi_step(const tg_score *s, int spq, int64_t ticks)
{
    if (s->ticks_per_quarter > 0) {
        int64_t tpq = s->ticks_per_quarter;
        return (ticks * spq * 2 + tpq) / (2 * tpq);
    }
    double sec = tg_score_ticks_to_sec(s, -1, ticks);
    return (int64_t)floor(sec * 2.0 * spq + 0.5);
}

static int meter_find(const tok_tokenizer *tok, int num, int den)
{
    for (int i = 0; i < tok->n_meters; i++)
        if (tok->meters[i].numerator == num && tok->meters[i].denominator == den) return i;
    return -1;
}

/* The meter of a bar of len steps, preferring /4, then /8, /2, /16; -1 if none. */
static int meter_for_len(const tok_tokenizer *tok, int64_t len)
{
    static const int pref[] = {4, 8, 2, 16};
    for (size_t k = 0; k < TG_ARRAY_LEN(pref); k++)
        for (int i = 0; i < tok->n_meters; i++)
            if (tok->meters[i].denominator == pref[k] && tok->meters[i].steps == len) return i;
    return -1;
}

/* The meter of the bar from p to the next wanted bar line (tok.h explains). */
int tok_remi_choose_meter(const tok_tokenizer *tok, int64_t len, int nominal, bool aligned)
{
    if (aligned && nominal >= 0 && tok->meters[nominal].steps == len) return nominal;
    int64_t max = tok->max_bar_steps;
    if (len > max) len = max;
    for (int64_t l = len; l >= 1; l--) {
        int m = meter_for_len(tok, l);
        if (m >= 0) return m;
    }
    for (int64_t l = len + 1; l <= max; l++) {
        int m = meter_for_len(tok, l);
        if (m >= 0) return m;
    }
    return meter_for_len(tok, max); /* 8/4 always exists */
}

static int tempo_bin(const tok_remi_config *c, uint32_t usec_per_quarter)
{
    if (c->tempo_bins == 1) return 0;
    double bpm = 60e6 / (double)usec_per_quarter;
    double x = (c->tempo_bins - 1) * log(bpm / c->tempo_min_bpm) /
               log(c->tempo_max_bpm / c->tempo_min_bpm);
    long k = lround(x);
    if (k < 0) k = 0;
    if (k > c->tempo_bins - 1) k = c->tempo_bins - 1;
    return (int)k;
}

uint32_t tok_remi_tempo_usec(const tok_remi_config *c, int k)
{
    double bpm = c->tempo_bins == 1
                     ? sqrt(c->tempo_min_bpm * c->tempo_max_bpm)
                     : c->tempo_min_bpm * pow(c->tempo_max_bpm / c->tempo_min_bpm,
                                              (double)k / (c->tempo_bins - 1));
    return (uint32_t)lround(60e6 / bpm);
}

/* ------------------------------------------------------------------------ */
/* Encoding. */

typedef struct {
    int64_t step;
    int16_t program; /* 0..127, DRUMS */
    uint8_t pitch;
    uint8_t vel_bin;
    int32_t dur;     /* steps, 1..max_duration_steps */
} remi_note;

static int cmp_remi_note(const void *pa, const void *pb)
{
    const remi_note *a = pa, *b = pb;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    if (a->program != b->program) return a->program - b->program;
    if (a->pitch != b->pitch) return (int)a->pitch - (int)b->pitch;
    if (a->dur != b->dur) return a->dur - b->dur;
    return (int)a->vel_bin - (int)b->vel_bin;
}


bool tok_remi_maps_sorted(const tg_score *s)
{
    for (size_t i = 1; i < s->n_tempos; i++)
        if (s->tempos[i].ticks < s->tempos[i - 1].ticks) return false;
    for (size_t i = 1; i < s->n_timesigs; i++)
        if (s->timesigs[i].ticks < s->timesigs[i - 1].ticks) return false;
    return true;
}

/* Tempo changes in steps: the tempo at step 0, then each change of bin. */
tg_status tok_remi_tempo_changes(const tok_tokenizer *tok, const tg_score *s, tok_tempo_change **out,
                               size_t *n_out)
{
    const tok_remi_config *c = &tok->cfg.remi;
    int spq = c->steps_per_quarter;
    tok_tempo_change *tc = malloc((s->n_tempos + 1) * sizeof *tc);
    if (!tc) return TG_ERR_NOMEM;
    size_t n = 0;
    tc[n++] = (tok_tempo_change){0, tempo_bin(c, 500000)};
    if (s->ticks_per_quarter > 0) {
        for (size_t i = 0; i < s->n_tempos; i++) {
            const tg_tempo *t = &s->tempos[i];
            if (s->format == 2 && t->chunk >= 0) continue; /* per-chunk maps: not encoded */
            tok_tempo_change e = {tok_remi_step(s, spq, t->ticks), tempo_bin(c, t->usec_per_quarter)};
            if (e.step == tc[n - 1].step)
                tc[n - 1].bin = e.bin; /* the last change within a step wins */
            else
                tc[n++] = e;
        }
    }
    size_t k = 1; /* drop changes that keep the bin */
    for (size_t i = 1; i < n; i++)
        if (tc[i].bin != tc[k - 1].bin) tc[k++] = tc[i];
    *out = tc;
    *n_out = k;
    return TG_OK;
}

/* Wanted bar lines in steps with the nominal meter index at each (-1 when the
 * score's meter has no token), covering past last_step + one longest bar. */
tg_status tok_remi_bar_lines(const tok_tokenizer *tok, const tg_score *s, int64_t last_step,
                             int64_t **lines_out, int **meters_out, size_t *n_out)
{
    int spq = tok->cfg.remi.steps_per_quarter;
    int64_t *lines = NULL;
    int *meters = NULL;
    size_t n = 0;
    if (s->ticks_per_quarter <= 0) {
        /* SMPTE: 4/4 at 120 bpm */
        int m = meter_find(tok, 4, 4);
        int64_t len = tok->meters[m].steps;
        size_t count = (size_t)((last_step + 2 * tok->max_bar_steps) / len + 2);
        lines = malloc(count * sizeof *lines);
        meters = malloc(count * sizeof *meters);
        if (!lines || !meters) goto nomem;
        for (size_t i = 0; i < count; i++) lines[i] = (int64_t)i * len, meters[i] = m;
        n = count;
    } else {
        int64_t tpq = s->ticks_per_quarter;
        int64_t end_ticks = (last_step + 2 * tok->max_bar_steps) * tpq / spq + 2 * tpq;
        int64_t *ticks;
        size_t nt;
        tg_status st = tg_score_bar_lines(s, end_ticks, &ticks, &nt);
        if (st != TG_OK) return st;
        lines = malloc((nt ? nt : 1) * sizeof *lines);
        meters = malloc((nt ? nt : 1) * sizeof *meters);
        if (!lines || !meters) {
            free(ticks);
            goto nomem;
        }
        size_t ti = 0;
        tg_timesig ts = {0, 4, 4, -1};
        for (size_t i = 0; i < nt; i++) {
            while (ti < s->n_timesigs && s->timesigs[ti].ticks <= ticks[i]) ts = s->timesigs[ti++];
            int64_t step = tok_remi_step(s, spq, ticks[i]);
            if (n > 0 && step <= lines[n - 1]) continue;
            lines[n] = step;
            meters[n] = meter_find(tok, ts.numerator, ts.denominator);
            n++;
        }
        free(ticks);
    }
    *lines_out = lines;
    *meters_out = meters;
    *n_out = n;
    return TG_OK;
nomem:
    free(lines);
    free(meters);
    return TG_ERR_NOMEM;
}

tg_status tok_remi_frame_open(tok_remi_frame *f, const tg_score *score)
{
    memset(f, 0, sizeof *f);
    f->score = score;
    f->meter = -1;
    if (tok_remi_maps_sorted(score)) return TG_OK;
    tg_status st = tg_score_clone(score, &f->sorted);
    if (st != TG_OK) return st;
    tg_score_sort(f->sorted);
    f->score = f->sorted;
    return TG_OK;
}

tg_status tok_remi_frame_maps(tok_remi_frame *f, const tok_tokenizer *tok, int64_t last_step)
{
    tg_status st = tok_remi_tempo_changes(tok, f->score, &f->tempos, &f->n_tempos);
    if (st == TG_OK) st = tok_remi_bar_lines(tok, f->score, last_step, &f->lines, &f->nominal, &f->n_lines);
    return st;
}

tg_status tok_remi_frame_bar(tok_remi_frame *f, const tok_tokenizer *tok, int64_t p, tok_seq *seq,
                             int64_t *bar_end)
{
    size_t j = f->line;
    while (j + 1 < f->n_lines && f->lines[j + 1] <= p) j++;
    f->line = j;
    int64_t len = j + 1 < f->n_lines ? f->lines[j + 1] - p : tok->max_bar_steps;
    int m = tok_remi_choose_meter(tok, len, f->nominal[j], f->lines[j] == p);
    tg_status st = tok_seq_push(seq, tok_id(tok, TOK_T_BAR, 0));
    if (st == TG_OK && m != f->meter) st = tok_seq_push(seq, tok_id(tok, TOK_T_TIMESIG, m));
    f->meter = m;
    *bar_end = p + tok->meters[m].steps;
    return st;
}

void tok_remi_frame_free(tok_remi_frame *f)
{
    free(f->tempos);
    free(f->lines);
    free(f->nominal);
    tg_score_free(f->sorted);
    memset(f, 0, sizeof *f);
}

void tok_remi_note_steps(const tok_tokenizer *tok, const tg_score *s, const tg_note *nt, int64_t *step,
                         int32_t *dur)
{
    const tok_remi_config *c = &tok->cfg.remi;
    int64_t a = tok_remi_step(s, c->steps_per_quarter, nt->start_ticks);
    int64_t b = tok_remi_step(s, c->steps_per_quarter, nt->end_ticks);
    int64_t d = b > a ? b - a : 1;
    *step = a;
    *dur = (int32_t)(d > c->max_duration_steps ? c->max_duration_steps : d);
}

static tg_status collect_notes(const tok_tokenizer *tok, const tg_score *s, remi_note **out,
                               size_t *n_out)
{
    size_t total = tg_score_note_count(s);
    remi_note *notes = malloc((total ? total : 1) * sizeof *notes);
    if (!notes) return TG_ERR_NOMEM;
    size_t n = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        const tg_track *tr = &s->tracks[t];
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *nt = &tr->notes[i];
            int64_t step;
            int32_t dur;
            tok_remi_note_steps(tok, s, nt, &step, &dur);
            notes[n++] = (remi_note){step, (int16_t)(tr->is_drum ? DRUMS : tr->program), nt->pitch,
                                     tok->vel_bin[nt->velocity & 127], dur};
        }
    }
    qsort(notes, n, sizeof *notes, cmp_remi_note);
    *out = notes;
    *n_out = n;
    return TG_OK;
}

#define PUSH(type, value)                                                      \
    do {                                                                       \
        st = tok_seq_push(seq, tok_id(tok, (type), (value)));                  \
        if (st != TG_OK) goto done;                                            \
    } while (0)

/* compact (remi-compact): a Program only when the note's program differs
 * from the previous note's, a Velocity only when its bin does. */
tg_status tok_remi_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq, bool compact)
{
    tok_remi_frame f;
    tg_status st = tok_remi_frame_open(&f, score);
    if (st != TG_OK) return st;
    remi_note *notes = NULL;
    size_t nn = 0;
    st = tok_seq_push(seq, TOK_BOS);
    if (st == TG_OK) st = collect_notes(tok, f.score, &notes, &nn);
    if (st == TG_OK && nn > 0 && notes[nn - 1].step > TOK_MAX_STEPS) st = TG_ERR_TOO_LARGE;
    if (st == TG_OK && nn > 0) st = tok_remi_frame_maps(&f, tok, notes[nn - 1].step);
    if (st != TG_OK || nn == 0) goto done;

    int64_t last = notes[nn - 1].step, bar_end;
    size_t ni = 0, ti = 0;
    int program = -1, vel_bin = -1; /* program and bin in force */
    for (int64_t p = 0; p <= last; p = bar_end) {
        st = tok_remi_frame_bar(&f, tok, p, seq, &bar_end);
        if (st != TG_OK) goto done;
        for (;;) {
            int64_t next = INT64_MAX;
            if (ni < nn) next = notes[ni].step;
            if (ti < f.n_tempos && f.tempos[ti].step < next) next = f.tempos[ti].step;
            if (next >= bar_end) break;
            PUSH(TOK_T_POSITION, (int)(next - p));
            if (ti < f.n_tempos && f.tempos[ti].step == next) PUSH(TOK_T_TEMPO, f.tempos[ti++].bin);
            for (; ni < nn && notes[ni].step == next; ni++) {
                const remi_note *nt = &notes[ni];
                if (!compact || nt->program != program) PUSH(TOK_T_PROGRAM, nt->program);
                PUSH(TOK_T_PITCH, nt->pitch);
                if (!compact || nt->vel_bin != vel_bin) PUSH(TOK_T_VELOCITY, nt->vel_bin);
                PUSH(TOK_T_DURATION, nt->dur);
                program = nt->program;
                vel_bin = nt->vel_bin;
            }
        }
    }
done:
    if (st == TG_OK) st = tok_seq_push(seq, TOK_EOS);
    free(notes);
    tok_remi_frame_free(&f);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Decoding: a state machine over the grammar in tok.h. */

typedef struct {
    tg_note *notes;
    size_t n, cap;
} note_list;

typedef struct {
    note_list by_program[DRUMS + 1];
    tok_remi_maps maps;
} remi_out;

tg_status tok_remi_add_track(tg_score *s, const char *name, int channel, int program,
                             const tg_note *notes, size_t n)
{
    size_t ti;
    tg_status st = tg_score_add_track(s, name, channel, program, -1, &ti);
    for (size_t i = 0; st == TG_OK && i < n; i++) {
        tg_note nt = notes[i];
        nt.channel = (uint8_t)channel;
        st = tg_score_add_note(s, ti, nt);
    }
    return st;
}

tg_status tok_remi_score_open(const tok_tokenizer *tok, const tok_remi_maps *m, tg_score **out)
{
    tg_score *s;
    tg_status st = tg_score_create(40 * tok->cfg.remi.steps_per_quarter, &s);
    if (st != TG_OK) return st;
    if (m->n_ts == 0) st = tg_score_add_timesig(s, (tg_timesig){0, 4, 4, -1}); /* no TimeSig at all: 4/4 */
    for (size_t i = 0; st == TG_OK && i < m->n_ts; i++) st = tg_score_add_timesig(s, m->ts[i]);
    for (size_t i = 0; st == TG_OK && i < m->n_tempos; i++) st = tg_score_add_tempo(s, m->tempos[i]);
    if (st != TG_OK) {
        tg_score_free(s);
        return st;
    }
    *out = s;
    return TG_OK;
}

tg_status tok_remi_score_close(tg_status st, tg_score *s, tg_score **out)
{
    if (st != TG_OK) {
        tg_score_free(s);
        return st;
    }
    tg_score_sort(s);
    *out = s;
    return TG_OK;
}

void tok_remi_maps_free(tok_remi_maps *m)
{
    free(m->ts);
    free(m->tempos);
}

static tg_status build_score(const tok_tokenizer *tok, remi_out *o, tg_score **out)
{
    tg_score *s;
    tg_status st = tok_remi_score_open(tok, &o->maps, &s);
    if (st != TG_OK) return st;
    int next_channel = 0;
    for (int p = 0; st == TG_OK && p <= DRUMS; p++) {
        note_list *l = &o->by_program[p];
        if (l->n == 0) continue;
        int channel = 9;
        char name[32];
        if (p == DRUMS) {
            snprintf(name, sizeof name, "Drums");
        } else {
            snprintf(name, sizeof name, "Program %d", p);
            channel = next_channel;
            next_channel = next_channel == 15 ? 0 : next_channel + 1;
            if (next_channel == 9) next_channel = 10;
        }
        st = tok_remi_add_track(s, name, channel, p == DRUMS ? 0 : p, l->notes, l->n);
    }
    return tok_remi_score_close(st, s, out);
}

static void free_out(remi_out *o)
{
    for (int p = 0; p <= DRUMS; p++) free(o->by_program[p].notes);
    tok_remi_maps_free(&o->maps);
}

/* compact (remi-compact): a Pitch right after a Duration, Position or Tempo
 * begins a note in the program in force, and a Duration right after the
 * Pitch takes the velocity bin in force. */
tg_status tok_remi_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out, bool compact)
{
    const tok_tokenizer *tok = d->tok;
    const tok_remi_config *c = &tok->cfg.remi;
    int64_t tps = 40; /* ticks per step in the decoded score */
    remi_out o;
    memset(&o, 0, sizeof o);
    tg_status st = TG_OK;

    bool in_bar = false;
    int64_t bar_start = 0, pos = -1;
    int meter = meter_find(tok, 4, 4), bar_meter = meter;
    int prev_type = -1;     /* type of the last accepted token */
    int stage = 0;          /* of the note being read: 1 Program, 2 Pitch, 3 Velocity */
    size_t note_at = 0;     /* index of its Program */
    int program = compact ? -1 : 0, pitch = 0, vel = compact ? -1 : 0; /* -1: none in force */
    bool have_bar = false;

    size_t last = n ? n - 1 : 0; /* the token the sequence ends at (its EOS, if any) */
    for (size_t i = 0; i < n; i++) {
        int r = tok_dec_common(d, ids, n, i, &st);
        if (st != TG_OK) goto fail;
        if (r == 2) {
            last = i;
            break;
        }
        if (r == 1) continue;
        tok_info info = tok->info[ids[i]];
        const char *name = tok->names[ids[i]];
        /* a structural token or a new Program interrupts a note being read */
        bool starts_new = info.type == TOK_T_BAR || info.type == TOK_T_POSITION ||
                          info.type == TOK_T_PROGRAM || info.type == TOK_T_TIMESIG ||
                          info.type == TOK_T_TEMPO ||
                          (compact && info.type == TOK_T_PITCH && stage >= 2);
        if (stage > 0 && starts_new) {
            st = tok_dec_problem(d, i, "%s inside a note begun at token %zu: the note is dropped",
                                 name, note_at);
            if (st != TG_OK) goto fail;
            stage = 0;
        }
        /* a note begins at its Program (compact: or at a Pitch, in the
         * program in force, as if its Program stood here) */
        bool pitch_begins = compact && info.type == TOK_T_PITCH && stage == 0;
        if ((info.type == TOK_T_PROGRAM || pitch_begins) && pos < 0) {
            st = tok_dec_problem(d, i, "%s with no Position before it: Position_0 is assumed", name);
            if (st != TG_OK) goto fail;
            if (!in_bar) have_bar = in_bar = true;
            pos = 0;
        }
        if (pitch_begins) {
            if (program < 0) {
                st = tok_dec_problem(d, i, "%s with no Program in force: Program_0 is assumed", name);
                if (st != TG_OK) goto fail;
                program = 0;
            }
            note_at = i;
            stage = 1;
        }
        if (compact && info.type == TOK_T_DURATION && stage == 2) {
            /* the velocity bin in force */
            if (vel < 0) {
                vel = tok->vel_bin[64];
                st = tok_dec_problem(d, i, "%s with no Velocity in force: %s is assumed", name,
                                     tok->names[tok_id(tok, TOK_T_VELOCITY, vel)]);
                if (st != TG_OK) goto fail;
            }
            stage = 3;
        }
        switch (info.type) {
        case TOK_T_BAR:
            if (have_bar) bar_start += tok->meters[bar_meter].steps;
            have_bar = in_bar = true;
            bar_meter = meter;
            pos = -1;
            break;
        case TOK_T_TIMESIG: {
            if (prev_type != TOK_T_BAR) {
                st = tok_dec_problem(d, i, "%s not right after a Bar: dropped", name);
                if (st != TG_OK) goto fail;
                continue;
            }
            meter = bar_meter = info.value;
            tg_timesig ts = {bar_start * tps, tok->meters[meter].numerator,
                             tok->meters[meter].denominator, -1};
            st = tg_grow((void **)&o.maps.ts, &o.maps.cap_ts, o.maps.n_ts + 1, sizeof *o.maps.ts);
            if (st != TG_OK) goto fail;
            o.maps.ts[o.maps.n_ts++] = ts;
            break;
        }
        case TOK_T_POSITION:
            if (!in_bar) {
                st = tok_dec_problem(d, i, "%s before any Bar: a Bar is assumed", name);
                if (st != TG_OK) goto fail;
                have_bar = in_bar = true;
            }
            if (info.value <= pos || info.value >= tok->meters[bar_meter].steps) {
                st = tok_dec_problem(d, i, info.value <= pos
                                               ? "%s does not move forward from Position_%d: dropped"
                                               : "%s lies beyond the bar's end (%d steps): dropped",
                                     name, info.value <= pos ? (int)pos : tok->meters[bar_meter].steps);
                if (st != TG_OK) goto fail;
                continue;
            }
            pos = info.value;
            break;
        case TOK_T_TEMPO: {
            if (prev_type != TOK_T_POSITION) {
                if (pos < 0) {
                    st = tok_dec_problem(d, i, "%s with no Position before it: dropped", name);
                    if (st != TG_OK) goto fail;
                    continue;
                }
                st = tok_dec_problem(d, i, "%s not right after a Position: kept at Position_%d",
                                     name, (int)pos);
                if (st != TG_OK) goto fail;
            }
            tg_tempo t = {(bar_start + pos) * tps, tok_remi_tempo_usec(c, info.value), -1};
            if (o.maps.n_tempos > 0 && o.maps.tempos[o.maps.n_tempos - 1].ticks == t.ticks) {
                o.maps.tempos[o.maps.n_tempos - 1] = t;
            } else {
                st = tg_grow((void **)&o.maps.tempos, &o.maps.cap_tempos, o.maps.n_tempos + 1, sizeof *o.maps.tempos);
                if (st != TG_OK) goto fail;
                o.maps.tempos[o.maps.n_tempos++] = t;
            }
            break;
        }
        case TOK_T_PROGRAM:
            program = info.value;
            note_at = i;
            stage = 1;
            break;
        case TOK_T_PITCH:
        case TOK_T_VELOCITY:
        case TOK_T_DURATION: {
            int want = info.type == TOK_T_PITCH ? 1 : info.type == TOK_T_VELOCITY ? 2 : 3;
            if (stage != want) {
                static const char *const need[] = {"", "Program", "Pitch", "Velocity"};
                st = tok_dec_problem(d, i, "%s with no %s before it: dropped", name, need[want]);
                if (st != TG_OK) goto fail;
                if (stage > 0) {
                    st = tok_dec_problem(d, i, "note begun at token %zu is incomplete: dropped",
                                         note_at);
                    if (st != TG_OK) goto fail;
                }
                stage = 0;
                continue;
            }
            if (want == 1) pitch = info.value;
            if (want == 2) vel = info.value;
            stage = want + 1;
            if (want == 3) {
                note_list *l = &o.by_program[program];
                st = tg_grow((void **)&l->notes, &l->cap, l->n + 1, sizeof *l->notes);
                if (st != TG_OK) goto fail;
                int64_t start = (bar_start + pos) * tps;
                l->notes[l->n++] = (tg_note){start, start + info.value * tps, (uint8_t)pitch,
                                             tok->vel_centre[vel], 0};
                stage = 0;
            }
            break;
        }
        default:
            st = tok_dec_problem(d, i, "%s is not a remi token: dropped", name);
            if (st != TG_OK) goto fail;
            continue;
        }
        prev_type = (int)info.type;
    }
    if (stage > 0) {
        st = tok_dec_problem(d, last, "the sequence ends inside a note begun at token %zu: dropped",
                             note_at);
        if (st != TG_OK) goto fail;
    }
    st = build_score(tok, &o, out);
fail:
    free_out(&o);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Grammar (tok.h): the decoder's rules in the encoder's canonical order. */

void tok_remi_grammar_init(tok_grammar *g)
{
    g->remi.meter = g->remi.bar_meter = -1;
    g->remi.pos = -1;
    g->remi.program = g->remi.prev_program = g->remi.prev_pitch = -1;
}

bool tok_remi_allows(const tok_grammar *g, tok_type type, int value)
{
    const tok_tokenizer *tok = g->tok;
    int last = g->last;
    switch (type) {
    case TOK_T_EOS:
        return last == TOK_T_BOS || last == TOK_T_DURATION || last == TOK_T_TEMPO;
    case TOK_T_BAR:
        /* the first Bar must get its TimeSig before anything else */
        if (last == TOK_T_BAR) return g->remi.meter >= 0;
        return last == TOK_T_BOS || last == TOK_T_TIMESIG || last == TOK_T_TEMPO ||
               last == TOK_T_DURATION;
    case TOK_T_TIMESIG:
        return last == TOK_T_BAR;
    case TOK_T_POSITION: {
        bool after = last == TOK_T_TIMESIG || last == TOK_T_TEMPO || last == TOK_T_DURATION ||
                     (last == TOK_T_BAR && g->remi.meter >= 0);
        if (!after) return false;
        int len = tok->meters[g->remi.bar_meter].steps;
        return value > g->remi.pos && value < len;
    }
    case TOK_T_TEMPO:
        return last == TOK_T_POSITION;
    case TOK_T_PROGRAM:
        if (last != TOK_T_POSITION && last != TOK_T_TEMPO && last != TOK_T_DURATION) return false;
        return value >= g->remi.prev_program;
    case TOK_T_PITCH:
        if (last != TOK_T_PROGRAM) return false;
        return g->remi.program > g->remi.prev_program || value >= g->remi.prev_pitch;
    case TOK_T_VELOCITY:
        return last == TOK_T_PITCH;
    case TOK_T_DURATION:
        return last == TOK_T_VELOCITY;
    default:
        return false;
    }
}

void tok_remi_feed(tok_grammar *g, tok_type type, int value)
{
    const tok_tokenizer *tok = g->tok;
    switch (type) {
    case TOK_T_BAR:
        if (g->remi.bars > 0) g->remi.bar_start += tok->meters[g->remi.bar_meter].steps;
        g->remi.bars++;
        g->remi.bar_meter = g->remi.meter;
        g->remi.pos = -1;
        g->remi.prev_program = g->remi.prev_pitch = -1;
        break;
    case TOK_T_TIMESIG: g->remi.meter = g->remi.bar_meter = value; break;
    case TOK_T_POSITION:
        g->remi.pos = value;
        g->remi.prev_program = g->remi.prev_pitch = -1;
        break;
    case TOK_T_PROGRAM: g->remi.program = value; break;
    case TOK_T_PITCH:
        g->remi.prev_program = g->remi.program;
        g->remi.prev_pitch = value;
        break;
    case TOK_T_DURATION: g->notes++; break;
    default: break;
    }
}

/* Steps: the start of the current bar plus the current position. */
int64_t tok_remi_time(const tok_grammar *g)
{
    return g->remi.bar_start + (g->remi.pos > 0 ? g->remi.pos : 0);
}

const tok_config_key tok_remi_keys[TOK_REMI_N_KEYS] = {
    {"steps_per_quarter", offsetof(tok_config, remi.steps_per_quarter), false},
    {"tempo_bins", offsetof(tok_config, remi.tempo_bins), false},
    {"tempo_min_bpm", offsetof(tok_config, remi.tempo_min_bpm), true},
    {"tempo_max_bpm", offsetof(tok_config, remi.tempo_max_bpm), true},
    {"velocity_bins", offsetof(tok_config, remi.velocity_bins), false},
    {"max_duration_steps", offsetof(tok_config, remi.max_duration_steps), false},
};

static tg_status remi_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    return tok_remi_encode(tok, score, seq, false);
}

static tg_status remi_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
{
    return tok_remi_decode(d, ids, n, out, false);
}

const tok_kind_ops tok_remi_ops = {
    .kind = TOK_REMI,
    .name = "remi",
    .keys = tok_remi_keys,
    .n_keys = TOK_REMI_N_KEYS,
    .music = true,
    .config_default = tok_remi_default,
    .config_check = tok_remi_check,
    .build = tok_remi_build,
    .encode = remi_encode,
    .decode = remi_decode,
    .grammar_init = tok_remi_grammar_init,
    .grammar_allows = tok_remi_allows,
    .grammar_feed = tok_remi_feed,
    .grammar_can_close = tok_grammar_can_end,
    .grammar_close = tok_grammar_close_none,
    .grammar_time = tok_remi_time,
    .grammar_pad = tok_grammar_pad_none,
    .steps_per_quarter = tok_remi_steps_per_quarter,
    .unit_sec = tok_no_unit,
};
