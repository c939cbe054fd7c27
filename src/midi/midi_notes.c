/*
 * midi_notes.c: a score's notes as one flat sorted list, and what that list
 * becomes after writing and reading again. The tests and the fuzzer compare
 * these lists; nothing else in the library needs them.
 *
 * Why the second form exists: the reader pairs note-offs with note-ons first
 * in first out, and the writer puts note-ons of one key at one tick shortest
 * first. So the k-th note-on of a key (by start, then end) meets the k-th
 * note-off (by tick): the notes keep their starts and velocities and take the
 * ends in sorted order. That is the identity unless two notes of the key nest.
 */
#include <stdlib.h>

#include "../core/core.h"
#include "midi.h"

typedef struct {
    midi_flat_note n;
    size_t group;
} grouped;

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_flat(const midi_flat_note *a, const midi_flat_note *b)
{
    int c = cmp_i64(a->start_ticks, b->start_ticks);
    if (!c) c = (int)a->channel - (int)b->channel;
    if (!c) c = (int)a->pitch - (int)b->pitch;
    if (!c) c = cmp_i64(a->end_ticks, b->end_ticks);
    if (!c) c = (int)a->velocity - (int)b->velocity;
    return c;
}

static int cmp_flat_v(const void *a, const void *b) { return cmp_flat(a, b); }

/* By key (group, channel, pitch), then start, end, velocity: the write order. */
static int cmp_key_start(const void *pa, const void *pb)
{
    const grouped *a = pa, *b = pb;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    int c = (int)a->n.channel - (int)b->n.channel;
    if (!c) c = (int)a->n.pitch - (int)b->n.pitch;
    if (!c) c = cmp_i64(a->n.start_ticks, b->n.start_ticks);
    if (!c) c = cmp_i64(a->n.end_ticks, b->n.end_ticks);
    if (!c) c = (int)a->n.velocity - (int)b->n.velocity;
    return c;
}

static int cmp_end(const void *pa, const void *pb)
{
    return cmp_i64(*(const int64_t *)pa, *(const int64_t *)pb);
}

static bool same_key(const grouped *a, const grouped *b)
{
    return a->group == b->group && a->n.channel == b->n.channel && a->n.pitch == b->n.pitch;
}

tg_status midi_flat_notes(const tg_score *score, bool fifo, bool per_track, midi_flat_note **out,
                          size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t n = tg_score_note_count(score);
    grouped *g = malloc((n ? n : 1) * sizeof *g);
    int64_t *ends = malloc((n ? n : 1) * sizeof *ends);
    midi_flat_note *flat = malloc((n ? n : 1) * sizeof *flat);
    if (!g || !ends || !flat) {
        free(g);
        free(ends);
        free(flat);
        return TG_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < score->n_tracks; i++) {
        const tg_track *t = &score->tracks[i];
        for (size_t j = 0; j < t->n_notes; j++, k++) {
            g[k].group = per_track ? i : 0;
            g[k].n.start_ticks = t->notes[j].start_ticks;
            g[k].n.end_ticks = t->notes[j].end_ticks;
            g[k].n.channel = t->notes[j].channel;
            g[k].n.pitch = t->notes[j].pitch;
            g[k].n.velocity = t->notes[j].velocity;
        }
    }
    if (fifo && n) {
        qsort(g, n, sizeof *g, cmp_key_start);
        for (size_t a = 0; a < n;) {
            size_t b = a;
            while (b < n && same_key(&g[a], &g[b])) {
                ends[b] = g[b].n.end_ticks;
                b++;
            }
            qsort(ends + a, b - a, sizeof *ends, cmp_end);
            for (size_t i = a; i < b; i++) g[i].n.end_ticks = ends[i];
            a = b;
        }
    }
    for (size_t i = 0; i < n; i++) flat[i] = g[i].n;
    qsort(flat, n, sizeof *flat, cmp_flat_v);
    free(g);
    free(ends);
    *out = flat;
    *n_out = n;
    return TG_OK;
}
