/*
 * accompany.c: any-track generation with a remi-tracks model: write some
 * tracks of a piece given the others (accompaniment, harmonisation), or
 * write some bars again given the bars around them (infilling), as
 * tg_run_accompany in include/tunegan.h. The input's tracks are matched to
 * the model's slots (its tracks.tsv: slot, name, program) by name, else in
 * order; the piece is encoded with the model's slots, rewritten into the
 * task's order (tok_tracks_rewrite: the given tracks first in every bar, a
 * gap after Fill within a window that fits the context), and decoded through
 * the plan (sample_fill: given tokens forced, the target tracks sampled).
 * With gen.rerank = N > 1 each take is the best of N candidates (the
 * streams N * take .. N * take + N - 1) as the model itself scores them
 * (channel.c: log p(given | written) + rerank_weight * log p(written |
 * given)); with rerank_by BAR, bar by bar, the take spliced from each bar's
 * best candidate (splice.c).
 * The output is the input itself (its tempo map, meter, track names and
 * every given note, untouched) with the target tracks' notes replaced by
 * the generated ones in the bars generated, or added as new tracks; a
 * written note that would collide with a sounding note of its channel and
 * pitch is shortened or left out, so the given notes survive the MIDI file.
 * What it leaves out: SMPTE-timed input (refused), more than
 * TOK_TRACKS_MAX tracks.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "run.h"

tg_accompany_options tg_accompany_options_default(void)
{
    tg_accompany_options o;
    memset(&o, 0, sizeof o);
    o.gen = tg_generate_options_default();
    o.rerank_weight = 0.0; /* the channel alone: measured best (experiments/any-track/RESULTS.md) */
    return o;
}

/* ------------------------------------------------------------------------ */
/* The model's slots: tracks.tsv beside its checkpoint. */

tg_status run_slots_read(const tg_run *run, run_slots *out, char *err, size_t err_len)
{
    return run_slots_read_file(run->path, out, err, err_len);
}

tg_status run_slots_read_file(const char *ck, run_slots *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    char path[4200];
    run_beside(ck, "tracks.tsv", path, sizeof path);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return tg_fail(err, err_len, TG_ERR_NOT_FOUND,
                       "%s: the model's table of tracks (tracks.tsv: slot, name, program) is missing beside "
                       "%s: is it an any-track (remi-tracks) model?", path, ck);
    char line[256];
    int lineno = 0;
    tg_status st = TG_OK;
    while (st == TG_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        int slot, program;
        char name[64];
        if (sscanf(line, "%d\t%63[^\t]\t%d", &slot, name, &program) != 3 || slot < 0 || slot >= TOK_TRACKS_MAX ||
            program < 0 || program > 128 || out->name[slot][0])
            st = tg_fail(err, err_len, TG_ERR_FORMAT, "%s:%d: expected 'slot<TAB>name<TAB>program' with a new slot "
                         "0..%d and a program 0..128", path, lineno, TOK_TRACKS_MAX - 1);
        else {
            snprintf(out->name[slot], sizeof out->name[slot], "%s", name);
            out->program[slot] = program;
            out->n = slot + 1 > out->n ? slot + 1 : out->n;
        }
    }
    fclose(fp);
    for (int k = 0; st == TG_OK && k < out->n; k++)
        if (!out->name[k][0]) st = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: slot %d is missing", path, k);
    return st;
}

static int imin(int a, int b) { return a < b ? a : b; }

static bool same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

int run_slot_by_name(const run_slots *sl, const char *name)
{
    for (int k = 0; k < sl->n; k++)
        if (same_name(sl->name[k], name)) return k;
    char *end;
    long k = strtol(name, &end, 10);
    if (end != name && !*end && k >= 0 && k < sl->n) return (int)k;
    return -1;
}

/* Input tracks with notes to slots: by name where the names match, the
 * others in order onto the slots left. */
static tg_status map_tracks(const tg_score *s, const run_slots *sl, int *slot_of, char *err, size_t err_len)
{
    uint32_t used = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        slot_of[t] = -1;
        if (s->tracks[t].n_notes == 0) continue;
        int k = run_slot_by_name(sl, s->tracks[t].name);
        if (k >= 0 && !(used >> k & 1)) slot_of[t] = k, used |= 1u << k;
    }
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (s->tracks[t].n_notes == 0 || slot_of[t] >= 0) continue;
        int k = 0;
        while (k < sl->n && (used >> k & 1)) k++;
        if (k == sl->n)
            return tg_fail(err, err_len, TG_ERR_ARG, "the input has more tracks with notes than the model's %d (%s%s%s...)",
                           sl->n, sl->name[0], sl->n > 1 ? ", " : "", sl->n > 1 ? sl->name[1] : "");
        slot_of[t] = k, used |= 1u << k;
    }
    return TG_OK;
}

/* "alto,tenor" -> slots; NULL -> 0. */
static tg_status parse_targets(const char *list, const run_slots *sl, uint32_t *mask, char *err, size_t err_len)
{
    *mask = 0;
    if (!list) return TG_OK;
    char item[64];
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)(n < sizeof item ? n : sizeof item - 1), p);
        int k = run_slot_by_name(sl, item);
        if (k < 0) {
            char names[256] = "";
            for (int j = 0; j < sl->n; j++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? ", " : "", sl->name[j]);
            return tg_fail(err, err_len, TG_ERR_ARG, "no track '%s' in the model (its tracks: %s)", item, names);
        }
        *mask |= 1u << k;
        p += n;
        if (*p == ',') p++;
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* The bundled model that fits a piece. */

tg_status run_pick_accompany(const tg_score *s, const char *models_dir, run_accompany_pick *out, char *err,
                             size_t err_len)
{
    static const char *const satb[] = {"soprano", "alto", "tenor", "bass"};
    memset(out, 0, sizeof *out);
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (s->tracks[t].n_notes == 0) continue;
        out->tracks++;
        for (int v = 0; v < 4; v++)
            if (strncasecmp(s->tracks[t].name, satb[v], strlen(satb[v])) == 0) out->voices++;
    }
    const char *which = out->voices > 0 || out->tracks >= 3 ? "accompany-chorales" : "accompany-nottingham";
    if (out->tracks > 4)
        return tg_fail(err, err_len, TG_ERR_ARG, "the piece has %d tracks with notes; the bundled models know two "
                       "(melody, chords) or four (soprano, alto, tenor, bass)", out->tracks);
    snprintf(out->path, sizeof out->path, "%s/%s/model.safetensors", models_dir, which);
    if (!tg_file_exists(out->path))
        return tg_fail(err, err_len, TG_ERR_NOT_FOUND, "the bundled %s is missing (%s)", which, out->path);
    return TG_OK;
}

/* Whether a track sounds two notes at once somewhere. */
static bool holds_chords(const tg_track *tr)
{
    int64_t end = INT64_MIN;
    for (size_t i = 0; i < tr->n_notes; i++) { /* notes sorted by start */
        if (tr->notes[i].start_ticks < end) return true;
        end = tr->notes[i].end_ticks > end ? tr->notes[i].end_ticks : end;
    }
    return false;
}

tg_status run_pick_infill(const tg_score *s, const char *models_dir, int bar_first, bool tracks_named,
                          run_infill_pick *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    tg_status st = run_pick_accompany(s, models_dir, &out->pick, err, err_len);
    if (st != TG_OK && st != TG_ERR_NOT_FOUND) return st;
    bool chords = out->pick.tracks == 2;
    for (size_t t = 0; !chords && out->pick.tracks == 1 && t < s->n_tracks; t++)
        chords = s->tracks[t].n_notes > 0 && holds_chords(&s->tracks[t]);
    int program = -1; /* one instrument, as Nottingham's melody and chords: the model writes its notes, and
                         register tells the tracks apart; two instruments keep the any-track model */
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (s->tracks[t].n_notes == 0) continue;
        const int p = run_track_program(&s->tracks[t]);
        if (program >= 0 && p != program) chords = false;
        program = p;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/default/model.safetensors", models_dir);
    if (tracks_named || bar_first <= 1 || out->pick.voices > 0 || !chords || !tg_file_exists(path)) return st;
    snprintf(out->pick.path, sizeof out->pick.path, "%s", path);
    out->whole_tune = true;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* The plan and the output. */

/* Bar starts in steps of a canonical sequence (n_bars + 1 entries, the last
 * the end of the last bar). */
static tg_status bar_starts(const tok_tokenizer *tok, const tok_seq *seq, int64_t **out, int *n_out)
{
    int n = tok_tracks_bar_count(tok, seq->ids, seq->n), k = 0;
    int64_t *v = malloc((size_t)(n + 1) * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    tok_grammar g;
    tok_grammar_init(&g, tok);
    const int bar = tok_bar_id(tok);
    for (size_t i = 0; i < seq->n; i++) {
        if (tok_grammar_feed(&g, seq->ids[i]) != TG_OK) break;
        if (seq->ids[i] == bar) v[k++] = g.tracks.bar_start;
    }
    v[n] = n > 0 ? g.tracks.bar_start + g.tok->meters[g.tracks.bar_meter].steps : 0;
    *out = v;
    *n_out = n;
    return TG_OK;
}

/* Open after each target's Track_k that stands empty in a bar to write. */
static tg_status make_open(const tok_tokenizer *tok, const tok_seq *plan, uint32_t targets, bool gap, uint8_t **out)
{
    uint8_t *open = calloc(plan->n ? plan->n : 1, 1);
    if (!open) return TG_ERR_NOMEM;
    bool in_fill = false;
    for (size_t i = 0; i + 1 < plan->n; i++) {
        tok_info in = tok_get_info(tok, plan->ids[i]), next = tok_get_info(tok, plan->ids[i + 1]);
        if (in.type == TOK_T_FILL) in_fill = true;
        if (in.type != TOK_T_TRACK || !(targets >> in.value & 1) || (gap && !in_fill)) continue;
        if (next.type == TOK_T_TRACK || next.type == TOK_T_BAR || next.type == TOK_T_EOS || next.type == TOK_T_FILL)
            open[i] = 1;
    }
    *out = open;
    return TG_OK;
}

typedef struct {
    const tg_score *in;
    const run_slots *sl;
    const int *slot_of;
    uint32_t targets, header;   /* slots written; slots of the plan's header */
    int64_t from_step, to_step; /* steps generated: the gap, or the whole piece */
    int64_t window_step;        /* where the plan's decoded time 0 lies */
    int spq;
} assemble;

static int64_t step_ticks(const assemble *a, int64_t step) { return run_step_ticks(step, a->in->ticks_per_quarter, a->spq); }

int64_t run_step_ticks(int64_t step, int tpq, int spq) { return (int64_t)llround((double)step * tpq / spq); }

int run_track_program(const tg_track *tr) { return tr->is_drum ? 128 : tr->program; }

int run_free_channel(const tg_score *s, int want)
{
    bool used[16] = {false};
    for (size_t t = 0; t < s->n_tracks; t++) used[s->tracks[t].channel & 15] = true;
    if (want >= 0 && want < 16 && !used[want]) return want;
    for (int c = 0; c < 16; c++)
        if (c != 9 && !used[c]) return c;
    return 0;
}

/* The output: the input with each target's notes in the generated steps
 * replaced by the decoded ones. */
/* A written note must not disturb the notes already there: on one channel a
 * note of a pitch that sounds already would be cut by the first note-off of
 * that pitch (written back to MIDI). The note is dropped when one of its
 * channel and pitch sounds at its start, and ends at the next such onset. */
bool run_settle_note(const tg_score *s, tg_note *g)
{
    for (size_t t = 0; t < s->n_tracks; t++) {
        const tg_track *tr = &s->tracks[t];
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *o = &tr->notes[i];
            if (o->channel != g->channel || o->pitch != g->pitch) continue;
            if (o->start_ticks <= g->start_ticks && g->start_ticks < o->end_ticks) return false;
            if (o->start_ticks > g->start_ticks && o->start_ticks < g->end_ticks) g->end_ticks = o->start_ticks;
        }
    }
    return true;
}

static tg_status assemble_take(const assemble *a, const tok_tokenizer *tok, const tok_seq *seq, tg_score **out)
{
    tg_score *dec = NULL, *res = NULL;
    tok_decode_error derr;
    tg_status st = tok_decode(tok, seq->ids, seq->n, NULL, &dec, &derr, NULL);
    if (st == TG_OK) st = tg_score_clone(a->in, &res);
    const int64_t tps = 40; /* decoded ticks per step */
    const bool whole = a->to_step == INT64_MAX; /* accompaniment: every note of a target goes */
    const int64_t lo = whole ? INT64_MIN : step_ticks(a, a->from_step), hi = whole ? INT64_MAX : step_ticks(a, a->to_step);
    size_t dec_track = 0;
    for (int k = 0; st == TG_OK && k < TOK_TRACKS_MAX; k++) {
        if (!(a->header >> k & 1)) continue;
        const tg_track *src = &dec->tracks[dec_track++];
        if (!(a->targets >> k & 1)) continue;
        size_t t = SIZE_MAX;
        for (size_t j = 0; j < a->in->n_tracks; j++)
            if (a->slot_of[j] == k) t = j;
        if (t == SIZE_MAX) { /* a new track */
            int prog = a->sl->program[k];
            st = tg_score_add_track(res, a->sl->name[k], prog == 128 ? 9 : run_free_channel(res, k), prog == 128 ? 0 : prog,
                                    -1, &t);
            if (st != TG_OK) break;
        } else { /* the notes the model writes again leave */
            tg_track *tr = &res->tracks[t];
            size_t w = 0;
            for (size_t i = 0; i < tr->n_notes; i++)
                if (tr->notes[i].start_ticks < lo || tr->notes[i].start_ticks >= hi) tr->notes[w++] = tr->notes[i];
            tr->n_notes = w;
        }
        const int ch = res->tracks[t].channel;
        for (size_t i = 0; st == TG_OK && i < src->n_notes; i++) {
            tg_note nt = src->notes[i];
            int64_t s0 = nt.start_ticks / tps + a->window_step;
            if (s0 < a->from_step || s0 >= a->to_step) continue;
            int64_t s1 = nt.end_ticks / tps + a->window_step;
            nt.start_ticks = step_ticks(a, s0);
            nt.end_ticks = step_ticks(a, s1);
            if (nt.end_ticks <= nt.start_ticks) nt.end_ticks = nt.start_ticks + 1;
            nt.channel = (uint8_t)ch;
            if (run_settle_note(res, &nt)) st = tg_score_add_note(res, t, nt);
        }
    }
    if (st == TG_OK) tg_score_sort(res);
    tg_score_free(dec);
    if (st != TG_OK) {
        tg_score_free(res);
        return st;
    }
    *out = res;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Voice leading: which slots are the voices, and whether to keep the rules. */

static tg_status pick_voicing(int mode, const run_slots *sl, uint32_t tracks, uint32_t given, sample_voicing *v,
                              bool *on, char *err, size_t err_len)
{
    static const char *const satb[] = {"soprano", "alto", "tenor", "bass"};
    *on = false;
    if (mode == TG_VOICE_LEADING_OFF) return TG_OK;
    if (mode != TG_VOICE_LEADING_AUTO && mode != TG_VOICE_LEADING_STRICT)
        return tg_fail(err, err_len, TG_ERR_ARG, "voice leading %d: not auto, strict or off", mode);
    int n = 0;
    bool named = true;
    for (int k = 0; k < TOK_TRACKS_MAX; k++) {
        v->voice_of_slot[k] = -1;
        if (!(tracks >> k & 1)) continue;
        if (n < SAMPLE_VOICES && strcasecmp(sl->name[k], satb[n]) != 0) named = false;
        if (n < SAMPLE_VOICES) v->voice_of_slot[k] = n, v->given[n] = (given >> k & 1) != 0;
        n++;
    }
    voicing_ranges_default(v->low, v->high);
    if (n != SAMPLE_VOICES) {
        if (mode == TG_VOICE_LEADING_STRICT)
            return tg_fail(err, err_len, TG_ERR_ARG, "voice leading strict needs four voices (soprano, alto, tenor, "
                           "bass); this piece would have %d track%s", n, n == 1 ? "" : "s");
        return TG_OK;
    }
    *on = mode == TG_VOICE_LEADING_STRICT || named;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Reranking: the model scores its own candidates (channel.c). */

#define RUN_CHANNEL_AFTER_BARS 4 /* infilling: bars after the gap scored, as tok_tracks_fit keeps at most */

tg_status run_check_rerank(const tg_accompany_options *o, char *err, size_t err_len)
{
    const int r = o->gen.rerank, num = o->gen.num;
    if (r < 1 || r > RUN_MAX_RERANK)
        return tg_fail(err, err_len, TG_ERR_RANGE, "rerank %d: candidates per take must be 1 (off) to %d", r,
                       RUN_MAX_RERANK);
    if (num < 1 || num > INT32_MAX / r / 2)
        return tg_fail(err, err_len, TG_ERR_RANGE, "num %d with rerank %d: too many candidates", num, r);
    if (!isfinite(o->rerank_weight))
        return tg_fail(err, err_len, TG_ERR_RANGE, "rerank weight %g: not a finite number", o->rerank_weight);
    return TG_OK;
}

/* Take i's candidates are seqs[i*per .. i*per+per-1]; the best one's index
 * and scores (the lowest index on ties). */
static tg_status pick_candidate(tg_run *run, const run_channel_task *ct, const tok_seq *seqs, int i, int per,
                                const tg_accompany_options *o, int *best, run_channel_score *best_score, char *err, size_t err_len)
{
    double best_rank = -INFINITY;
    *best = i * per;
    for (int c = 0; c < per; c++) {
        run_channel_score sc;
        tg_status st = run_channel_score_of(run->gen, run->tok, ct, &seqs[i * per + c], &sc, NULL, err, err_len);
        if (st != TG_OK) return st;
        const double rank = run_channel_rank(&sc, o->rerank_weight, o->rerank_per_token);
        if (c == 0 || rank > best_rank) best_rank = rank, *best = i * per + c, *best_score = sc;
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */

tg_status tg_run_accompany(tg_run *run, const tg_accompany_options *o, tg_take *takes, tg_generate_stats *stats,
                           char *err, size_t err_len)
{
    tg_generate_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    const tok_tokenizer *tok = run->tok;
    const tg_score *in = o->score;
    const tg_generate_options *go = &o->gen;
    const bool forward = o->bar_first > 0 && run_infills_forward(run); /* infill.c */
    if (!forward && (!tok || tok_get_config(tok)->kind != TOK_REMI_TRACKS))
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: its tokenizer is %s, not remi-tracks: it cannot write tracks "
                       "for others (train one with `tunegan data mix`; models/accompany-* are such models)",
                       run->path, tok ? tok_kind_name(tok_get_config(tok)->kind) : "unknown");
    if (!in || in->ticks_per_quarter <= 0)
        return tg_fail(err, err_len, TG_ERR_UNSUPPORTED, "the input is timed in SMPTE frames: accompaniment needs beats");
    if (tg_score_note_count(in) == 0) return tg_fail(err, err_len, TG_ERR_ARG, "the input has no notes");
    const bool gap = o->bar_first > 0;
    if (gap && o->bar_last < o->bar_first) return tg_fail(err, err_len, TG_ERR_ARG, "bars %d-%d: the last bar comes before the first", o->bar_first, o->bar_last);
    tg_status st = run_check_rerank(o, err, err_len);
    if (st != TG_OK) return st;
    if (o->rerank_by == TG_RERANK_BY_BAR && gap)
        return tg_fail(err, err_len, TG_ERR_ARG, "reranking bar by bar is for accompaniment: an infilled gap's "
                       "candidates are scored by the bars after it, which no one bar owns");
    if (forward) return run_infill_forward(run, o, takes, stats, err, err_len);
    const int per = go->rerank; /* candidates per take */
    const bool scored = per > 1 || o->score_takes;

    run_slots sl;
    st = run_slots_read(run, &sl, err, err_len);
    if (st != TG_OK) return st;
    int *slot_of = malloc((in->n_tracks ? in->n_tracks : 1) * sizeof *slot_of);
    tok_seq canon = {0}, plan = {0}, *seqs = calloc((size_t)go->num * per, sizeof *seqs);
    uint8_t *open = NULL;
    int64_t *starts = NULL;
    if (!slot_of || !seqs) st = TG_ERR_NOMEM;
    if (st == TG_OK) st = map_tracks(in, &sl, slot_of, err, err_len);
    uint32_t present = 0, targets = 0;
    for (size_t t = 0; st == TG_OK && t < in->n_tracks; t++)
        if (slot_of[t] >= 0) present |= 1u << slot_of[t];
    if (st == TG_OK) st = parse_targets(o->tracks, &sl, &targets, err, err_len);
    if (st == TG_OK && !o->tracks) targets = gap ? present : ((1u << sl.n) - 1) & ~present;
    if (st == TG_OK && targets == 0)
        st = tg_fail(err, err_len, TG_ERR_ARG, "the input has every track of the model: name the tracks to write");
    const uint32_t given = present & ~targets;
    if (st == TG_OK && !gap && given == 0)
        st = tg_fail(err, err_len, TG_ERR_ARG, "every track of the input would be written again: nothing is given "
                     "(keep at least one track, or use generate)");
    /* the plan */
    tok_tracks_slots slots;
    for (int k = 0; k < TOK_TRACKS_MAX; k++) slots.program[k] = ((present | targets) >> k & 1) ? sl.program[k] : -1;
    if (st == TG_OK) st = tok_tracks_encode(tok, in, slot_of, &slots, &canon);
    int n_bars = 0;
    if (st == TG_OK) st = bar_starts(tok, &canon, &starts, &n_bars);
    if (st == TG_OK && gap && o->bar_last > n_bars)
        st = tg_fail(err, err_len, TG_ERR_ARG, "bars %d-%d: the piece has %d bars", o->bar_first, o->bar_last, n_bars);
    tok_tracks_task task = tok_tracks_task_default();
    task.given = given;
    int first_bar = 0;
    int64_t window_step = 0;
    char why[160] = "";
    const int T_ctx = model_get_config(run->gen)->context;
    if (st == TG_OK && gap) {
        task.gap_first = o->bar_first - 1, task.gap_bars = o->bar_last - o->bar_first + 1;
        st = tok_tracks_fit(tok, canon.ids, canon.n, &task, (size_t)T_ctx, &plan, &first_bar, &window_step, why,
                            sizeof why); /* sized as if the targets were there */
    }
    task.clear = targets;
    if (st == TG_OK) st = tok_tracks_rewrite(tok, canon.ids, canon.n, &task, &plan, &first_bar, &window_step, why, sizeof why);
    if (st != TG_OK && why[0]) tg_fail(err, err_len, st, "%s", why);
    if (st == TG_OK) st = make_open(tok, &plan, targets, gap, &open);
    /* the takes */
    sample_gen_options so = sample_gen_options_default();
    so.params = (sample_params){go->temperature, go->top_k, go->top_p, go->pitch_temperature, NULL};
    so.num = go->num * per, so.batch = go->batch, so.keep = go->keep, so.seed = go->seed;
    sample_voicing voicing;
    bool voiced = false;
    if (st == TG_OK) st = pick_voicing(o->voice_leading, &sl, present | targets, given, &voicing, &voiced, err, err_len);
    so.voicing = voiced ? &voicing : NULL;
    if (st == TG_OK && voiced && per > 1 && o->rerank_by == TG_RERANK_BY_BAR)
        st = tg_fail(err, err_len, TG_ERR_ARG, "ranking bar by bar with voice leading: the bars of different "
                     "candidates could meet in parallels or crossings at the bar line (rank whole takes, or "
                     "turn voice leading off)");
    sample_gen_stats ss;
    const sample_plan sp = {plan.ids, open, plan.n};
    if (st == TG_OK) st = sample_fill(run->gen, tok, &sp, &so, seqs, &ss, err, err_len);
    if (st == TG_OK) {
        stats->new_tokens = ss.new_tokens, stats->seconds = ss.seconds, stats->tok_per_s = ss.tok_per_s;
        stats->slides = ss.slides, stats->ended_by_eos = ss.ended_by_eos;
        stats->voice_leading = voiced, stats->voiced = ss.voiced, stats->redrawn = ss.redrawn;
        for (int k = 0; k < 3; k++) stats->relaxed[k] = ss.relaxed[k];
        stats->held_redrawn = ss.held_redrawn;
        /* the fit's counts, cut to the bars the piece has around the gap */
        stats->bars_before = gap ? imin(task.before, o->bar_first - 1) : 0;
        stats->bars_after = gap ? imin(task.after, n_bars - o->bar_last) : 0;
    }
    uint32_t header = 0;
    for (int k = 0; k < TOK_TRACKS_MAX; k++) header |= (uint32_t)(slots.program[k] >= 0) << k;
    const bool bars_ok = st == TG_OK && gap; /* the bars were checked against the piece */
    const assemble a = {in, &sl, slot_of, targets, header,
                        bars_ok ? starts[o->bar_first - 1] : 0, bars_ok ? starts[o->bar_last] : INT64_MAX,
                        window_step, tok_steps_per_quarter(tok)};
    const run_channel_task ct = {&sp, given, targets, gap, &canon, o->bar_first - 1, o->bar_last - o->bar_first + 1,
                                 RUN_CHANNEL_AFTER_BARS, o->rerank_weight != 0 || o->score_takes};
    int handed = 0;
    const bool by_bar = per > 1 && !gap &&
                        (o->rerank_by == TG_RERANK_BY_BAR || (o->rerank_by == TG_RERANK_BY_BAR_OR_TAKE && !voiced));
    for (int i = 0; st == TG_OK && i < go->num; i++) {
        int k = i * per, used = 0;
        run_channel_score sc;
        memset(&sc, 0, sizeof sc);
        tok_seq spliced = {0};
        if (by_bar && (st = run_splice_bars(run->gen, tok, &ct, &seqs[k], per, o->rerank_weight, o->rerank_per_token,
                                            &spliced, &sc, &used, err, err_len)) != TG_OK)
            break;
        if (!by_bar && scored && (st = pick_candidate(run, &ct, seqs, i, per, o, &k, &sc, err, err_len)) != TG_OK)
            break;
        const tok_seq *kept = by_bar ? &spliced : &seqs[k];
        tg_take tk = {NULL, kept->n, kept->n - plan.n, 0, -1, 0, sc.channel, sc.direct, sc.channel_tokens,
                      sc.direct_tokens, by_bar ? -1 : k - i * per, used};
        st = assemble_take(&a, tok, kept, &tk.score);
        tok_seq_free(&spliced);
        if (st != TG_OK) {
            tg_fail(err, err_len, st, "take %d: %s", i, tg_status_str(st));
            break;
        }
        if (go->on_take) {
            handed++;
            if (go->on_take(go->user, i, &tk)) st = TG_ERR_INTERRUPTED;
        } else {
            takes[i] = tk;
            handed++;
        }
    }
    if (st != TG_OK && !go->on_take && takes)
        for (int i = 0; i < handed; i++) tg_take_free(&takes[i]);
    stats->takes = handed;
    for (int i = 0; seqs && i < go->num * per; i++) tok_seq_free(&seqs[i]);
    free(seqs);
    free(open);
    free(starts);
    tok_seq_free(&plan);
    tok_seq_free(&canon);
    free(slot_of);
    return st;
}
