/*
 * fuzz_midi.c: libFuzzer entry point for the MIDI reader and writer.
 *
 * Reads the input with small limits, formatting every warning. A refusal must come with a filled error
 * and no score. A score must hold only valid notes; it is then written as
 * format 1 and as format 0 and read again, and the second reading must be
 * clean (no warnings) and give back the notes, the tempo map, the time and
 * key signatures and the division. Notes come back exactly unless same-key
 * notes nest, where first-in first-out pairing trades their ends (the
 * documented exception, modelled by midi_flat_notes with fifo set).
 * Any broken expectation aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "midi/midi.h"
#include "fuzz.h"

static void check_score(const tg_score *s, const tg_midi_report *rep)
{
    EXPECT(s->format >= 0 && s->format <= 2, "format %d", s->format);
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tg_track *t = &s->tracks[i];
        EXPECT(t->n_notes > 0, "track %zu has no notes", i);
        EXPECT(t->chunk >= 0 && (size_t)t->chunk < rep->track_chunks, "chunk %d of %zu", t->chunk,
               rep->track_chunks);
        for (size_t j = 0; j < t->n_notes; j++) {
            const tg_note *n = &t->notes[j];
            EXPECT(n->end_ticks > n->start_ticks && n->start_ticks >= 0, "note %lld..%lld",
                   (long long)n->start_ticks, (long long)n->end_ticks);
            EXPECT(n->pitch <= 127 && n->velocity >= 1 && n->velocity <= 127,
                   "pitch %d velocity %d", n->pitch, n->velocity);
            EXPECT(n->channel == t->channel, "note channel %d in a track of channel %d", n->channel,
                   t->channel);
        }
    }
}

static void check_round_trip(const tg_score *a, int format)
{
    tg_midi_write_options wo = tg_midi_write_options_default();
    wo.format = format;
    uint8_t *buf;
    size_t len;
    tg_status st = tg_midi_write_memory(a, &wo, &buf, &len);
    if (st == TG_ERR_TOO_LARGE && format == 1 && a->n_tracks + 1 > 65535) return;
    EXPECT(st == TG_OK, "writing format %d: %s", format, tg_status_str(st));

    tg_midi_read_options ro = tg_midi_read_options_default();
    tg_score *b = NULL;
    tg_midi_report rep;
    tg_midi_error err;
    st = tg_midi_read_memory(buf, len, &ro, &b, &rep, &err);
    EXPECT(st == TG_OK, "reading back format %d: %s", format, err.what);
    EXPECT(rep.warnings == 0, "reading back format %d gave %zu warnings", format, rep.warnings);
    EXPECT(b->format == format, "format %d read as %d", format, b->format);
    EXPECT(b->ticks_per_quarter == a->ticks_per_quarter && b->smpte_fps == a->smpte_fps &&
               b->ticks_per_frame == a->ticks_per_frame,
           "division changed");

    midi_flat_note *na, *nb;
    size_t ca, cb;
    EXPECT(midi_flat_notes(a, true, format == 1, &na, &ca) == TG_OK, "out of memory");
    EXPECT(midi_flat_notes(b, false, false, &nb, &cb) == TG_OK, "out of memory");
    EXPECT(ca == cb, "format %d: %zu notes written, %zu read", format, ca, cb);
    for (size_t i = 0; i < ca; i++)
        EXPECT(na[i].start_ticks == nb[i].start_ticks && na[i].end_ticks == nb[i].end_ticks &&
                   na[i].channel == nb[i].channel && na[i].pitch == nb[i].pitch &&
                   na[i].velocity == nb[i].velocity,
               "format %d: note %zu differs: %lld..%lld p%d v%d c%d vs %lld..%lld p%d v%d c%d",
               format, i, (long long)na[i].start_ticks, (long long)na[i].end_ticks, na[i].pitch,
               na[i].velocity, na[i].channel, (long long)nb[i].start_ticks,
               (long long)nb[i].end_ticks, nb[i].pitch, nb[i].velocity, nb[i].channel);
    free(na);
    free(nb);

    EXPECT(a->n_tempos == b->n_tempos, "%zu tempos written, %zu read", a->n_tempos, b->n_tempos);
    for (size_t i = 0; i < a->n_tempos; i++)
        EXPECT(a->tempos[i].ticks == b->tempos[i].ticks &&
                   a->tempos[i].usec_per_quarter == b->tempos[i].usec_per_quarter,
               "tempo %zu differs", i);
    EXPECT(a->n_timesigs == b->n_timesigs, "%zu time signatures written, %zu read",
           a->n_timesigs, b->n_timesigs);
    for (size_t i = 0; i < a->n_timesigs; i++)
        EXPECT(a->timesigs[i].ticks == b->timesigs[i].ticks &&
                   a->timesigs[i].numerator == b->timesigs[i].numerator &&
                   a->timesigs[i].denominator == b->timesigs[i].denominator,
               "time signature %zu differs", i);
    EXPECT(a->n_keysigs == b->n_keysigs, "%zu key signatures written, %zu read", a->n_keysigs,
           b->n_keysigs);
    for (size_t i = 0; i < a->n_keysigs; i++)
        EXPECT(a->keysigs[i].ticks == b->keysigs[i].ticks &&
                   a->keysigs[i].sharps == b->keysigs[i].sharps &&
                   a->keysigs[i].minor == b->keysigs[i].minor,
               "key signature %zu differs", i);
    tg_score_free(b);
    free(buf);
}

/* Warnings are formatted (so the sanitizers check the messages) and dropped. */
static void count_warning(void *user, tg_log_level level, const char *msg)
{
    size_t *total = user;
    (void)level;
    *total += strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t logged = 0;
    tg_midi_read_options ro = tg_midi_read_options_default();
    ro.max_bytes = (size_t)1 << 20;
    ro.max_events = 1000; /* small enough for the fuzzer's inputs to reach it */
    ro.logger.fn = count_warning;
    ro.logger.user = &logged;
    ro.name = "fuzz.mid";
    tg_score *a = NULL;
    tg_midi_report rep;
    tg_midi_error err;
    tg_status st = tg_midi_read_memory(data, size, &ro, &a, &rep, &err);
    if (st != TG_OK) {
        EXPECT(a == NULL, "a score after a failure");
        EXPECT(err.what[0] != 0, "a failure (%s) without a message", tg_status_name(st));
        return 0;
    }
    check_score(a, &rep);
    check_round_trip(a, 1);
    check_round_trip(a, 0);
    tg_score_free(a);
    return 0;
}
