/*
 * cli_notes.c: `tunegan notes FILE.mid [--meta]`, which prints what the MIDI
 * reader understood, for people and for comparisons with other readers
 * (tests/test_notes_vs_mido.py compares it with a dump written from mido).
 * Warnings about damage go to stderr and leave the exit status at 0.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char notes_summary[] =
    "Prints the notes of a Standard MIDI File as the reader understood them.\n"
    "\n"
    "The first line is '# format=F tracks=N division=D': N counts the track chunks,\n"
    "D is ticks per quarter note or smpte:FPSxTICKS_PER_FRAME. Then one line per\n"
    "note, tab-separated:\n"
    "  track channel pitch start_tick end_tick velocity start_sec end_sec\n"
    "where track is the index of the track chunk (from 0) and seconds follow the\n"
    "tempo map (format 2: the note's own track's map). Lines are sorted by\n"
    "(start_tick, track, channel, pitch, end_tick, velocity).\n"
    "\n"
    "With --meta, lines after the first give the tempo map, then the time and key\n"
    "signatures, each in order of time (ties in file order):\n"
    "  # tempo<TAB>tick=T<TAB>usec_per_quarter=U<TAB>bpm=B<TAB>track=K\n"
    "  # timesig<TAB>tick=T<TAB>NUM/DEN<TAB>track=K\n"
    "  # keysig<TAB>tick=T<TAB>sharps=S<TAB>major|minor<TAB>track=K\n"
    "where K is 'all' for formats 0 and 1 (one map for the whole file) and the\n"
    "track chunk's index for format 2. Reader policies (first-in first-out note\n"
    "pairing, notes lengthened to 1 tick when on and off share a tick, ...) are\n"
    "described in src/midi/midi_track.c and the README.";

/* One printed note. */
typedef struct {
    int64_t start, end;
    int chunk;
    uint8_t channel, pitch, velocity;
} note_line;

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_line(const void *pa, const void *pb)
{
    const note_line *a = pa, *b = pb;
    int c = cmp_i64(a->start, b->start);
    if (!c) c = (a->chunk > b->chunk) - (a->chunk < b->chunk);
    if (!c) c = (int)a->channel - (int)b->channel;
    if (!c) c = (int)a->pitch - (int)b->pitch;
    if (!c) c = cmp_i64(a->end, b->end);
    if (!c) c = (int)a->velocity - (int)b->velocity;
    return c;
}

/* ------------------------------------------------------------------------ */
/* Seconds. tg_score_ticks_to_sec walks the whole tempo map for every call; a
 * file with a million tempo events would take hours. This does the same sums
 * in the same order (so the results agree to the last bit) with the partial
 * sums kept, finding each tick by binary search. */

typedef struct {
    int key;           /* the chunk the tempo belongs to in format 2, else -1 */
    int64_t ticks;
    uint32_t usec;
    size_t index;      /* position in the score's map: ties keep it */
    double sec_before; /* seconds at ticks, summed over the segments before */
} tempo_point;

typedef struct {
    const tg_score *score;
    tempo_point *pts;
    size_t n;
    bool fallback;     /* a format 2 map with entries for every chunk: use the score's function */
} clock_map;

static int cmp_point(const void *pa, const void *pb)
{
    const tempo_point *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    int c = cmp_i64(a->ticks, b->ticks);
    if (!c) c = (a->index > b->index) - (a->index < b->index);
    return c;
}

static bool clock_init(clock_map *m, const tg_score *s)
{
    memset(m, 0, sizeof *m);
    m->score = s;
    if (s->ticks_per_quarter <= 0 || s->n_tempos == 0) return true;
    m->pts = malloc(s->n_tempos * sizeof *m->pts);
    if (!m->pts) return false;
    m->n = s->n_tempos;
    for (size_t i = 0; i < s->n_tempos; i++) {
        const tg_tempo *t = &s->tempos[i];
        if (s->format == 2 && t->chunk < 0) m->fallback = true;
        m->pts[i].key = s->format == 2 ? t->chunk : -1;
        m->pts[i].ticks = t->ticks;
        m->pts[i].usec = t->usec_per_quarter;
        m->pts[i].index = i;
    }
    qsort(m->pts, m->n, sizeof *m->pts, cmp_point);
    double tpq = (double)s->ticks_per_quarter;
    for (size_t i = 0; i < m->n; i++) {
        bool first = i == 0 || m->pts[i - 1].key != m->pts[i].key;
        double sec = first ? 0.0 : m->pts[i - 1].sec_before;
        int64_t at = first ? 0 : m->pts[i - 1].ticks;
        uint32_t usec = first ? 500000u : m->pts[i - 1].usec;
        m->pts[i].sec_before = sec + (double)(m->pts[i].ticks - at) * usec / (tpq * 1e6);
    }
    return true;
}

static double clock_sec(const clock_map *m, int chunk, int64_t ticks)
{
    const tg_score *s = m->score;
    if (s->ticks_per_quarter <= 0 || m->fallback) return tg_score_ticks_to_sec(s, chunk, ticks);
    int key = s->format == 2 ? chunk : -1;
    /* the points of key with ticks < ticks are [lo0, lo) */
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tempo_point *p = &m->pts[mid];
        if (p->key < key || (p->key == key && p->ticks < ticks))
            lo = mid + 1;
        else
            hi = mid;
    }
    double tpq = (double)s->ticks_per_quarter;
    if (lo == 0 || m->pts[lo - 1].key != key)
        return 0.0 + (double)(ticks - 0) * 500000u / (tpq * 1e6);
    const tempo_point *p = &m->pts[lo - 1];
    return p->sec_before + (double)(ticks - p->ticks) * p->usec / (tpq * 1e6);
}

/* ------------------------------------------------------------------------ */

static void print_meta(const tg_score *s)
{
    char track[16];
    for (size_t i = 0; i < s->n_tempos; i++) {
        const tg_tempo *t = &s->tempos[i];
        snprintf(track, sizeof track, t->chunk < 0 ? "all" : "%d", t->chunk);
        printf("# tempo\ttick=%lld\tusec_per_quarter=%u\tbpm=%.3f\ttrack=%s\n", (long long)t->ticks,
               t->usec_per_quarter, 60000000.0 / t->usec_per_quarter, track);
    }
    for (size_t i = 0; i < s->n_timesigs; i++) {
        const tg_timesig *t = &s->timesigs[i];
        snprintf(track, sizeof track, t->chunk < 0 ? "all" : "%d", t->chunk);
        printf("# timesig\ttick=%lld\t%u/%u\ttrack=%s\n", (long long)t->ticks, t->numerator,
               t->denominator, track);
    }
    for (size_t i = 0; i < s->n_keysigs; i++) {
        const tg_keysig *k = &s->keysigs[i];
        snprintf(track, sizeof track, k->chunk < 0 ? "all" : "%d", k->chunk);
        printf("# keysig\ttick=%lld\tsharps=%d\t%s\ttrack=%s\n", (long long)k->ticks, k->sharps,
               k->minor ? "minor" : "major", track);
    }
}

int cli_notes(int argc, char **argv)
{
    bool meta = false;
    const cli_opt opts[] = {
        {"meta", 'm', CLI_FLAG, &meta, NULL, "also print tempo, time-signature and key-signature events", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"notes", "[options] FILE.mid", notes_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("notes: expected one MIDI file (see 'tunegan notes --help')");
        return 1;
    }
    const char *path = pos[0];

    tg_midi_report rep;
    tg_score *s = NULL;
    if (cli_read_midi(path, &s, &rep) != TG_OK) return 1;

    size_t n = tg_score_note_count(s);
    note_line *lines = malloc((n ? n : 1) * sizeof *lines);
    clock_map clock;
    if (!lines || !clock_init(&clock, s)) {
        cli_error("%s: out of memory", path);
        free(lines);
        tg_score_free(s);
        return 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tg_track *t = &s->tracks[i];
        for (size_t j = 0; j < t->n_notes; j++, k++) {
            lines[k].start = t->notes[j].start_ticks;
            lines[k].end = t->notes[j].end_ticks;
            lines[k].chunk = t->chunk;
            lines[k].channel = t->notes[j].channel;
            lines[k].pitch = t->notes[j].pitch;
            lines[k].velocity = t->notes[j].velocity;
        }
    }
    qsort(lines, n, sizeof *lines, cmp_line);

    if (s->ticks_per_quarter > 0)
        printf("# format=%d tracks=%zu division=%d\n", s->format, rep.track_chunks,
               s->ticks_per_quarter);
    else
        printf("# format=%d tracks=%zu division=smpte:%dx%d\n", s->format, rep.track_chunks,
               s->smpte_fps, s->ticks_per_frame);
    if (meta) print_meta(s);
    for (size_t i = 0; i < n; i++) {
        const note_line *l = &lines[i];
        printf("%d\t%d\t%d\t%lld\t%lld\t%d\t%.6f\t%.6f\n", l->chunk, l->channel, l->pitch,
               (long long)l->start, (long long)l->end, l->velocity,
               clock_sec(&clock, l->chunk, l->start), clock_sec(&clock, l->chunk, l->end));
    }
    free(clock.pts);
    free(lines);
    tg_score_free(s);
    return 0; /* main.c checks that stdout was written */
}
