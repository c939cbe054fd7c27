/*
 * cli_eval_harmony.c: the harmony and voice-leading section of `tunegan eval
 * --samples SET --reference SET` (issue 20): the harmonic fit of both sets,
 * and, when the samples are four voices (or with --voices satb), parallel
 * fifths and octaves, voice crossings and notes out of range per 100 beats.
 * src/eval/harmony.c holds the definitions; this file measures both sets,
 * decides whether voice leading applies, and prints (table or JSON).
 * A folder's pieces are measured as read, tracks apart; a corpus's pieces as
 * their tokens decode, where remi merges tracks of one program (Bach's four
 * voices become one track, so a corpus gives no voice leading).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/core.h"
#include "eval/eval.h"

struct cli_harmony {
    int melody_track;
    eval_harmony_result fit[2];  /* samples, reference */
    bool have_voices;
    eval_voice_result voices[2];
    eval_voice_ranges ranges;
    double seconds;
};

int cli_voices_mode(const char *s)
{
    if (strcmp(s, "auto") == 0) return CLI_VOICES_AUTO;
    if (strcmp(s, "satb") == 0) return CLI_VOICES_SATB;
    if (strcmp(s, "off") == 0) return CLI_VOICES_OFF;
    return -1;
}

cli_harmony *cli_harmony_measure(const struct eval_set *samples, const struct eval_set *reference, int melody_track,
                                 int voices_mode)
{
    cli_harmony *h = calloc(1, sizeof *h);
    if (!h) {
        cli_error("eval: %s", tg_status_str(TG_ERR_NOMEM));
        return NULL;
    }
    double t = tg_now_sec();
    h->melody_track = melody_track;
    h->ranges = eval_voice_ranges_default();
    const eval_set *sets[2] = {samples, reference};
    tg_status st = TG_OK;
    for (int k = 0; k < 2 && st == TG_OK; k++) st = eval_harmony_set(sets[k], melody_track, &h->fit[k]);
    if (voices_mode != CLI_VOICES_OFF)
        for (int k = 0; k < 2 && st == TG_OK; k++) st = eval_voice_set(sets[k], &h->ranges, &h->voices[k]);
    if (st != TG_OK) {
        cli_error("eval: harmony: %s", tg_status_str(st));
        free(h);
        return NULL;
    }
    if (melody_track >= 0 && h->fit[0].skipped)
        cli_warn("%zu of the samples have no track %d: left out of the harmonic fit", h->fit[0].skipped,
                 melody_track);
    const eval_voice_result *v = &h->voices[0];
    if (voices_mode == CLI_VOICES_SATB && v->pieces == 0) {
        cli_error("eval: --voices satb: none of the samples is four voices (four non-drum tracks holding notes; a "
                  "corpus's pieces are decoded from tokens, where tracks of one program merge: give a folder)");
        free(h);
        return NULL;
    }
    h->have_voices = voices_mode == CLI_VOICES_SATB || (voices_mode == CLI_VOICES_AUTO && v->pieces > 0 &&
                                                        v->skipped == 0);
    if (h->have_voices && v->skipped)
        cli_warn("%zu of the samples are not four voices: left out of the voice leading", v->skipped);
    h->seconds = tg_now_sec() - t;
    return h;
}

void cli_harmony_free(cli_harmony *h)
{
    free(h);
}

/* ------------------------------------------------------------------------ */
/* Printing. */

static void num(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

static void print_fit_table(const cli_harmony *h)
{
    const eval_harmony_result *s = &h->fit[0], *r = &h->fit[1];
    if (h->melody_track >= 0)
        printf("\nharmonic fit (issue 20): melody = track %d, accompaniment = the other tracks\n", h->melody_track);
    else
        printf("\nharmonic fit (issue 20): melody = the top line (no note sounds higher at its onset), "
               "accompaniment = every other note\n");
    printf("                                 samples   reference\n");
    printf("  harmonic fit                   %7.4f   %7.4f   (melody onsets whose pitch class sounds in the "
           "accompaniment)\n", s->fit, r->fit);
    printf("  per piece, mean +- sd          %7.4f +- %.4f   %7.4f +- %.4f\n", s->piece_fit.mean, s->piece_fit.sd,
           r->piece_fit.mean, r->piece_fit.sd);
    printf("  melody onsets                  %7llu   %7llu\n", (unsigned long long)s->counts.onsets,
           (unsigned long long)r->counts.onsets);
    printf("  silent accompaniment           %7.4f   %7.4f   (share of onsets left out: nothing else sounds)\n",
           s->silent_share, r->silent_share);
}

static void print_voices_table(const cli_harmony *h)
{
    const eval_voice_result *s = &h->voices[0], *r = &h->voices[1];
    const eval_voice_ranges *g = &h->ranges;
    if (!h->have_voices) {
        printf("\nvoice leading: n/a (%zu of %zu samples are four voices; --voices satb measures those that are)\n",
               s->pieces, s->pieces + s->skipped);
        return;
    }
    printf("\nvoice leading (four tracks, top voice first; 16th-note grid), per 100 beats\n");
    printf("                                 samples   reference\n");
    printf("  four-voice pieces              %7zu   %7zu   (not four voices: %zu, %zu)\n", s->pieces, r->pieces,
           s->skipped, r->skipped);
    printf("  beats                          %7.0f   %7.0f\n", s->counts.beats, r->counts.beats);
    printf("  parallel fifths                %7.3f   %7.3f\n", s->fifths, r->fifths);
    printf("  parallel octaves               %7.3f   %7.3f\n", s->octaves, r->octaves);
    printf("  voice crossings                %7.3f   %7.3f   (adjacent voices, at each onset while crossed)\n",
           s->crossings, r->crossings);
    printf("  crossings begun                %7.3f   %7.3f\n", s->crossings_begun, r->crossings_begun);
    printf("  notes out of range             %7.3f   %7.3f   (S %d-%d, A %d-%d, T %d-%d, B %d-%d)\n", s->out_of_range,
           r->out_of_range, g->low[0], g->high[0], g->low[1], g->high[1], g->low[2], g->high[2], g->low[3],
           g->high[3]);
}

static void print_fit_json(const eval_harmony_result *f)
{
    printf("{\"fit\":");
    num(f->fit);
    printf(",\"piece_fit_mean\":");
    num(f->piece_fit.mean);
    printf(",\"piece_fit_sd\":");
    num(f->piece_fit.sd);
    printf(",\"silent_share\":");
    num(f->silent_share);
    printf(",\"melody_onsets\":%llu,\"silent_onsets\":%llu,\"fitting_onsets\":%llu,\"pieces_measured\":%zu}",
           (unsigned long long)f->counts.onsets, (unsigned long long)f->counts.silent,
           (unsigned long long)f->counts.fits, f->pieces);
}

static void print_voices_json(const eval_voice_result *v)
{
    const eval_voice_counts *c = &v->counts;
    printf("{\"four_voice_pieces\":%zu,\"not_four_voices\":%zu,\"beats\":", v->pieces, v->skipped);
    num(c->beats);
    printf(",\"parallel_fifths\":");
    num(v->fifths);
    printf(",\"parallel_octaves\":");
    num(v->octaves);
    printf(",\"voice_crossings\":");
    num(v->crossings);
    printf(",\"crossings_begun\":");
    num(v->crossings_begun);
    printf(",\"out_of_range\":");
    num(v->out_of_range);
    printf(",\"out_of_range_notes\":[%llu,%llu,%llu,%llu],\"voice_notes\":%llu}",
           (unsigned long long)c->out_of_range[0], (unsigned long long)c->out_of_range[1],
           (unsigned long long)c->out_of_range[2], (unsigned long long)c->out_of_range[3],
           (unsigned long long)c->notes);
}

void cli_harmony_print(const cli_harmony *h, bool json)
{
    if (!json) {
        print_fit_table(h);
        print_voices_table(h);
        printf("  time                           %.2f s\n", h->seconds);
        return;
    }
    printf(",\"harmony\":{\"melody_track\":%d,\"samples\":", h->melody_track);
    print_fit_json(&h->fit[0]);
    printf(",\"reference\":");
    print_fit_json(&h->fit[1]);
    printf("},\"voice_leading\":");
    if (!h->have_voices) {
        printf("null");
        return;
    }
    printf("{\"samples\":");
    print_voices_json(&h->voices[0]);
    printf(",\"reference\":");
    print_voices_json(&h->voices[1]);
    putchar('}');
}
