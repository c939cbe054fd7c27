/*
 * roll.c: a piano-roll picture of a score through cairo. Time runs left to
 * right (a fixed number of pixels per quarter note, reduced for long pieces),
 * pitch bottom to top over the range the score uses; each track has its own
 * colour; bar lines are dark, beats light; C of every octave is named on the
 * left axis. The part that came from a primer can be shaded.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "render.h"
#include "score/score.h"

#ifdef TG_HAVE_CAIRO
#include <cairo.h>
#endif

tg_roll_options tg_roll_options_default(void)
{
    tg_roll_options o = {16.0, 4000, 6, 0, NULL};
    return o;
}

#ifdef TG_HAVE_CAIRO

enum { LEFT_PX = 44, TOP_PX = 24, BOTTOM_PX = 8, RIGHT_PX = 8 };

/* Distinct, colour-blind-friendly track colours (Okabe & Ito). */
static const double palette[][3] = {
    {0.00, 0.45, 0.70}, {0.90, 0.62, 0.00}, {0.00, 0.62, 0.45}, {0.80, 0.47, 0.65},
    {0.34, 0.71, 0.91}, {0.84, 0.37, 0.00}, {0.94, 0.89, 0.26}, {0.30, 0.30, 0.30},
};

typedef struct {
    int lo, hi;          /* pitch range drawn */
    double x_per_tick;
    int64_t end_ticks;
    int width, height;
    int ppp;             /* pixels per pitch */
} roll_layout;

static roll_layout make_layout(const tg_score *score, const tg_roll_options *o)
{
    roll_layout L = {127, 0, 0, 0, 0, 0, o->px_per_pitch > 0 ? o->px_per_pitch : 6};
    for (size_t i = 0; i < score->n_tracks; i++)
        for (size_t j = 0; j < score->tracks[i].n_notes; j++) {
            int p = score->tracks[i].notes[j].pitch;
            if (p < L.lo) L.lo = p;
            if (p > L.hi) L.hi = p;
        }
    if (L.lo > L.hi) L.lo = 60, L.hi = 72;
    L.lo = L.lo >= 2 ? L.lo - 2 : 0;
    L.hi = L.hi <= 125 ? L.hi + 2 : 127;
    int tpq = score->ticks_per_quarter > 0 ? score->ticks_per_quarter : 480;
    L.end_ticks = tg_score_end_ticks(score);
    if (L.end_ticks < tpq) L.end_ticks = tpq;
    L.x_per_tick = o->px_per_quarter / tpq;
    int max_w = o->max_width_px > 200 ? o->max_width_px : 200;
    if (L.end_ticks * L.x_per_tick > max_w - LEFT_PX - RIGHT_PX)
        L.x_per_tick = (double)(max_w - LEFT_PX - RIGHT_PX) / (double)L.end_ticks;
    L.width = LEFT_PX + RIGHT_PX + (int)(L.end_ticks * L.x_per_tick + 1);
    L.height = TOP_PX + BOTTOM_PX + (L.hi - L.lo + 1) * L.ppp;
    return L;
}

static double x_of(const roll_layout *L, int64_t t) { return LEFT_PX + t * L->x_per_tick; }
static double y_of(const roll_layout *L, int pitch) { return TOP_PX + (L->hi - pitch) * L->ppp; }

static void draw_grid(cairo_t *cr, const tg_score *score, const roll_layout *L, const int64_t *bars,
                      size_t n_bars)
{
    double bottom = L->height - BOTTOM_PX;
    /* black-key rows tinted, as on a keyboard */
    for (int p = L->lo; p <= L->hi; p++) {
        int pc = p % 12;
        if (pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10) {
            cairo_set_source_rgb(cr, 0.94, 0.94, 0.96);
            cairo_rectangle(cr, LEFT_PX, y_of(L, p), L->width - LEFT_PX - RIGHT_PX, L->ppp);
            cairo_fill(cr);
        }
    }
    int tpq = score->ticks_per_quarter > 0 ? score->ticks_per_quarter : 480;
    for (size_t b = 0; b < n_bars; b++) {
        int64_t start = bars[b], end = b + 1 < n_bars ? bars[b + 1] : start;
        tg_timesig ts = tg_score_timesig_at(score, start);
        int64_t beat = (int64_t)tpq * 4 / ts.denominator;
        cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
        cairo_set_line_width(cr, 0.5);
        for (int64_t t = start + beat; beat > 0 && t < end; t += beat) {
            cairo_move_to(cr, x_of(L, t), TOP_PX);
            cairo_line_to(cr, x_of(L, t), bottom);
        }
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        cairo_set_line_width(cr, 1.0);
        cairo_move_to(cr, x_of(L, start), TOP_PX);
        cairo_line_to(cr, x_of(L, start), bottom);
        cairo_stroke(cr);
    }
}

static void draw_axis(cairo_t *cr, const roll_layout *L)
{
    static const char *const names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    cairo_set_font_size(cr, 9.0);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    for (int p = L->lo; p <= L->hi; p++) {
        if (p % 12 != 0 && L->ppp < 9) continue; /* only Cs when rows are thin */
        char label[16];
        snprintf(label, sizeof label, "%s%d", names[p % 12], p / 12 - 1);
        cairo_move_to(cr, 4, y_of(L, p) + L->ppp);
        cairo_show_text(cr, label);
    }
}

static void draw_notes(cairo_t *cr, const tg_score *score, const roll_layout *L)
{
    for (size_t i = 0; i < score->n_tracks; i++) {
        const double *c = palette[i % TG_ARRAY_LEN(palette)];
        const tg_track *t = &score->tracks[i];
        for (size_t j = 0; j < t->n_notes; j++) {
            const tg_note *n = &t->notes[j];
            double x0 = x_of(L, n->start_ticks), x1 = x_of(L, n->end_ticks);
            double a = 0.45 + 0.55 * n->velocity / 127.0;
            cairo_set_source_rgba(cr, c[0], c[1], c[2], a);
            /* a one-pixel gap at the end keeps repeated notes apart */
            double w = x1 - x0 > 2 ? x1 - x0 - 1 : 1;
            cairo_rectangle(cr, x0, y_of(L, n->pitch) + 0.5, w, L->ppp - 1);
            cairo_fill(cr);
        }
    }
}

static void draw_primer(cairo_t *cr, const roll_layout *L, int64_t primer_end)
{
    if (primer_end <= 0) return;
    double x1 = x_of(L, primer_end);
    cairo_set_source_rgba(cr, 0.2, 0.2, 0.2, 0.12);
    cairo_rectangle(cr, LEFT_PX, TOP_PX, x1 - LEFT_PX, L->height - TOP_PX - BOTTOM_PX);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_font_size(cr, 10.0);
    cairo_move_to(cr, LEFT_PX + 3, TOP_PX - 4);
    cairo_show_text(cr, "primer");
    cairo_set_source_rgb(cr, 0.8, 0.1, 0.1);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, x1, TOP_PX);
    cairo_line_to(cr, x1, L->height - BOTTOM_PX);
    cairo_stroke(cr);
}

static tg_status draw_all(cairo_surface_t *surf, const tg_score *score, const roll_layout *L,
                          const tg_roll_options *o)
{
    int64_t *bars;
    size_t n_bars;
    tg_status st = tg_score_bar_lines(score, L->end_ticks, &bars, &n_bars);
    if (st != TG_OK) return st;
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw_grid(cr, score, L, bars, n_bars);
    draw_primer(cr, L, o->primer_end_ticks);
    draw_notes(cr, score, L);
    draw_axis(cr, L);
    if (o->title) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_font_size(cr, 12.0);
        cairo_move_to(cr, L->width / 2.0 - 3.0 * (double)strlen(o->title), 15);
        cairo_show_text(cr, o->title);
    }
    st = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? TG_OK : TG_ERR_NOMEM;
    cairo_destroy(cr);
    free(bars);
    return st;
}

tg_status render_roll_png(const tg_score *score, const char *png_path, const tg_roll_options *opt,
                          char *err, size_t err_len)
{
    tg_roll_options o = opt ? *opt : tg_roll_options_default();
    if (!(o.px_per_quarter > 0 && o.px_per_quarter <= 1000))
        return tg_fail(err, err_len, TG_ERR_RANGE, "pixels per quarter note must be within (0, 1000]");
    roll_layout L = make_layout(score, &o);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, L.width, L.height);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return tg_fail(err, err_len, TG_ERR_NOMEM, "cairo could not create a %dx%d picture", L.width, L.height);
    }
    tg_status st = draw_all(surf, score, &L, &o);
    if (st == TG_OK) st = render_save_png(surf, png_path, err, err_len);
    cairo_surface_destroy(surf);
    return st;
}

#else /* !TG_HAVE_CAIRO */

tg_status render_roll_png(const tg_score *score, const char *png_path, const tg_roll_options *opt,
                          char *err, size_t err_len)
{
    (void)score, (void)png_path, (void)opt;
    return tg_fail(err, err_len, TG_ERR_UNSUPPORTED,
                "built without cairo: install libcairo2-dev and rebuild to draw pictures");
}

#endif
