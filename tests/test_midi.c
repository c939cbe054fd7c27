/*
 * test_midi.c: the Standard MIDI File reader and writer.
 *
 * For every fixture of tests/data (made by tools/make_midi_fixtures.py): the
 * status, every note, the report's counts, the error's byte offset for files
 * that are refused, and the tempo map, meters, names and programs where the
 * fixture is about them. Then write -> read round trips of every readable
 * fixture in formats 1 and 0, the writer's own cases (repeated notes, nested
 * notes, long gaps, bad scores), the size and event limits, and the round
 * trip of every file of ../shared/data/nottingham/{full,melody,chords} when
 * it is present.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "midi/midi.h"
#include "test.h"

/* CHECK_INT that also says whether it held, to guard what follows. */
#define SAME_INT(a, b) same_int_((long long)(a), (long long)(b), #a, #b, __LINE__)

static bool same_int_(long long a, long long b, const char *ta, const char *tb, int line)
{
    test_checks_++;
    if (a == b) return true;
    fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, line, ta, tb, a, b);
    test_failures_++;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Reading a fixture, keeping the warnings. */

typedef struct {
    int count;
    char all[8192];
} log_capture;

static void capture(void *user, tg_log_level level, const char *msg)
{
    log_capture *c = user;
    (void)level;
    c->count++;
    size_t n = strlen(c->all);
    snprintf(c->all + n, sizeof c->all - n, "%s\n", msg);
}

static log_capture logs;

static tg_status read_fixture(const char *name, tg_score **s, tg_midi_report *rep,
                              tg_midi_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TG_TEST_DATA, name);
    memset(&logs, 0, sizeof logs);
    tg_midi_read_options o = tg_midi_read_options_default();
    o.logger.fn = capture;
    o.logger.user = &logs;
    o.name = name;
    return tg_midi_read_file(path, &o, s, rep, err);
}

/* ------------------------------------------------------------------------ */
/* Expected results. */

typedef struct {
    int chunk, channel, pitch;
    int64_t start, end;
    int velocity;
} xnote;

typedef struct {
    size_t closed, orphans, unknown, missing_eot, bad_len, mismatch, trailing, truncated, damaged,
        zero, chunks, warnings, system;
} xreport;

typedef struct {
    const char *name;
    tg_status status;
    int64_t err_offset;          /* refused files */
    const char *err_what;        /* refused files: part of err.what */
    xreport rep;                 /* read files */
    const char *warning;         /* read files: part of one warning, or NULL */
    const xnote *notes;
    size_t n_notes;
} fixture_case;

#define NOTES(...) (const xnote[]){__VA_ARGS__}, sizeof((const xnote[]){__VA_ARGS__}) / sizeof(xnote)
#define NONE NULL, 0

static const fixture_case cases[] = {
    {"format0.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 64, 96, 192, 90}, {0, 1, 60, 192, 384, 80},
           {0, 1, 64, 192, 384, 80}, {0, 1, 67, 192, 384, 80})},
    {"format1.mid", TG_OK, 0, NULL, {.chunks = 3}, NULL,
     NOTES({1, 0, 72, 0, 480, 100}, {2, 1, 36, 0, 1440, 90}, {1, 0, 74, 480, 960, 100},
           {1, 0, 76, 1920, 2880, 110}, {2, 1, 43, 1920, 3360, 90})},
    {"format2.mid", TG_OK, 0, NULL, {.chunks = 2}, NULL,
     NOTES({0, 0, 60, 0, 240, 100}, {1, 0, 62, 0, 240, 100})},
    {"tempo_map_f1.mid", TG_OK, 0, NULL, {.chunks = 3}, NULL,
     NOTES({1, 0, 60, 0, 960, 100}, {1, 0, 62, 960, 1920, 100}, {2, 1, 64, 1920, 2880, 100})},
    {"tempo_map_f2.mid", TG_OK, 0, NULL, {.chunks = 2}, NULL,
     NOTES({0, 0, 60, 0, 960, 100}, {1, 0, 60, 0, 960, 100})},
    {"program_shared.mid", TG_OK, 0, NULL, {.chunks = 3}, NULL,
     NOTES({1, 0, 60, 100, 150, 100}, {2, 0, 62, 300, 350, 100})},
    {"running_status.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 64, 0, 96, 100}, {0, 0, 67, 0, 96, 100},
           {0, 0, 72, 96, 144, 80})},
    {"running_status_meta.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 1},
     "a data byte follows a meta or sysex event at byte 35",
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 62, 96, 192, 100})},
    {"running_status_sysex.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 1},
     "a data byte follows a meta or sysex event at byte 33",
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 62, 96, 192, 100})},
    {"running_status_none.mid", TG_OK, 0, NULL,
     {.chunks = 2, .damaged = 1, .missing_eot = 1, .warnings = 2},
     "track 1: a data byte 0x40 where a status byte should be at byte 43",
     NOTES({0, 0, 60, 0, 96, 100})},
    {"vlq_sizes.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 0, 60, 127, 255, 100}, {0, 0, 61, 16638, 33022, 100},
           {0, 0, 62, 2130173, 4227325, 100}, {0, 0, 63, 4227325, 272662780, 100})},
    {"vlq_5bytes.mid", TG_OK, 0, NULL, {.chunks = 1, .damaged = 1, .missing_eot = 1, .warnings = 2},
     "track 0: a delta time longer than 4 bytes at byte 30", NOTES({0, 0, 60, 0, 96, 100})},
    {"channel_messages.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 3, 60, 0, 50, 100}, {0, 3, 62, 50, 100, 90})},
    {"sysex.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL, NOTES({0, 0, 60, 0, 96, 100})},
    {"sysex_escape.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL, NOTES({0, 0, 60, 0, 96, 100})},
    {"metas.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL, NOTES({0, 0, 69, 0, 96, 100})},
    {"meta_bad.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 7},
     "skipped a tempo event at byte 22 (its length is not 3)", NOTES({0, 0, 60, 0, 96, 100})},
    {"velocity0.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 62, 96, 192, 100})},
    {"overlap.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 0, 60, 0, 20, 100}, {0, 0, 60, 10, 30, 80}, {0, 0, 60, 50, 60, 70},
           {0, 0, 60, 50, 70, 71}, {0, 0, 64, 70, 90, 90}, {0, 0, 64, 80, 190, 91})},
    {"open_at_end.mid", TG_OK, 0, NULL, {.chunks = 1, .closed = 2, .zero = 1, .warnings = 1},
     "2 notes still sounding at the end of the track, closed at tick 500",
     NOTES({0, 0, 60, 100, 500, 100}, {0, 1, 48, 100, 150, 100}, {0, 0, 64, 500, 501, 100})},
    {"orphan_off.mid", TG_OK, 0, NULL, {.chunks = 1, .orphans = 3, .warnings = 1},
     "3 note-offs with no sounding note", NOTES({0, 0, 62, 10, 20, 100})},
    {"zero_length.mid", TG_OK, 0, NULL, {.chunks = 1, .zero = 1}, NULL,
     NOTES({0, 0, 60, 100, 101, 100}, {0, 0, 62, 100, 196, 100})},
    {"smpte.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL, NOTES({0, 0, 60, 0, 1500, 100})},
    {"no_eot.mid", TG_OK, 0, NULL, {.chunks = 2, .missing_eot = 1, .closed = 1, .zero = 1, .warnings = 2},
     "track 0: no end-of-track event",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 1, 40, 0, 192, 100}, {0, 0, 62, 96, 97, 100})},
    {"trailing_garbage.mid", TG_OK, 0, NULL, {.chunks = 1, .trailing = 7, .warnings = 1},
     "ignored 7 bytes after the last chunk at byte 34", NOTES({0, 0, 60, 0, 96, 100})},
    {"only_mthd.mid", TG_OK, 0, NULL, {.chunks = 0, .mismatch = 1, .warnings = 1},
     "MThd announces 1 track but 0 track chunks are present", NONE},
    {"only_mthd_empty.mid", TG_OK, 0, NULL, {.chunks = 0}, NULL, NONE},
    {"mthd_long.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL, NOTES({0, 0, 60, 0, 96, 100})},
    {"unknown_chunk.mid", TG_OK, 0, NULL, {.chunks = 2, .unknown = 3, .warnings = 3},
     "skipped a chunk of unknown type 'abcd' at byte 46",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 0, 60, 0, 96, 100})},
    {"length_over_last.mid", TG_OK, 0, NULL, {.chunks = 1, .bad_len = 1, .warnings = 1},
     "the length field says 1000 bytes but 12 remain", NOTES({0, 0, 60, 0, 96, 100})},
    {"length_over_middle.mid", TG_OK, 0, NULL, {.chunks = 2, .bad_len = 1, .warnings = 1},
     "the length field says 1000 bytes but 32 remain",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 1, 50, 0, 96, 100})},
    {"length_under.mid", TG_OK, 0, NULL, {.chunks = 2, .bad_len = 1, .warnings = 1},
     "past its length field of 12 bytes at byte 34",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 1, 50, 0, 96, 100}, {0, 0, 62, 96, 192, 100})},
    {"length_cut.mid", TG_OK, 0, NULL,
     {.chunks = 2, .truncated = 1, .missing_eot = 1, .closed = 1, .zero = 1, .warnings = 3},
     "track 0 ends inside an event at byte 34; the event is dropped",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 1, 50, 0, 96, 100}, {0, 0, 62, 96, 97, 100})},
    {"eot_early.mid", TG_OK, 0, NULL, {.chunks = 1, .bad_len = 1, .warnings = 1},
     "ignored 4 bytes after the end-of-track event at byte 34", NOTES({0, 0, 60, 0, 96, 100})},
    {"count_high.mid", TG_OK, 0, NULL, {.chunks = 2, .mismatch = 1, .warnings = 1},
     "MThd announces 3 tracks but 2 track chunks are present",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 0, 60, 0, 96, 100})},
    {"count_low.mid", TG_OK, 0, NULL, {.chunks = 2, .mismatch = 1, .warnings = 1},
     "MThd announces 1 track but 2 track chunks are present",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 1, 64, 0, 96, 100})},
    {"rmid.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL, NOTES({0, 0, 60, 0, 96, 100})},
    {"truncated.mid", TG_OK, 0, NULL,
     {.chunks = 1, .bad_len = 1, .truncated = 1, .missing_eot = 1, .closed = 1, .zero = 1,
      .warnings = 4},
     "track 0 ends inside an event at byte 34",
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 62, 96, 97, 100})},
    {"bad_status.mid", TG_OK, 0, NULL, {.chunks = 1, .closed = 1, .zero = 1, .warnings = 2, .system = 1},
     "track 0: skipped 1 stray system message (the first, 0xF4, at byte 31)",
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 62, 96, 97, 100})},
    /* stray system messages: skipped with their MIDI 1.0 data bytes, running status kept */
    {"system_realtime.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 1, .system = 7},
     "track 0: skipped 7 stray system messages (the first, 0xF8, at byte 31)",
     NOTES({0, 0, 60, 0, 48, 100}, {0, 0, 61, 58, 106, 100}, {0, 0, 62, 111, 159, 100},
           {0, 0, 63, 159, 207, 100}, {0, 0, 64, 214, 262, 100}, {0, 0, 65, 262, 310, 100},
           {0, 0, 66, 310, 358, 100}, {0, 0, 67, 358, 406, 100})},
    {"system_common.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 1, .system = 4},
     "track 0: skipped 4 stray system messages (the first, 0xF1, at byte 31)",
     NOTES({0, 0, 60, 0, 48, 100}, {0, 0, 61, 51, 99, 100}, {0, 0, 62, 99, 147, 100},
           {0, 0, 63, 147, 195, 100}, {0, 0, 64, 195, 243, 100}, {0, 0, 65, 252, 300, 100},
           {0, 0, 66, 300, 348, 100}, {0, 0, 67, 348, 396, 100})},
    {"system_undefined.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 1, .system = 4},
     "track 0: skipped 4 stray system messages (the first, 0xF4, at byte 31)",
     NOTES({0, 0, 60, 0, 48, 100}, {0, 0, 61, 48, 96, 100}, {0, 0, 62, 98, 146, 100},
           {0, 0, 63, 146, 194, 100}, {0, 0, 64, 194, 242, 100}, {0, 0, 65, 242, 290, 100},
           {0, 0, 66, 290, 338, 100}, {0, 0, 67, 338, 386, 100})},
    {"system_running.mid", TG_OK, 0, NULL, {.chunks = 1, .warnings = 1, .system = 2},
     "track 0: skipped 2 stray system messages (the first, 0xF8, at byte 30)",
     NOTES({0, 0, 60, 0, 48, 100}, {0, 0, 62, 48, 96, 100}, {0, 0, 64, 96, 144, 100})},
    /* files `data build` skips (src/data/check.c) */
    {"drums_only.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 9, 36, 0, 24, 100}, {0, 9, 38, 48, 72, 100})},
    {"long_silence.mid", TG_OK, 0, NULL, {.chunks = 1}, NULL,
     NOTES({0, 0, 60, 0, 96, 100}, {0, 0, 62, 192096, 192192, 100})},
    {"no_notes_damaged.mid", TG_OK, 0, NULL, {.chunks = 1, .damaged = 1, .missing_eot = 1, .warnings = 2},
     "track 0: a data byte 0x3C where a status byte should be at byte 23 (no running status)", NONE},
    /* found by fuzzing */
    {"fuzz_smpte128.mid", TG_OK, 0, NULL, {.chunks = 2, .bad_len = 1, .warnings = 1},
     "the length field says 1000 bytes but 32 remain",
     NOTES({0, 0, 60, 0, 96, 100}, {1, 1, 50, 2, 98, 100})},
    {"empty.mid", TG_ERR_NOT_MIDI, 0, "empty file", {0}, NULL, NONE},
    {"random_bytes.mid", TG_ERR_NOT_MIDI, 0, "no MThd header at byte 0", {0}, NULL, NONE},
    {"mthd_short.mid", TG_ERR_MIDI_DAMAGED, 10, "the MThd header ends at byte 10", {0}, NULL, NONE},
    {"division_zero.mid", TG_ERR_MIDI_DAMAGED, 12, "0 ticks per quarter note", {0}, NULL, NONE},
    {"format3.mid", TG_ERR_MIDI_DAMAGED, 8, "format 3", {0}, NULL, NONE},
};

/* ------------------------------------------------------------------------ */

static int cmp_xnote(const void *pa, const void *pb)
{
    const xnote *a = pa, *b = pb;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->chunk != b->chunk) return a->chunk - b->chunk;
    if (a->channel != b->channel) return a->channel - b->channel;
    if (a->pitch != b->pitch) return a->pitch - b->pitch;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return a->velocity - b->velocity;
}

/* The score's notes in the order of `tunegan notes`; *n set, caller frees. */
static xnote *score_notes(const tg_score *s, size_t *n)
{
    *n = tg_score_note_count(s);
    xnote *v = malloc((*n ? *n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < s->n_tracks; i++)
        for (size_t j = 0; j < s->tracks[i].n_notes; j++, k++) {
            const tg_note *x = &s->tracks[i].notes[j];
            v[k] = (xnote){s->tracks[i].chunk, x->channel, x->pitch, x->start_ticks, x->end_ticks,
                           x->velocity};
        }
    qsort(v, *n, sizeof *v, cmp_xnote);
    return v;
}

static void check_case(const fixture_case *c)
{
    tg_score *s = NULL;
    tg_midi_report rep;
    tg_midi_error err;
    tg_status st = read_fixture(c->name, &s, &rep, &err);
    if (st != c->status) {
        TEST_FAIL_("%s: got %s, want %s (%s)", c->name, tg_status_name(st), tg_status_name(c->status),
                   err.what);
        tg_score_free(s);
        return;
    }
    test_checks_++;
    if (st != TG_OK) {
        CHECK(s == NULL);
        CHECK_INT(err.byte_offset, c->err_offset);
        CHECK_INT(err.track, -1);
        if (!strstr(err.what, c->err_what))
            TEST_FAIL_("%s: error '%s' lacks '%s'", c->name, err.what, c->err_what);
        return;
    }
    const xreport *x = &c->rep;
    if (rep.notes_closed_at_end != x->closed || rep.orphan_note_offs != x->orphans ||
        rep.unknown_chunks != x->unknown || rep.missing_end_of_track != x->missing_eot ||
        rep.bad_track_lengths != x->bad_len || rep.track_count_mismatch != x->mismatch ||
        rep.trailing_bytes != x->trailing || rep.truncated_events != x->truncated ||
        rep.damaged_tracks != x->damaged || rep.zero_length_notes != x->zero ||
        rep.track_chunks != x->chunks || rep.warnings != x->warnings || rep.system_messages != x->system)
        TEST_FAIL_("%s: report closed %zu orphans %zu unknown %zu missing_eot %zu bad_len %zu "
                   "mismatch %zu trailing %zu truncated %zu damaged %zu zero %zu chunks %zu "
                   "warnings %zu system %zu; want %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n%s",
                   c->name, rep.notes_closed_at_end, rep.orphan_note_offs, rep.unknown_chunks,
                   rep.missing_end_of_track, rep.bad_track_lengths, rep.track_count_mismatch,
                   rep.trailing_bytes, rep.truncated_events, rep.damaged_tracks,
                   rep.zero_length_notes, rep.track_chunks, rep.warnings, rep.system_messages, x->closed,
                   x->orphans, x->unknown, x->missing_eot, x->bad_len, x->mismatch, x->trailing,
                   x->truncated, x->damaged, x->zero, x->chunks, x->warnings, x->system, logs.all);
    test_checks_++;
    CHECK_INT(logs.count, rep.warnings);
    if (c->warning && !strstr(logs.all, c->warning))
        TEST_FAIL_("%s: no warning with '%s' in:\n%s", c->name, c->warning, logs.all);
    /* every warning names the file */
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s: ", c->name);
    if (logs.count && strncmp(logs.all, prefix, strlen(prefix)) != 0)
        TEST_FAIL_("%s: warning without the file name: %s", c->name, logs.all);

    size_t n;
    xnote *got = score_notes(s, &n);
    if (n != c->n_notes) {
        TEST_FAIL_("%s: %zu notes, want %zu", c->name, n, c->n_notes);
    } else {
        xnote *want = malloc((n ? n : 1) * sizeof *want);
        if (n) memcpy(want, c->notes, n * sizeof *want);
        qsort(want, n, sizeof *want, cmp_xnote);
        for (size_t i = 0; i < n; i++) {
            test_checks_++;
            if (cmp_xnote(&got[i], &want[i]) != 0)
                TEST_FAIL_("%s: note %zu is track %d ch %d pitch %d %lld..%lld vel %d, want "
                           "track %d ch %d pitch %d %lld..%lld vel %d",
                           c->name, i, got[i].chunk, got[i].channel, got[i].pitch,
                           (long long)got[i].start, (long long)got[i].end, got[i].velocity,
                           want[i].chunk, want[i].channel, want[i].pitch, (long long)want[i].start,
                           (long long)want[i].end, want[i].velocity);
        }
        free(want);
    }
    free(got);
    tg_score_free(s);
}

/* ------------------------------------------------------------------------ */
/* What the fixtures say beyond their notes. */

static tg_score *must_read(const char *name)
{
    tg_score *s = NULL;
    tg_midi_report rep;
    tg_midi_error err;
    tg_status st = read_fixture(name, &s, &rep, &err);
    if (st != TG_OK) TEST_FAIL_("%s: %s", name, err.what);
    return s;
}

static const tg_track *track_of(const tg_score *s, int chunk, int channel)
{
    for (size_t i = 0; i < s->n_tracks; i++)
        if (s->tracks[i].chunk == chunk && s->tracks[i].channel == channel) return &s->tracks[i];
    TEST_FAIL_("no track for chunk %d channel %d", chunk, channel);
    return NULL;
}

static void test_maps_names_programs(void)
{
    tg_score *s = must_read("format0.mid");
    if (s) {
        CHECK_INT(s->format, 0);
        CHECK_INT(s->ticks_per_quarter, 96);
        CHECK_INT(s->n_tracks, 2);
        CHECK_STR(s->tracks[0].name, "Solo");
        CHECK_STR(s->tracks[1].name, "Solo");
        CHECK_INT(s->tracks[0].channel, 0);
        CHECK_INT(s->tracks[0].program, 5);
        CHECK_INT(s->tracks[1].channel, 1);
        CHECK_INT(s->tracks[1].program, 0);
        CHECK_INT(s->n_tempos, 1);
        CHECK_INT(s->tempos[0].usec_per_quarter, 500000);
        CHECK_INT(s->tempos[0].chunk, -1);
        CHECK_INT(s->n_timesigs, 1);
        CHECK_INT(s->timesigs[0].numerator, 4);
        CHECK_INT(s->timesigs[0].denominator, 4);
        CHECK_INT(s->n_keysigs, 1);
        CHECK_INT(s->keysigs[0].sharps, 0);
    }
    tg_score_free(s);

    s = must_read("format1.mid");
    if (s) {
        CHECK_INT(s->format, 1);
        CHECK_INT(s->n_tracks, 2);
        const tg_track *m = track_of(s, 1, 0), *b = track_of(s, 2, 1);
        if (m && b) {
            CHECK_STR(m->name, "Melody");
            CHECK_INT(m->program, 40);
            CHECK_STR(b->name, "Bass");
            CHECK_INT(b->program, 32);
        }
        CHECK_INT(s->n_tempos, 2);
        CHECK_INT(s->tempos[0].ticks, 0);
        CHECK_INT(s->tempos[0].usec_per_quarter, 600000);
        CHECK_INT(s->tempos[1].ticks, 1920);
        CHECK_INT(s->tempos[1].usec_per_quarter, 400000);
        CHECK_INT(s->timesigs[0].numerator, 3);
        CHECK_INT(s->keysigs[0].sharps, -2);
        CHECK_INT(s->keysigs[0].minor, 1);
        /* 1920 ticks at 0.6 s per quarter, then 960 at 0.4 s */
        CHECK_NEAR(tg_score_ticks_to_sec(s, -1, 2880), 2.4 + 0.8, 1e-12);
    }
    tg_score_free(s);

    s = must_read("format2.mid");
    if (s) {
        CHECK_INT(s->format, 2);
        CHECK_INT(s->n_tempos, 2);
        CHECK_INT(s->tempos[0].chunk, 0);
        CHECK_INT(s->tempos[1].chunk, 1);
        CHECK_NEAR(tg_score_ticks_to_sec(s, 0, 240), 1.0, 1e-12);
        CHECK_NEAR(tg_score_ticks_to_sec(s, 1, 240), 0.25, 1e-12);
    }
    tg_score_free(s);

    s = must_read("tempo_map_f1.mid");
    if (s) {
        CHECK_INT(s->n_tempos, 3);
        int64_t ticks[] = {0, 960, 1920};
        uint32_t usec[] = {500000, 1000000, 250000};
        for (size_t i = 0; i < 3 && i < s->n_tempos; i++) {
            CHECK_INT(s->tempos[i].ticks, ticks[i]);
            CHECK_INT(s->tempos[i].usec_per_quarter, usec[i]);
            CHECK_INT(s->tempos[i].chunk, -1);
        }
        CHECK_NEAR(tg_score_ticks_to_sec(s, -1, 2880), 1.0 + 2.0 + 0.5, 1e-12);
    }
    tg_score_free(s);

    s = must_read("tempo_map_f2.mid");
    if (s) {
        CHECK_INT(s->n_tempos, 3);
        /* chunk 0: 480 ticks at 120 bpm, 480 at 60 bpm; chunk 1: 240 at 120, 720 at 240 */
        CHECK_NEAR(tg_score_ticks_to_sec(s, 0, 960), 0.5 + 1.0, 1e-12);
        CHECK_NEAR(tg_score_ticks_to_sec(s, 1, 960), 0.25 + 0.375, 1e-12);
    }
    tg_score_free(s);

    s = must_read("program_shared.mid");
    if (s) {
        const tg_track *a = track_of(s, 1, 0), *b = track_of(s, 2, 0);
        if (a && b) {
            CHECK_INT(a->program, 20); /* the change at tick 0 of chunk 0 */
            CHECK_INT(b->program, 30); /* the change at tick 200 of chunk 0 */
        }
    }
    tg_score_free(s);

    s = must_read("channel_messages.mid");
    if (s) {
        CHECK_INT(s->n_tracks, 1);
        CHECK_INT(s->tracks[0].program, 10); /* in effect at the first note, not the later ones */
    }
    tg_score_free(s);

    s = must_read("metas.mid");
    if (s) {
        CHECK_STR(s->tracks[0].name, "Lead"); /* the first name; instrument names are skipped */
        CHECK_INT(s->tempos[0].usec_per_quarter, 400000);
        CHECK_INT(s->timesigs[0].numerator, 6);
        CHECK_INT(s->timesigs[0].denominator, 8);
        CHECK_INT(s->keysigs[0].sharps, 3);
        CHECK_INT(s->keysigs[0].minor, 1);
    }
    tg_score_free(s);

    s = must_read("meta_bad.mid");
    if (s) {
        CHECK_INT(s->n_tempos, 1);
        CHECK_INT(s->tempos[0].usec_per_quarter, 750000);
        CHECK_INT(s->n_timesigs, 0);
        CHECK_INT(s->n_keysigs, 0);
    }
    tg_score_free(s);

    s = must_read("smpte.mid");
    if (s) {
        CHECK_INT(s->ticks_per_quarter, 0);
        CHECK_INT(s->smpte_fps, 25);
        CHECK_INT(s->ticks_per_frame, 40);
        CHECK_NEAR(tg_score_ticks_to_sec(s, -1, 1500), 1.5, 1e-12);
    }
    tg_score_free(s);

    s = must_read("only_mthd_empty.mid");
    if (s) {
        CHECK_INT(s->n_tracks, 0);
        CHECK_NEAR(tg_score_ticks_to_sec(s, -1, 96), 0.5, 1e-12); /* default 120 bpm */
    }
    tg_score_free(s);
}

/* ------------------------------------------------------------------------ */
/* Round trips. */

/* Writes s in format, reads it back and compares; returns the number of differences. */
static int round_trip(const char *what, const tg_score *s, int format, bool *nested)
{
    tg_midi_write_options wo = tg_midi_write_options_default();
    wo.format = format;
    uint8_t *buf = NULL;
    size_t len = 0;
    int fails = test_failures_;
    CHECK_OK(tg_midi_write_memory(s, &wo, &buf, &len));
    tg_score *b = NULL;
    tg_midi_report rep;
    tg_midi_error err;
    tg_status st = buf ? tg_midi_read_memory(buf, len, NULL, &b, &rep, &err) : TG_ERR_ARG;
    if (st != TG_OK) {
        TEST_FAIL_("%s, format %d: reading back: %s", what, format, err.what);
        free(buf);
        return 1;
    }
    CHECK_INT(rep.warnings, 0);
    CHECK_INT(b->format, format);
    CHECK_INT(b->ticks_per_quarter, s->ticks_per_quarter);
    CHECK_INT(b->smpte_fps, s->smpte_fps);
    CHECK_INT(b->ticks_per_frame, s->ticks_per_frame);

    midi_flat_note *plain, *want, *got;
    size_t np, nw, ng;
    CHECK_OK(midi_flat_notes(s, false, false, &plain, &np));
    CHECK_OK(midi_flat_notes(s, true, format == 1, &want, &nw));
    CHECK_OK(midi_flat_notes(b, false, false, &got, &ng));
    /* Nested same-key notes are the one documented loss; note whether there were any. */
    bool same = np == nw;
    for (size_t i = 0; same && i < np; i++)
        same = plain[i].end_ticks == want[i].end_ticks && plain[i].start_ticks == want[i].start_ticks;
    if (nested) *nested = !same;
    CHECK_INT(ng, nw);
    for (size_t i = 0; i < ng && i < nw; i++) {
        test_checks_++;
        if (got[i].start_ticks != want[i].start_ticks || got[i].end_ticks != want[i].end_ticks ||
            got[i].pitch != want[i].pitch || got[i].velocity != want[i].velocity ||
            got[i].channel != want[i].channel) {
            TEST_FAIL_("%s, format %d: note %zu is %lld..%lld pitch %d vel %d ch %d, want %lld..%lld "
                       "pitch %d vel %d ch %d", what, format, i, (long long)got[i].start_ticks,
                       (long long)got[i].end_ticks, got[i].pitch, got[i].velocity, got[i].channel,
                       (long long)want[i].start_ticks, (long long)want[i].end_ticks, want[i].pitch,
                       want[i].velocity, want[i].channel);
            break;
        }
    }
    free(plain);
    free(want);
    free(got);

    CHECK_INT(b->n_tempos, s->n_tempos);
    for (size_t i = 0; i < s->n_tempos && i < b->n_tempos; i++) {
        CHECK_INT(b->tempos[i].ticks, s->tempos[i].ticks);
        CHECK_INT(b->tempos[i].usec_per_quarter, s->tempos[i].usec_per_quarter);
    }
    CHECK_INT(b->n_timesigs, s->n_timesigs);
    for (size_t i = 0; i < s->n_timesigs && i < b->n_timesigs; i++) {
        CHECK_INT(b->timesigs[i].ticks, s->timesigs[i].ticks);
        CHECK_INT(b->timesigs[i].numerator, s->timesigs[i].numerator);
        CHECK_INT(b->timesigs[i].denominator, s->timesigs[i].denominator);
    }
    CHECK_INT(b->n_keysigs, s->n_keysigs);
    for (size_t i = 0; i < s->n_keysigs && i < b->n_keysigs; i++) {
        CHECK_INT(b->keysigs[i].ticks, s->keysigs[i].ticks);
        CHECK_INT(b->keysigs[i].sharps, s->keysigs[i].sharps);
        CHECK_INT(b->keysigs[i].minor, s->keysigs[i].minor);
    }
    if (format == 1 && s->format != 2) {
        /* Seconds agree too, and names and programs come back track by track. */
        CHECK_INT(b->n_tracks, s->n_tracks);
        for (size_t i = 0; i < s->n_tracks && i < b->n_tracks; i++) {
            CHECK_STR(b->tracks[i].name, s->tracks[i].name);
            CHECK_INT(b->tracks[i].channel, s->tracks[i].channel);
            CHECK_INT(b->tracks[i].chunk, (int)i + 1);
        }
        int64_t end = tg_score_end_ticks(s);
        CHECK_NEAR(tg_score_ticks_to_sec(b, -1, end), tg_score_ticks_to_sec(s, -1, end), 1e-12);
    }
    tg_score_free(b);
    free(buf);
    if (test_failures_ != fails) fprintf(stderr, "  (round trip of %s, format %d)\n", what, format);
    return test_failures_ != fails;
}

static void test_fixture_round_trips(void)
{
    size_t n = 0;
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) {
        if (cases[i].status != TG_OK) continue;
        tg_score *s = must_read(cases[i].name);
        if (!s) continue;
        round_trip(cases[i].name, s, 1, NULL);
        round_trip(cases[i].name, s, 0, NULL);
        n++;
        tg_score_free(s);
    }
    printf("round trips of %zu readable fixtures in formats 1 and 0\n", n);
    /* programs come back where tracks do not share a channel */
    tg_score *s = must_read("format1.mid");
    if (s) {
        uint8_t *buf;
        size_t len;
        CHECK_OK(tg_midi_write_memory(s, NULL, &buf, &len));
        tg_score *b = NULL;
        CHECK_OK(tg_midi_read_memory(buf, len, NULL, &b, NULL, NULL));
        if (b) {
            CHECK_INT(b->tracks[0].program, 40);
            CHECK_INT(b->tracks[1].program, 32);
        }
        tg_score_free(b);
        free(buf);
    }
    tg_score_free(s);
}

/* ------------------------------------------------------------------------ */
/* The writer's own cases. */

static tg_score *one_track_score(const tg_note *notes, size_t n)
{
    tg_score *s = NULL;
    CHECK_OK(tg_score_create(480, &s));
    if (!s) return NULL;
    size_t t;
    CHECK_OK(tg_score_add_track(s, "Piano", 0, 0, -1, &t));
    for (size_t i = 0; i < n; i++) CHECK_OK(tg_score_add_note(s, t, notes[i]));
    tg_score_sort(s);
    return s;
}

static tg_score *write_read(const tg_score *s, int format)
{
    tg_midi_write_options wo = tg_midi_write_options_default();
    wo.format = format;
    uint8_t *buf = NULL;
    size_t len;
    tg_score *b = NULL;
    tg_midi_report rep;
    CHECK_OK(tg_midi_write_memory(s, &wo, &buf, &len));
    if (buf) CHECK_OK(tg_midi_read_memory(buf, len, NULL, &b, &rep, NULL));
    if (b) CHECK_INT(rep.warnings, 0);
    free(buf);
    return b;
}

static void test_writer(void)
{
    /* A note repeated on its key at the tick where the previous one ends, two
     * same-key notes starting together, and one of velocity 1. */
    const tg_note repeated[] = {
        {0, 480, 60, 100, 0}, {480, 960, 60, 90, 0}, {960, 1000, 62, 80, 0},
        {960, 1440, 62, 70, 0}, {0, 1, 64, 1, 0},
    };
    tg_score *s = one_track_score(repeated, TG_ARRAY_LEN(repeated));
    for (int format = 0; s && format <= 1; format++) {
        tg_score *b = write_read(s, format);
        if (b && SAME_INT(b->n_tracks, 1)) {
            CHECK_INT(b->tracks[0].n_notes, 5);
            for (size_t i = 0; i < 5 && i < b->tracks[0].n_notes; i++) {
                CHECK_INT(b->tracks[0].notes[i].start_ticks, s->tracks[0].notes[i].start_ticks);
                CHECK_INT(b->tracks[0].notes[i].end_ticks, s->tracks[0].notes[i].end_ticks);
                CHECK_INT(b->tracks[0].notes[i].velocity, s->tracks[0].notes[i].velocity);
            }
            CHECK_STR(b->tracks[0].name, "Piano");
        }
        tg_score_free(b);
    }
    tg_score_free(s);

    /* The exact bytes of a small format 0 file: at tick 96 the note-off comes
     * before the note-on that repeats the key (for readers that pair otherwise),
     * running status is used, and the program change precedes the first note. */
    const tg_note two[] = {{0, 96, 60, 100, 0}, {96, 192, 60, 90, 0}, {96, 192, 64, 90, 0}};
    s = one_track_score(two, 3);
    if (s) {
        s->ticks_per_quarter = 96;
        s->tracks[0].program = 5;
        CHECK_OK(tg_score_add_tempo(s, (tg_tempo){0, 600000, -1}));
        tg_midi_write_options wo0 = {0};
        uint8_t *buf = NULL;
        size_t len = 0;
        CHECK_OK(tg_midi_write_memory(s, &wo0, &buf, &len));
        static const uint8_t want[] = {
            'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0, 96,
            'M', 'T', 'r', 'k', 0, 0, 0, 45,
            0, 0xFF, 0x03, 5, 'P', 'i', 'a', 'n', 'o',  /* track name */
            0, 0xFF, 0x51, 3, 0x09, 0x27, 0xC0,         /* tempo 600000 */
            0, 0xC0, 5,                                 /* program 5 */
            0, 0x90, 60, 100,                           /* note-on */
            96, 0x80, 60, 64,                           /* note-off first... */
            0, 0x90, 60, 90,                            /* ...then the repeated key */
            0, 64, 90,                                  /* running status */
            96, 0x80, 60, 64, 0, 64, 64,
            0, 0xFF, 0x2F, 0,
        };
        CHECK_INT(len, sizeof want);
        if (buf && len == sizeof want) {
            for (size_t i = 0; i < len; i++) {
                test_checks_++;
                if (buf[i] != want[i]) {
                    TEST_FAIL_("written byte %zu is 0x%02X, want 0x%02X", i, buf[i], want[i]);
                    break;
                }
            }
        }
        free(buf);
    }
    tg_score_free(s);

    /* The documented exception: a note nested inside another of the same key
     * comes back with the ends traded, as first-in first-out pairing reads it. */
    const tg_note nested[] = {{0, 100, 60, 100, 0}, {10, 50, 60, 80, 0}};
    s = one_track_score(nested, 2);
    tg_score *b = s ? write_read(s, 1) : NULL;
    if (b && SAME_INT(b->n_tracks, 1) && SAME_INT(b->tracks[0].n_notes, 2)) {
        const tg_note *n = b->tracks[0].notes;
        CHECK_INT(n[0].start_ticks, 0);
        CHECK_INT(n[0].end_ticks, 50);
        CHECK_INT(n[0].velocity, 100);
        CHECK_INT(n[1].start_ticks, 10);
        CHECK_INT(n[1].end_ticks, 100);
        CHECK_INT(n[1].velocity, 80);
        midi_flat_note *f;
        size_t nf;
        CHECK_OK(midi_flat_notes(s, true, true, &f, &nf));
        CHECK_INT(nf, 2);
        if (nf == 2) {
            CHECK_INT(f[0].end_ticks, 50);
            CHECK_INT(f[1].end_ticks, 100);
        }
        free(f);
    }
    tg_score_free(b);
    tg_score_free(s);

    /* A gap longer than a 4-byte delta time is bridged. */
    const tg_note gap[] = {{0, 10, 60, 100, 0}, {3 * (int64_t)MIDI_VLQ_MAX + 7, 3 * (int64_t)MIDI_VLQ_MAX + 9, 61, 100, 0}};
    s = one_track_score(gap, 2);
    for (int format = 0; s && format <= 1; format++) {
        b = write_read(s, format);
        if (b && SAME_INT(b->n_tracks, 1) && SAME_INT(b->tracks[0].n_notes, 2))
            CHECK_INT(b->tracks[0].notes[1].end_ticks, 3 * (int64_t)MIDI_VLQ_MAX + 9);
        tg_score_free(b);
    }

    /* Bad requests and bad scores. */
    uint8_t *buf = NULL;
    size_t len = 0;
    tg_midi_write_options wo = tg_midi_write_options_default();
    CHECK_INT(wo.format, 1);
    wo.format = 2;
    CHECK_STATUS(tg_midi_write_memory(s, &wo, &buf, &len), TG_ERR_ARG);
    CHECK(buf == NULL);
    if (s) {
        s->tracks[0].notes[0].end_ticks = s->tracks[0].notes[0].start_ticks;
        CHECK_STATUS(tg_midi_write_memory(s, NULL, &buf, &len), TG_ERR_RANGE);
        s->tracks[0].notes[0].end_ticks = 10;
        s->ticks_per_quarter = 0;
        CHECK_STATUS(tg_midi_write_memory(s, NULL, &buf, &len), TG_ERR_RANGE);
    }
    tg_score_free(s);

    /* An empty score: a format 1 file with only the conductor track. */
    CHECK_OK(tg_score_create(96, &s));
    if (s) {
        CHECK_OK(tg_midi_write_memory(s, NULL, &buf, &len));
        CHECK(len >= 14 && memcmp(buf, "MThd\0\0\0\6\0\1\0\1\0\x60", 14) == 0);
        tg_midi_report rep;
        tg_score *e = NULL;
        CHECK_OK(tg_midi_read_memory(buf, len, NULL, &e, &rep, NULL));
        CHECK_INT(rep.track_chunks, 1);
        CHECK_INT(rep.warnings, 0);
        tg_score_free(e);
        free(buf);
    }

    /* Files: written under a temporary name, then renamed. */
    char path[1024];
    snprintf(path, sizeof path, "%s/test_midi_out.mid", TG_BINARY_DIR);
    remove(path);
    tg_score *f1 = must_read("format1.mid");
    if (f1) {
        CHECK_OK(tg_midi_write_file(path, f1, NULL));
        tg_score *back = NULL;
        tg_midi_report rep;
        CHECK_OK(tg_midi_read_file(path, NULL, &back, &rep, NULL));
        if (back) CHECK_INT(tg_score_note_count(back), tg_score_note_count(f1));
        tg_score_free(back);
        remove(path);
        CHECK_STATUS(tg_midi_write_file("/nonexistent-folder/x.mid", f1, NULL), TG_ERR_NOT_FOUND);
    }
    tg_score_free(f1);
    tg_score_free(s);
}

/* ------------------------------------------------------------------------ */
/* Limits and calling conventions. */

static uint8_t *load(const char *name, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TG_TEST_DATA, name);
    uint8_t *data = NULL;
    CHECK_OK(tg_file_read_all(path, 1 << 20, &data, size));
    return data;
}

static void test_limits(void)
{
    size_t size = 0;
    uint8_t *data = load("format1.mid", &size);
    if (!data) return;
    tg_midi_read_options o = tg_midi_read_options_default();
    CHECK_INT(o.max_bytes, 256u << 20);
    CHECK_INT(o.max_events, 16u << 20);
    tg_score *s = (tg_score *)1;
    tg_midi_error err;

    o.max_bytes = size - 1;
    CHECK_STATUS(tg_midi_read_memory(data, size, &o, &s, NULL, &err), TG_ERR_TOO_LARGE);
    CHECK(s == NULL);
    CHECK(strstr(err.what, "over the limit") != NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/format1.mid", TG_TEST_DATA);
    CHECK_STATUS(tg_midi_read_file(path, &o, &s, NULL, &err), TG_ERR_TOO_LARGE);
    CHECK(strstr(err.what, "over the limit") != NULL);
    o.max_bytes = size;
    CHECK_OK(tg_midi_read_memory(data, size, &o, &s, NULL, NULL));
    tg_score_free(s);

    /* The conductor track has 5 events: the 6th, first of track 1, is refused. */
    o.max_events = 5;
    size_t len0 = (size_t)data[18] << 24 | (size_t)data[19] << 16 | (size_t)data[20] << 8 | data[21];
    CHECK_STATUS(tg_midi_read_memory(data, size, &o, &s, NULL, &err), TG_ERR_TOO_LARGE);
    CHECK_INT(err.track, 1);
    CHECK_INT(err.byte_offset, 14 + 8 + len0 + 8);
    CHECK(strstr(err.what, "more events than the limit of 5") != NULL);
    o.max_events = 0;
    CHECK_STATUS(tg_midi_read_memory(data, size, &o, &s, NULL, &err), TG_ERR_TOO_LARGE);
    CHECK_INT(err.track, 0);
    CHECK_INT(err.byte_offset, 22);
    free(data);

    /* NULL data of size 0 is an empty file; report and err may be NULL. */
    CHECK_STATUS(tg_midi_read_memory(NULL, 0, NULL, &s, NULL, &err), TG_ERR_NOT_MIDI);
    CHECK_STR(err.what, "empty file");
    CHECK_STATUS(tg_midi_read_file(TG_TEST_DATA "/no-such-file.mid", NULL, &s, NULL, &err),
                 TG_ERR_NOT_FOUND);
    CHECK_STR(err.what, "no such file");
    CHECK_STATUS(tg_midi_read_file(TG_TEST_DATA, NULL, &s, NULL, &err), TG_ERR_IO);

    /* Every prefix of a file is read or refused, never more. */
    data = load("format1.mid", &size);
    for (size_t n = 0; data && n <= size; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        tg_status st = tg_midi_read_memory(copy, n, NULL, &s, NULL, &err);
        test_checks_++;
        if (n < 14 ? st == TG_OK : st != TG_OK)
            TEST_FAIL_("prefix of %zu bytes: %s (%s)", n, tg_status_name(st), err.what);
        tg_score_free(s);
        free(copy);
    }
    free(data);
}

/* Two chunks of 200,000 tempo events each, both in order: the merged map must
 * be sorted in n log n (an insertion sort would take minutes). */
static void test_hostile_maps(void)
{
    const size_t per_chunk = 200000;
    size_t track_len = per_chunk * 7 + 4; /* delta 1 byte + FF 51 03 + 3 bytes, then EOT */
    size_t size = 14 + 2 * (8 + track_len);
    uint8_t *d = malloc(size);
    if (!d) return;
    memcpy(d, "MThd\0\0\0\6\0\1\0\2\1\xE0", 14);
    size_t p = 14;
    for (int c = 0; c < 2; c++) {
        memcpy(d + p, "MTrk", 4);
        for (int i = 0; i < 4; i++) d[p + 4 + (size_t)i] = (uint8_t)(track_len >> (8 * (3 - i)));
        p += 8;
        for (size_t i = 0; i < per_chunk; i++) {
            static const uint8_t ev[7] = {1, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20};
            memcpy(d + p, ev, 7);
            d[p + 6] = (uint8_t)(c + 1); /* tell the chunks apart */
            p += 7;
        }
        memcpy(d + p, "\0\xFF\x2F\0", 4);
        p += 4;
    }
    double t0 = tg_now_sec();
    tg_score *s = NULL;
    CHECK_OK(tg_midi_read_memory(d, size, NULL, &s, NULL, NULL));
    double sec = tg_now_sec() - t0;
    if (s) {
        CHECK_INT(s->n_tempos, 2 * per_chunk);
        bool sorted = true, stable = true;
        for (size_t i = 1; i < s->n_tempos; i++) {
            sorted &= s->tempos[i - 1].ticks <= s->tempos[i].ticks;
            if (s->tempos[i - 1].ticks == s->tempos[i].ticks)
                stable &= (s->tempos[i - 1].usec_per_quarter & 0xFF) == 1 &&
                          (s->tempos[i].usec_per_quarter & 0xFF) == 2;
        }
        CHECK(sorted);
        CHECK(stable); /* at one tick, chunk 0's event before chunk 1's */
    }
    test_checks_++;
    if (sec > 10) TEST_FAIL_("reading 400,000 tempo events took %.1f s", sec);
    printf("400,000 tempo events in two chunks read in %.3f s\n", sec);
    tg_score_free(s);
    free(d);
}

/* ------------------------------------------------------------------------ */
/* Nottingham: read -> write -> read on every file, formats 1 and 0. */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_nottingham(void)
{
    const char *parts[] = {"full", "melody", "chords"};
    for (size_t p = 0; p < TG_ARRAY_LEN(parts); p++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/nottingham/%s", TG_SHARED_DATA, parts[p]);
        DIR *d = opendir(dir);
        if (!d) {
            printf("nottingham/%s: skipped, %s is not present\n", parts[p], dir);
            continue;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 4, ".mid") != 0) continue;
            if (tg_grow((void **)&names, &cap, n + 1, sizeof *names) != TG_OK) break;
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp_name);
        size_t files = 0, notes = 0, warned = 0, nested = 0, failed = 0;
        double t0 = tg_now_sec();
        for (size_t i = 0; i < n; i++) {
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            tg_score *s = NULL;
            tg_midi_report rep;
            tg_midi_error err;
            tg_status st = tg_midi_read_file(path, NULL, &s, &rep, &err);
            if (st != TG_OK) {
                TEST_FAIL_("%s: %s", path, err.what);
                failed++;
            } else {
                bool nest = false;
                files++;
                notes += tg_score_note_count(s);
                warned += rep.warnings > 0;
                if (failed < 5) {
                    failed += (size_t)round_trip(path, s, 1, &nest);
                    failed += (size_t)round_trip(path, s, 0, NULL);
                }
                nested += nest;
            }
            tg_score_free(s);
            free(names[i]);
        }
        free(names);
        printf("nottingham/%s: %zu files, %zu notes, %zu with warnings, %zu with nested same-key "
               "notes, %zu failed round trips (%.2f s)\n",
               parts[p], files, notes, warned, nested, failed, tg_now_sec() - t0);
        CHECK(files > 0);
    }
}

int main(void)
{
    for (size_t i = 0; i < TG_ARRAY_LEN(cases); i++) check_case(&cases[i]);
    printf("%zu fixtures checked\n", TG_ARRAY_LEN(cases));
    test_maps_names_programs();
    test_fixture_round_trips();
    test_writer();
    test_limits();
    test_hostile_maps();
    test_nottingham();
    return test_finish("test_midi");
}
