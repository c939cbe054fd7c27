/*
 * test_harmony.c: harmonic fit and voice leading (src/eval/harmony.c).
 *
 *   fit     a melody track over chords with known fits, a silent onset, an
 *           accompaniment note ending at the onset (not sounding); the top
 *           line: a chord under a held melody note is no melody onset, a
 *           drum never takes the top line; a missing track is ERR_ARG
 *   voices  a hand-made chorale with one parallel fifth (compound), one
 *           parallel octave, a tenor crossing the alto (begun once, counted
 *           at two onsets) and one soprano note out of range; the same at 120
 *           ticks a 16th; a rest breaks a parallel; three tracks are not four
 *           voices; a piece too long for the grid is refused; sets sum and
 *           scale per 100 beats
 *
 * `test_harmony data` measures Nottingham's test and valid tunes
 * (../shared/data/nottingham/full) and Bach's chorales
 * (../shared/data/jsb-chorales) and checks issue 20's figures: harmonic fit
 * 0.743 on Nottingham's test tunes; parallel fifths 0.38, octaves 0.13 and
 * crossings 3.30 per 100 beats on the 77 test chorales (exit 77 without the
 * data). `test_harmony counts FILE...` prints each file's counts, for
 * tests/test_harmony_vs_mido.py, which computes them again from mido's parse.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "eval/eval.h"
#include "test.h"

/* A note of a hand-made score: track, pitch, start and end in ticks. */
typedef struct {
    int track, pitch, start, end;
} hnote;

/* A score of n_tracks tracks (program 0; track `drum` on channel 10 unless
 * -1), times multiplied by scale. */
static tg_score *make(int tpq, int scale, int n_tracks, int drum, const hnote *v, int n)
{
    tg_score *s = NULL;
    CHECK_OK(tg_score_create(tpq, &s));
    if (!s) return NULL;
    for (int t = 0; t < n_tracks; t++) {
        size_t idx;
        CHECK_OK(tg_score_add_track(s, t == drum ? "drums" : "voice", t == drum ? 9 : t, 0, -1, &idx));
        if (t == drum) s->tracks[idx].is_drum = true;
    }
    for (int i = 0; i < n; i++) {
        tg_note nt = {(int64_t)v[i].start * scale, (int64_t)v[i].end * scale, (uint8_t)v[i].pitch, 100,
                      (uint8_t)(v[i].track == drum ? 9 : v[i].track)};
        CHECK_OK(tg_score_add_note(s, (size_t)v[i].track, nt));
    }
    tg_score_sort(s);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Harmonic fit. */

static void test_fit(void)
{
    /* melody (track 0) C5 E5 F#5 G5 D5 on quarters; chords (track 1) C E G
     * for three quarters, a silent quarter, then G B D. Onsets: C fits, E
     * fits, F# does not, G is silent (the chord ends at its onset), D fits. */
    const hnote a[] = {{0, 72, 0, 4},  {0, 76, 4, 8},  {0, 78, 8, 12}, {0, 79, 12, 16}, {0, 74, 16, 20},
                       {1, 60, 0, 12}, {1, 64, 0, 12}, {1, 67, 0, 12}, {1, 55, 16, 20}, {1, 59, 16, 20},
                       {1, 62, 16, 20}};
    tg_score *s = make(4, 1, 2, -1, a, 11);
    eval_fit_counts c;
    for (int mel = -1; mel <= 0; mel++) { /* the top line is track 0 here */
        CHECK_OK(eval_harmonic_fit(s, mel, &c));
        CHECK_INT(c.onsets, 5);
        CHECK_INT(c.silent, 1);
        CHECK_INT(c.fits, 3);
    }
    /* track 1 as the melody: C E G at 0 over C5 (C fits), G B D at 16 over
     * D5 (D fits) */
    CHECK_OK(eval_harmonic_fit(s, 1, &c));
    CHECK_INT(c.onsets, 6);
    CHECK_INT(c.silent, 0);
    CHECK_INT(c.fits, 2);
    CHECK_STATUS(eval_harmonic_fit(s, 2, &c), TG_ERR_ARG);

    /* the set: one piece, fit 3/4, one onset in five silent */
    eval_set set = {0};
    set.pieces = calloc(1, sizeof *set.pieces);
    set.n = set.cap = 1;
    set.pieces[0].score = s;
    eval_harmony_result hr;
    CHECK_OK(eval_harmony_set(&set, -1, &hr));
    CHECK_INT(hr.pieces, 1);
    CHECK_NEAR(hr.fit, 0.75, 1e-15);
    CHECK_NEAR(hr.silent_share, 0.2, 1e-15);
    CHECK_NEAR(hr.piece_fit.mean, 0.75, 1e-15);
    CHECK_OK(eval_harmony_set(&set, 3, &hr)); /* no track 3: skipped, not an error */
    CHECK_INT(hr.skipped, 1);
    CHECK(isnan(hr.fit));
    eval_set_free(&set);

    /* one track, top line: G5 held over a chord that enters later (no
     * melody onset: silent at 0, the chord is accompaniment); C5 then C#5
     * over C E G; a drum note above everything is ignored */
    const hnote b[] = {{0, 79, 0, 8},   {0, 60, 4, 16}, {0, 64, 4, 16}, {0, 67, 4, 16},
                       {0, 72, 8, 12},  {0, 73, 12, 16}, {1, 90, 8, 16}};
    s = make(4, 1, 2, 1, b, 7);
    CHECK_OK(eval_harmonic_fit(s, -1, &c));
    CHECK_INT(c.onsets, 3); /* 79, 72, 73 */
    CHECK_INT(c.silent, 1); /* 79 at 0 */
    CHECK_INT(c.fits, 1);   /* 72 over C E G */
    tg_score_free(s);
}

/* ------------------------------------------------------------------------ */
/* Voice leading. */

/* A chorale, one tick = a 16th at tpq 4 (32 steps, 8 beats):
 *   step 4: S 67->69 and B 48->50, both up, S - B = 19 (a compound fifth) at
 *           both: one parallel fifth;
 *   step 8: S up, A and B down: nothing;
 *   step 16: S 71->72, B 43->48: 28 then 24, no;
 *   step 20: S 72->74, B 48->50: 24 and 24: one parallel octave;
 *   step 24: T 55->64 above A's 62: a crossing begins (T's onset);
 *   step 28: A 62->63, still under T: the crossing counted again (A's onset);
 *   S 81 at 24 is above the soprano's G5 (79): one note out of range. */
static const hnote chorale[] = {
    {0, 67, 0, 4},   {0, 69, 4, 8},   {0, 71, 8, 16},  {0, 72, 16, 20}, {0, 74, 20, 24}, {0, 81, 24, 32},
    {1, 64, 0, 8},   {1, 62, 8, 28},  {1, 63, 28, 32},
    {2, 55, 0, 24},  {2, 64, 24, 32},
    {3, 48, 0, 4},   {3, 50, 4, 8},   {3, 43, 8, 16},  {3, 48, 16, 20}, {3, 50, 20, 32},
};
#define N_CHORALE ((int)(sizeof chorale / sizeof chorale[0]))

static void check_chorale(const eval_voice_counts *c)
{
    CHECK_NEAR(c->beats, 8.0, 0);
    CHECK_INT(c->notes, N_CHORALE);
    CHECK_INT(c->fifths, 1);
    CHECK_INT(c->octaves, 1);
    CHECK_INT(c->crossings, 2);
    CHECK_INT(c->crossings_begun, 1);
    CHECK_INT(c->out_of_range[0], 1);
    CHECK_INT(c->out_of_range[1] + c->out_of_range[2] + c->out_of_range[3], 0);
}

static void test_voices(void)
{
    eval_voice_ranges r = eval_voice_ranges_default();
    eval_voice_counts c;
    tg_score *s = make(4, 1, 4, -1, chorale, N_CHORALE);
    CHECK(eval_is_four_voices(s));
    CHECK_OK(eval_voice_leading(s, &r, &c));
    check_chorale(&c);
    tg_score *s480 = make(480, 120, 4, -1, chorale, N_CHORALE);
    CHECK_OK(eval_voice_leading(s480, &r, &c));
    check_chorale(&c);

    /* a fifth either side of a soprano rest is no parallel: S 67 [0,4),
     * rest [4,5), 69 [5,8); B 48 [0,4) 50 [4,8) (A and T hold) */
    const hnote rest[] = {{0, 67, 0, 4}, {0, 69, 5, 8}, {1, 64, 0, 8}, {2, 55, 0, 8}, {3, 48, 0, 4}, {3, 50, 4, 8}};
    tg_score *sr = make(4, 1, 4, -1, rest, 6);
    CHECK_OK(eval_voice_leading(sr, &r, &c));
    CHECK_INT(c.fifths, 0);
    /* the same without the rest is one: S - B = 19 at both steps */
    const hnote norest[] = {{0, 67, 0, 4}, {0, 69, 4, 8}, {1, 64, 0, 8}, {2, 55, 0, 8}, {3, 48, 0, 4}, {3, 50, 4, 8}};
    tg_score *sn = make(4, 1, 4, -1, norest, 6);
    CHECK_OK(eval_voice_leading(sn, &r, &c));
    CHECK_INT(c.fifths, 1);

    /* three voices, or four with one a drum track, are not four voices */
    tg_score *s3 = make(4, 1, 3, -1, chorale, 9);
    CHECK(!eval_is_four_voices(s3));
    CHECK_STATUS(eval_voice_leading(s3, &r, &c), TG_ERR_ARG);
    tg_score *sd = make(4, 1, 4, 3, chorale, N_CHORALE);
    CHECK_STATUS(eval_voice_leading(sd, &r, &c), TG_ERR_ARG);

    /* a piece past the grid's 2^24 sixteenths is refused, not allocated */
    const hnote longest[] = {{0, 67, 0, 4}, {1, 64, 0, 4}, {2, 55, 0, 4}, {3, 48, 0, 1 << 24}};
    tg_score *sl = make(4, 1, 4, -1, longest, 4);
    CHECK_STATUS(eval_voice_leading(sl, &r, &c), TG_ERR_RANGE);
    tg_score_free(sl);

    /* a set: the chorale twice (once as a source beside a 3-voice decoded
     * score, as a folder's piece) and the 3-voice score: 16 beats */
    eval_set set = {0};
    set.pieces = calloc(3, sizeof *set.pieces);
    set.n = set.cap = 3;
    set.pieces[0].score = s;
    set.pieces[1].score = s3;
    set.pieces[1].source = s480;
    tg_score *s3b = make(4, 1, 3, -1, chorale, 9);
    set.pieces[2].score = s3b;
    eval_voice_result vr;
    CHECK_OK(eval_voice_set(&set, &r, &vr));
    CHECK_INT(vr.pieces, 2);
    CHECK_INT(vr.skipped, 1);
    CHECK_NEAR(vr.counts.beats, 16, 0);
    CHECK_NEAR(vr.fifths, 2 * 100.0 / 16, 1e-12);
    CHECK_NEAR(vr.octaves, 2 * 100.0 / 16, 1e-12);
    CHECK_NEAR(vr.crossings, 4 * 100.0 / 16, 1e-12);
    CHECK_NEAR(vr.crossings_begun, 2 * 100.0 / 16, 1e-12);
    CHECK_NEAR(vr.out_of_range, 2 * 100.0 / 16, 1e-12);
    eval_set_free(&set);
    tg_score_free(sr);
    tg_score_free(sn);
    tg_score_free(sd);
}

/* ------------------------------------------------------------------------ */
/* Files. */

static tg_score *read_midi(const char *path)
{
    tg_midi_read_options ro = tg_midi_read_options_default();
    tg_score *s = NULL;
    if (tg_midi_read_file(path, &ro, &s, NULL, NULL) != TG_OK) return NULL;
    return s;
}

/* One line per file: name, then the fit counts with the top line and with
 * track 0 as melody (n/a when the file has one track), then the voice counts
 * (n/a unless four voices). */
static int print_counts(int n, char **paths)
{
    eval_voice_ranges r = eval_voice_ranges_default();
    for (int i = 0; i < n; i++) {
        tg_score *s = read_midi(paths[i]);
        if (!s) {
            fprintf(stderr, "%s: cannot read\n", paths[i]);
            return 1;
        }
        eval_fit_counts top, first;
        eval_voice_counts v;
        if (eval_harmonic_fit(s, -1, &top) != TG_OK) return 1;
        printf("%s top %llu %llu %llu", paths[i], (unsigned long long)top.onsets, (unsigned long long)top.silent,
               (unsigned long long)top.fits);
        size_t with_notes = 0, first_track = 0;
        for (size_t t = s->n_tracks; t-- > 0;)
            if (s->tracks[t].n_notes && !s->tracks[t].is_drum) with_notes++, first_track = t;
        if (with_notes >= 2 && eval_harmonic_fit(s, (int)first_track, &first) == TG_OK)
            printf(" first %llu %llu %llu", (unsigned long long)first.onsets, (unsigned long long)first.silent,
                   (unsigned long long)first.fits);
        else
            printf(" first n/a");
        if (eval_voice_leading(s, &r, &v) == TG_OK)
            printf(" voices %.2f %llu %llu %llu %llu %llu %llu %llu %llu %llu\n", v.beats,
                   (unsigned long long)v.notes, (unsigned long long)v.fifths, (unsigned long long)v.octaves,
                   (unsigned long long)v.crossings, (unsigned long long)v.crossings_begun,
                   (unsigned long long)v.out_of_range[0], (unsigned long long)v.out_of_range[1],
                   (unsigned long long)v.out_of_range[2], (unsigned long long)v.out_of_range[3]);
        else
            printf(" voices n/a\n");
        tg_score_free(s);
    }
    return 0;
}

/* The files of one split (split.tsv beside dir), read into a set whose
 * pieces hold the score as read. Returns false when split.tsv is missing. */
static bool read_split(const char *root, const char *sub, const char *split, eval_set *set)
{
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/split.tsv", root);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    memset(set, 0, sizeof *set);
    while (fgets(line, sizeof line, f)) {
        char name[512], sp[32];
        if (line[0] == '#' || sscanf(line, "%511s %31s", name, sp) != 2 || strcmp(sp, split) != 0) continue;
        snprintf(path, sizeof path, "%s/%s/%s", root, sub, name);
        tg_score *s = read_midi(path);
        CHECK(s != NULL);
        if (!s) continue;
        CHECK_OK(tg_grow((void **)&set->pieces, &set->cap, set->n + 1, sizeof *set->pieces));
        memset(&set->pieces[set->n], 0, sizeof set->pieces[set->n]);
        set->pieces[set->n++].score = s;
    }
    fclose(f);
    return true;
}

static int run_data(void)
{
    const char *nott = TG_SHARED_DATA "/nottingham", *jsb = TG_SHARED_DATA "/jsb-chorales";
    eval_set set;
    static const char *splits[3] = {"test", "valid", "train"};
    if (!read_split(nott, "full", "test", &set)) {
        printf("skipped: %s/split.tsv not found (the data is not part of the repository)\n", nott);
        return TEST_SKIP_CODE;
    }
    eval_set_free(&set);
    printf("harmonic fit: share of melody onsets whose pitch class sounds in the accompaniment\n");
    for (int k = 0; k < 2; k++) {
        CHECK(read_split(nott, "full", splits[k], &set));
        eval_harmony_result top, first;
        CHECK_OK(eval_harmony_set(&set, -1, &top));
        CHECK_OK(eval_harmony_set(&set, 0, &first));
        printf("  nottingham %-5s %3zu tunes: top line %.4f (piece mean %.4f +- %.4f), first track %.4f; "
               "silent onsets %.4f\n",
               splits[k], set.n, top.fit, top.piece_fit.mean, top.piece_fit.sd, first.fit, top.silent_share);
        if (k == 0) {
            CHECK_INT(set.n, 99);
            CHECK_NEAR(top.fit, 0.743, 0.001);   /* issue 20: 0.743; we get 0.7427 */
            CHECK_NEAR(first.fit, 0.743, 0.001); /* 0.7426 */
        }
        eval_set_free(&set);
    }
    if (!read_split(jsb, "midi", "test", &set)) {
        printf("skipped: %s/split.tsv not found\n", jsb);
        return TEST_SKIP_CODE;
    }
    eval_set_free(&set);
    printf("voice leading per 100 beats (16th grid): fifths octaves crossings (begun) out-of-range\n");
    eval_voice_ranges r = eval_voice_ranges_default();
    for (int k = 0; k < 3; k++) {
        CHECK(read_split(jsb, "midi", splits[k], &set));
        eval_voice_result v;
        CHECK_OK(eval_voice_set(&set, &r, &v));
        printf("  bach %-5s %3zu chorales, %.0f beats: %.3f %.3f %.3f (%.3f) %.3f\n", splits[k], v.pieces,
               v.counts.beats, v.fifths, v.octaves, v.crossings, v.crossings_begun, v.out_of_range);
        CHECK_INT(v.skipped, 0);
        if (k == 0) {
            CHECK_INT(v.pieces, 77);
            /* issue 20: 0.38, 0.13, 3.30; we get 0.381, 0.127, 3.302 */
            CHECK_NEAR(v.fifths, 0.38, 0.005);
            CHECK_NEAR(v.octaves, 0.13, 0.005);
            CHECK_NEAR(v.crossings, 3.30, 0.005);
        }
        eval_set_free(&set);
    }
    return test_finish("test_harmony data");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "data") == 0) return run_data();
    if (argc >= 2 && strcmp(argv[1], "counts") == 0) return print_counts(argc - 2, argv + 2);
    test_fit();
    test_voices();
    return test_finish("test_harmony");
}
