/*
 * check.c: whether a score is fit to become a training piece, before it is
 * tokenized: `data build` skips the files that are not (with the reason in
 * the skip line) and `tunegan tokenize` warns about them.
 *
 * The limits are on time, not tokens, because the tokenizers spend tokens on
 * time: the grid tokenizer writes 2.5 tokens a second (at its default 0.4 s)
 * through silence as through music, remi a Bar token per bar. One stray note
 * 10^6 s after the others once made a grid piece of 2.5 million tokens,
 * nearly all of them rests. In the shared data sets (3471 files) the longest
 * silence is 3 s and the longest piece 770 s; the limits stand far above
 * both, so what they catch is damage (a wrong tempo, a stray event), not
 * music.
 */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"

typedef struct {
    double start_sec, end_sec;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->start_sec > y->start_sec) - (x->start_sec < y->start_sec);
}

tg_status data_check_score(const tg_score *s, data_check *out)
{
    out->notes = out->drum_notes = 0;
    out->longest_silence_sec = out->silence_from_sec = out->end_sec = 0;
    size_t n = tg_score_note_count(s), k = 0;
    if (n == 0) return TG_OK;
    span *v = malloc(n * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    for (size_t t = 0; t < s->n_tracks; t++) {
        const tg_track *tr = &s->tracks[t];
        int chunk = s->format == 2 ? tr->chunk : -1; /* format 2: each chunk has its own tempo map */
        if (tr->is_drum) out->drum_notes += tr->n_notes;
        for (size_t i = 0; i < tr->n_notes; i++, k++) {
            v[k].start_sec = tg_score_ticks_to_sec(s, chunk, tr->notes[i].start_ticks);
            v[k].end_sec = tg_score_ticks_to_sec(s, chunk, tr->notes[i].end_ticks);
        }
    }
    out->notes = n;
    qsort(v, n, sizeof *v, cmp_span);
    /* the silence before the first note counts: the tokenizers start at 0 */
    double sounding_until = 0;
    for (size_t i = 0; i < n; i++) {
        double gap = v[i].start_sec - sounding_until;
        if (gap > out->longest_silence_sec) {
            out->longest_silence_sec = gap;
            out->silence_from_sec = sounding_until;
        }
        if (v[i].end_sec > sounding_until) sounding_until = v[i].end_sec;
    }
    out->end_sec = sounding_until;
    free(v);
    return TG_OK;
}

bool data_check_tokens(const data_check *c, size_t n_tokens, const char *kind, char *why, size_t n)
{
    if (n_tokens > 2 || c->notes == 0) return true; /* more than BOS and EOS */
    if (c->drum_notes == c->notes)
        snprintf(why, n, "only drum notes (channel 10), which the %s tokenizer leaves out", kind);
    else
        snprintf(why, n, "the %s tokenizer keeps none of its %zu notes", kind, c->notes);
    return false;
}

bool data_check_why(const data_check *c, char *why, size_t n)
{
    if (c->notes == 0) {
        snprintf(why, n, "no notes");
        return false;
    }
    if (c->longest_silence_sec > DATA_MAX_SILENCE_SEC) {
        snprintf(why, n, "a silence of %.0f s (from %.1f s to %.1f s): over the %.0f s a piece may hold "
                 "(a stray note or a wrong tempo?)", c->longest_silence_sec, c->silence_from_sec,
                 c->silence_from_sec + c->longest_silence_sec, DATA_MAX_SILENCE_SEC);
        return false;
    }
    if (c->end_sec > DATA_MAX_PIECE_SEC) {
        snprintf(why, n, "it lasts %.0f s: over the %.0f s a piece may last (a long note or a wrong tempo?)",
                 c->end_sec, DATA_MAX_PIECE_SEC);
        return false;
    }
    return true;
}
