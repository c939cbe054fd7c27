/*
 * midi_pair.c: pairing note-ons with note-offs, first in first out per
 * (channel, key) within a track chunk, and giving each track the program in
 * effect at its first note. The policies are described in midi_track.c.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "midi.h"

/* ------------------------------------------------------------------------ */
/* Notes: one FIFO list per key (channel * 128 + pitch) in a pool of entries. */

void midi_pairs_reset(midi_reader *r)
{
    for (size_t i = 0; i < r->n_touched; i++) {
        int k = r->touched[i];
        r->is_touched[k] = false;
        r->head[k] = r->tail[k] = -1;
    }
    r->n_touched = 0;
    r->n_pool = 0;
    r->free_head = -1;
    for (int c = 0; c < 16; c++) {
        r->n_chan[c] = 0;
        r->chan_first[c].ticks = INT64_MAX;
        r->chan_first[c].seq = UINT64_MAX;
    }
}

tg_status midi_note_on(midi_reader *r, int key, int64_t ticks, uint8_t velocity)
{
    int32_t i = r->free_head;
    if (i >= 0) {
        r->free_head = r->pool[i].next;
    } else {
        if (r->n_pool >= INT32_MAX) return TG_ERR_NOMEM;
        tg_status st = tg_grow((void **)&r->pool, &r->cap_pool, r->n_pool + 1, sizeof *r->pool);
        if (st != TG_OK) return st;
        i = (int32_t)r->n_pool++;
    }
    midi_pending *e = &r->pool[i];
    e->start_ticks = ticks;
    e->seq = r->seq;
    e->velocity = velocity;
    e->next = -1;
    if (!r->is_touched[key]) {
        r->is_touched[key] = true;
        r->touched[r->n_touched++] = (uint16_t)key;
        r->head[key] = r->tail[key] = -1;
    }
    if (r->tail[key] >= 0)
        r->pool[r->tail[key]].next = i;
    else
        r->head[key] = i;
    r->tail[key] = i;
    return TG_OK;
}

tg_status midi_note_off(midi_reader *r, int key, int64_t ticks, size_t *zero, bool *found)
{
    *found = false;
    if (!r->is_touched[key] || r->head[key] < 0) return TG_OK;
    int32_t i = r->head[key];
    midi_pending *e = &r->pool[i];
    r->head[key] = e->next;
    if (r->head[key] < 0) r->tail[key] = -1;
    e->next = r->free_head;
    r->free_head = i;
    *found = true;

    int c = key >> 7;
    tg_note n;
    n.start_ticks = e->start_ticks;
    n.end_ticks = ticks;
    n.pitch = (uint8_t)(key & 127);
    n.velocity = e->velocity;
    n.channel = (uint8_t)c;
    if (n.end_ticks <= n.start_ticks) {
        n.end_ticks = n.start_ticks + 1;
        (*zero)++;
    }
    tg_status st = tg_grow((void **)&r->chan_notes[c], &r->cap_chan[c], r->n_chan[c] + 1,
                           sizeof(tg_note));
    if (st != TG_OK) return st;
    r->chan_notes[c][r->n_chan[c]++] = n;
    midi_first *f = &r->chan_first[c];
    if (e->start_ticks < f->ticks || (e->start_ticks == f->ticks && e->seq < f->seq)) {
        f->ticks = e->start_ticks;
        f->seq = e->seq;
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Programs. */

static int cmp_key(int g1, int c1, int64_t t1, uint64_t s1, int g2, int c2, int64_t t2, uint64_t s2)
{
    if (g1 != g2) return g1 < g2 ? -1 : 1;
    if (c1 != c2) return c1 < c2 ? -1 : 1;
    if (t1 != t2) return t1 < t2 ? -1 : 1;
    if (s1 != s2) return s1 < s2 ? -1 : 1;
    return 0;
}

static int cmp_program(const void *pa, const void *pb)
{
    const midi_program *a = pa, *b = pb;
    return cmp_key(a->group, a->channel, a->ticks, a->seq, b->group, b->channel, b->ticks, b->seq);
}

/* A track's program is the last program change on its channel before its
 * first note-on in time, and at the same tick earlier in the file (so from an
 * earlier chunk, or earlier in the same chunk). Format 2 looks only in the
 * track's own chunk. */
tg_status midi_resolve_programs(midi_reader *r)
{
    if (r->n_programs) qsort(r->programs, r->n_programs, sizeof *r->programs, cmp_program);
    tg_score *s = r->score;
    for (size_t i = 0; i < s->n_tracks; i++) {
        tg_track *tr = &s->tracks[i];
        int group = r->format == 2 ? tr->chunk : 0;
        const midi_first *f = &r->firsts[i];
        /* count of program changes ordered before (group, channel, first note) */
        size_t lo = 0, hi = r->n_programs;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const midi_program *p = &r->programs[mid];
            if (cmp_key(p->group, p->channel, p->ticks, p->seq, group, tr->channel, f->ticks,
                        f->seq) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0) {
            const midi_program *p = &r->programs[lo - 1];
            if (p->group == group && p->channel == tr->channel) tr->program = p->program;
        }
    }
    return TG_OK;
}
