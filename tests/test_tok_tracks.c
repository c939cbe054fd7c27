/*
 * test_tok_tracks.c: remi-tracks (src/tok/tok_remi_tracks.c) and its tasks
 * (tok_tracks_task.c). On a score the test builds: two tracks of one program
 * stay two tracks (remi merges them), the round trip keeps every note on the
 * step grid, re-encoding gives the same tokens, the grammar accepts what the
 * encoder and every task rewrite write, a task's sequence decodes to the
 * same notes (the given tracks first, a gap moved after Fill and put back,
 * a window of bars shifted by its start), and bad inputs are refused.
 * With the argument "data", the same checks over ../shared/data's
 * Nottingham and chorale files (exit 77 without them).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tok/tok.h"

static tok_tokenizer *make(void)
{
    tok_config c = tok_config_default(TOK_REMI_TRACKS);
    tok_tokenizer *t = NULL;
    CHECK_OK(tok_create(&c, &t));
    return t;
}

/* 8 bars of 3/4 at 480 ticks a quarter (40 ticks a step), a tempo change in
 * bar 5; a melody and a chord track, both program 0, plus an empty track. */
static tg_score *two_tracks(bool dup)
{
    tg_score *s;
    CHECK_OK(tg_score_create(480, &s));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 3, 4, -1}));
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){0, 500000, -1}));
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){4 * 1440 + 480, 400000, -1}));
    size_t mel, empty, ch;
    CHECK_OK(tg_score_add_track(s, "Melody", 0, 0, -1, &mel));
    CHECK_OK(tg_score_add_track(s, "Nothing", 2, 5, -1, &empty));
    CHECK_OK(tg_score_add_track(s, "Chords", 1, 0, -1, &ch));
    for (int bar = 0; bar < 8; bar++) {
        int64_t t0 = (int64_t)bar * 1440;
        for (int b = 0; b < 3; b++)
            CHECK_OK(tg_score_add_note(s, mel, (tg_note){t0 + b * 480, t0 + b * 480 + 360,
                                                         (uint8_t)(67 + (bar + b) % 5), 90, 0}));
        for (int k = 0; k < 3; k++)
            CHECK_OK(tg_score_add_note(s, ch, (tg_note){t0, t0 + 1440, (uint8_t)(48 + 4 * k - bar % 2), 70, 1}));
    }
    /* a duplicate (same step and pitch, shorter): encoded once */
    if (dup) CHECK_OK(tg_score_add_note(s, mel, (tg_note){0, 120, 67, 90, 0}));
    tg_score_sort(s);
    return s;
}

/* Notes of one track as (start, end, pitch) in steps of the score. */
static int same_notes(const tg_score *a, size_t ta, const tg_score *b, size_t tb, int64_t shift_steps)
{
    const tg_track *x = &a->tracks[ta], *y = &b->tracks[tb];
    int64_t qa = a->ticks_per_quarter / 12, qb = b->ticks_per_quarter / 12;
    if (x->n_notes != y->n_notes) {
        fprintf(stderr, "notes: %zu vs %zu\n", x->n_notes, y->n_notes);
        return 0;
    }
    for (size_t i = 0; i < x->n_notes; i++) {
        const tg_note *p = &x->notes[i], *q = &y->notes[i];
        if (p->start_ticks / qa != q->start_ticks / qb + shift_steps ||
            p->end_ticks / qa != q->end_ticks / qb + shift_steps || p->pitch != q->pitch) {
            fprintf(stderr, "note %zu: %lld-%lld %d vs %lld-%lld %d\n", i, (long long)(p->start_ticks / qa),
                    (long long)(p->end_ticks / qa), p->pitch, (long long)(q->start_ticks / qb),
                    (long long)(q->end_ticks / qb), p->pitch);
            return 0;
        }
    }
    return 1;
}

static int grammar_accepts(const tok_tokenizer *t, const tok_seq *s)
{
    tok_grammar g;
    tok_grammar_init(&g, t);
    for (size_t i = 0; i < s->n; i++)
        if (tok_grammar_feed(&g, s->ids[i]) != TG_OK) {
            fprintf(stderr, "grammar refuses token %zu (%s) after %s\n", i, tok_name(t, s->ids[i]),
                    i ? tok_name(t, s->ids[i - 1]) : "-");
            return 0;
        }
    return g.ended;
}

static tg_score *decode(const tok_tokenizer *t, const tok_seq *s)
{
    tg_score *d = NULL;
    tok_decode_error err;
    tg_status st = tok_decode(t, s->ids, s->n, NULL, &d, &err, NULL);
    if (st != TG_OK) TEST_FAIL_("decode: %s at %zu: %s", tg_status_str(st), err.index, err.what);
    return d;
}

static void test_round_trip(void)
{
    tok_tokenizer *t = make();
    tg_score *s = two_tracks(false), *with_dup = two_tracks(true);
    tok_seq seq = {0}, dup = {0};
    CHECK_OK(tok_encode(t, s, &seq));
    CHECK_OK(tok_encode(t, with_dup, &dup));
    CHECK(dup.n == seq.n && memcmp(dup.ids, seq.ids, seq.n * 2) == 0);
    tok_seq_free(&dup);
    tg_score_free(with_dup);
    CHECK(grammar_accepts(t, &seq));
    CHECK_INT(tok_vocab_size(t), 587);
    CHECK_INT(tok_tracks_bar_count(t, seq.ids, seq.n), 8);
    tg_score *d = decode(t, &seq);
    CHECK_INT(d->n_tracks, 2); /* remi would give one track of program 0 */
    CHECK_STR(d->tracks[0].name, "Track 0");
    CHECK(same_notes(s, 0, d, 0, 0));
    CHECK(same_notes(s, 2, d, 1, 0));
    CHECK_INT(d->n_timesigs, 1);
    CHECK_INT(d->timesigs[0].numerator, 3);
    CHECK_INT(d->n_tempos, 2);
    tok_seq again = {0};
    CHECK_OK(tok_encode(t, d, &again));
    CHECK(again.n == seq.n && memcmp(again.ids, seq.ids, seq.n * 2) == 0);
    tok_seq_free(&again);
    tok_seq_free(&seq);
    tg_score_free(d);
    tg_score_free(s);
    tok_free(t);
}

static void test_tasks(void)
{
    tok_tokenizer *t = make();
    tg_score *s = two_tracks(true);
    tok_seq canon = {0}, seq = {0};
    CHECK_OK(tok_encode(t, s, &canon));
    tg_score *ref = decode(t, &canon);
    char why[160];
    int first;
    int64_t start;

    /* chords given, melody after them in every bar: the same notes */
    tok_tracks_task task = tok_tracks_task_default();
    task.given = 2;
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &seq, &first, &start, why, sizeof why));
    CHECK(grammar_accepts(t, &seq));
    CHECK(seq.n == canon.n && memcmp(seq.ids, canon.ids, seq.n * 2) != 0);
    int bar = tok_bar_id(t), trk1 = tok_id(t, TOK_T_TRACK, 1);
    for (size_t i = 0; i < seq.n; i++) { /* each bar's first track is Track_1 */
        if (seq.ids[i] != bar) continue;
        size_t j = i + 1;
        while (tok_get_info(t, seq.ids[j]).type != TOK_T_TRACK) j++;
        CHECK_INT(seq.ids[j], trk1);
    }
    tg_score *d = decode(t, &seq);
    CHECK(same_notes(ref, 0, d, 0, 0) && same_notes(ref, 1, d, 1, 0));
    tg_score_free(d);

    /* chords alone: one track, slot 1 (its header says so) */
    task = tok_tracks_task_default();
    task.keep = 2;
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &seq, NULL, NULL, why, sizeof why));
    CHECK(grammar_accepts(t, &seq));
    CHECK(seq.ids[1] == trk1);
    d = decode(t, &seq);
    CHECK_INT(d->n_tracks, 1);
    CHECK_STR(d->tracks[0].name, "Track 1");
    CHECK(same_notes(ref, 1, d, 0, 0));
    tg_score_free(d);

    /* bars 3-5 filled, all bars kept: decoding puts them back */
    task = tok_tracks_task_default();
    task.gap_first = 2, task.gap_bars = 3;
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &seq, &first, &start, why, sizeof why));
    CHECK(grammar_accepts(t, &seq));
    CHECK_INT(first, 0);
    d = decode(t, &seq);
    CHECK(same_notes(ref, 0, d, 0, 0) && same_notes(ref, 1, d, 1, 0));
    tg_score_free(d);
    /* EOS may not come before the Fill section has all its bars */
    tok_grammar g;
    tok_grammar_init(&g, t);
    size_t fill_at = 0;
    for (size_t i = 0; i < seq.n; i++) {
        if (seq.ids[i] == tok_id(t, TOK_T_FILL, 0)) fill_at = i;
        if (fill_at && i > fill_at && seq.ids[i] == bar) CHECK(!tok_grammar_allows(&g, TOK_EOS));
        tok_grammar_feed(&g, seq.ids[i]);
    }
    CHECK(fill_at > 0);

    /* a window of one bar before and one after bars 5-6: bar 4's meter and
     * the tempo in force come with it; notes shift by its start */
    task = tok_tracks_task_default();
    task.gap_first = 4, task.gap_bars = 2, task.before = 1, task.after = 1, task.given = 1;
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &seq, &first, &start, why, sizeof why));
    CHECK(grammar_accepts(t, &seq));
    CHECK_INT(first, 3);
    CHECK_INT(start, 3 * 36);
    d = decode(t, &seq);
    CHECK_INT(d->tracks[0].n_notes, 4 * 3);
    CHECK_INT(d->tracks[0].notes[0].pitch, ref->tracks[0].notes[3 * 3].pitch); /* bar 4's first */
    CHECK_INT(d->tracks[0].notes[0].start_ticks, 0);
    CHECK_INT(d->n_tempos, 2);
    tg_score_free(d);

    /* cleared tracks: Track_k alone in the bars to generate */
    task = tok_tracks_task_default();
    task.given = 1, task.clear = 2;
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &seq, NULL, NULL, why, sizeof why));
    CHECK(grammar_accepts(t, &seq));
    d = decode(t, &seq);
    CHECK_INT(d->n_tracks, 2);
    CHECK_INT(d->tracks[1].n_notes, 0);
    CHECK(same_notes(ref, 0, d, 0, 0));
    tg_score_free(d);

    /* fitting a gap to a length gives up bars before it first */
    task = tok_tracks_task_default();
    task.gap_first = 4, task.gap_bars = 2;
    CHECK_OK(tok_tracks_fit(t, canon.ids, canon.n, &task, 120, &seq, &first, NULL, why, sizeof why));
    CHECK(seq.n <= 120);
    CHECK(task.before < 4 && task.before >= 0);
    CHECK(grammar_accepts(t, &seq));
    CHECK_STATUS(tok_tracks_fit(t, canon.ids, canon.n, &task, 20, &seq, NULL, NULL, why, sizeof why),
                 TG_ERR_TOO_LARGE);

    /* refusals: a gap past the end, a sequence already rewritten */
    task = tok_tracks_task_default();
    task.gap_first = 7, task.gap_bars = 2;
    CHECK_STATUS(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &seq, NULL, NULL, why, sizeof why), TG_ERR_ARG);
    CHECK(strstr(why, "outside") != NULL);
    task.gap_first = 1, task.gap_bars = 1;
    tok_seq gapped = {0};
    CHECK_OK(tok_tracks_rewrite(t, canon.ids, canon.n, &task, &gapped, NULL, NULL, why, sizeof why));
    CHECK_STATUS(tok_tracks_rewrite(t, gapped.ids, gapped.n, &task, &seq, NULL, NULL, why, sizeof why), TG_ERR_ARG);
    CHECK(strstr(why, "canonical") != NULL);
    tok_seq_free(&gapped);

    tg_score_free(ref);
    tok_seq_free(&seq);
    tok_seq_free(&canon);
    tg_score_free(s);
    tok_free(t);
}

/* Every file of a folder: encode, grammar, strict decode, re-encode, and
 * a few tasks through the grammar and the decoder. */
static int check_folder(const char *dir, size_t *files)
{
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    tok_tokenizer *t = make();
    struct dirent *e;
    char path[1024], why[160];
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    while ((e = readdir(dp))) {
        if (!strstr(e->d_name, ".mid")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        tg_score *s = NULL;
        if (tg_midi_read_file(path, NULL, &s, NULL, NULL) != TG_OK) {
            TEST_FAIL_("%s: unreadable", path);
            continue;
        }
        tok_seq seq = {0}, again = {0}, task_seq = {0};
        CHECK_OK(tok_encode(t, s, &seq));
        if (!grammar_accepts(t, &seq)) TEST_FAIL_("%s: grammar", path);
        tg_score *d = decode(t, &seq);
        if (d) {
            CHECK_OK(tok_encode(t, d, &again));
            if (again.n != seq.n || memcmp(again.ids, seq.ids, seq.n * 2) != 0) TEST_FAIL_("%s: re-encoding differs", path);
        }
        int bars = tok_tracks_bar_count(t, seq.ids, seq.n);
        for (int k = 0; k < 4 && bars > 2; k++) {
            tok_tracks_task task = tok_tracks_task_default();
            task.given = 1u << tg_rng_below(&rng, 4);
            task.gap_bars = 1 + (int)tg_rng_below(&rng, 4);
            if (task.gap_bars >= bars) task.gap_bars = 1;
            task.gap_first = (int)tg_rng_below(&rng, (uint32_t)(bars - task.gap_bars));
            if (k == 0) task.gap_bars = 0, task.clear = ~task.given;
            tg_status st = tok_tracks_fit(t, seq.ids, seq.n, &task, 257, &task_seq, NULL, NULL, why, sizeof why);
            if (st == TG_ERR_TOO_LARGE) continue;
            CHECK_OK(st);
            if (!grammar_accepts(t, &task_seq)) TEST_FAIL_("%s: task %d: grammar", path, k);
            tg_score *dt = decode(t, &task_seq);
            tg_score_free(dt);
        }
        tok_seq_free(&seq);
        tok_seq_free(&again);
        tok_seq_free(&task_seq);
        tg_score_free(d);
        tg_score_free(s);
        (*files)++;
    }
    closedir(dp);
    tok_free(t);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "data") == 0) {
        size_t files = 0;
        int a = check_folder(TG_SHARED_DATA "/nottingham/full", &files);
        int b = check_folder(TG_SHARED_DATA "/jsb-chorales/midi", &files);
        if (!a && !b) {
            printf("tok_tracks data: skipped: ../shared/data/nottingham/full and jsb-chorales/midi are missing\n");
            return TEST_SKIP_CODE;
        }
        printf("tok_tracks data: %zu files\n", files);
        return test_finish("tok_tracks data");
    }
    test_round_trip();
    test_tasks();
    return test_finish("tok_tracks");
}
