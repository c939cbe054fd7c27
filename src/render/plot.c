/*
 * plot.c: line charts for training curves through cairo: panels stacked
 * vertically, each with its own y range (padded, with tick labels), a legend,
 * and a shared x axis label; optional error bars and point labels (the
 * quality-diversity curves of `tunegan plot --table`). What it leaves out:
 * log scales and smoothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "render.h"

#ifdef TG_HAVE_CAIRO
#include <cairo.h>
#endif

#ifdef TG_HAVE_CAIRO

enum { PLOT_W = 900, PANEL_H = 260, MARGIN_L = 70, MARGIN_R = 20, MARGIN_T = 30, MARGIN_B = 40 };

static const double line_colours[][3] = {
    {0.00, 0.45, 0.70}, {0.84, 0.37, 0.00}, {0.00, 0.62, 0.45}, {0.80, 0.47, 0.65},
    {0.94, 0.89, 0.26}, {0.34, 0.71, 0.91}, {0.90, 0.62, 0.00}, {0.40, 0.40, 0.40},
};

typedef struct {
    double x0, x1, y0, y1;    /* data range */
    double left, top, w, h;   /* pixel box */
} plot_box;

static void widen(double *lo, double *hi, const double *v, size_t i)
{
    if (v && isfinite(v[i])) *lo = fmin(*lo, v[i]), *hi = fmax(*hi, v[i]);
}

static void data_range(const plot_panel *p, plot_box *b)
{
    b->x0 = b->y0 = INFINITY;
    b->x1 = b->y1 = -INFINITY;
    for (int s = 0; s < p->n_series; s++) {
        const plot_series *ps = &p->series[s];
        for (size_t i = 0; i < ps->n; i++) {
            double x = ps->x[i], y = ps->y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            b->x0 = fmin(b->x0, x), b->x1 = fmax(b->x1, x);
            b->y0 = fmin(b->y0, y), b->y1 = fmax(b->y1, y);
            widen(&b->x0, &b->x1, ps->x_lo, i), widen(&b->x0, &b->x1, ps->x_hi, i);
            widen(&b->y0, &b->y1, ps->y_lo, i), widen(&b->y0, &b->y1, ps->y_hi, i);
        }
    }
    if (!(b->x0 <= b->x1)) b->x0 = 0, b->x1 = 1;
    if (!(b->y0 <= b->y1)) b->y0 = 0, b->y1 = 1;
    if (b->x1 == b->x0) b->x1 = b->x0 + 1;
    double xpad = (b->x1 - b->x0) * 0.03;
    b->x0 -= xpad, b->x1 += xpad;
    double pad = (b->y1 - b->y0) * 0.05;
    if (pad == 0) pad = fabs(b->y0) * 0.05 + 0.05;
    b->y0 -= pad, b->y1 += pad;
}

static double px_x(const plot_box *b, double x) { return b->left + (x - b->x0) / (b->x1 - b->x0) * b->w; }
static double px_y(const plot_box *b, double y) { return b->top + b->h - (y - b->y0) / (b->y1 - b->y0) * b->h; }

/* A tick spacing of 1, 2 or 5 times a power of ten giving about `ticks` ticks over span. */
static double nice_step(double span, int ticks)
{
    double raw = span / ticks, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void draw_ticks(cairo_t *cr, const plot_box *b)
{
    cairo_set_font_size(cr, 10);
    double sy = nice_step(b->y1 - b->y0, 5), sx = nice_step(b->x1 - b->x0, 8);
    for (double y = ceil(b->y0 / sy) * sy; y <= b->y1; y += sy) {
        char label[32];
        snprintf(label, sizeof label, "%g", fabs(y) < sy * 1e-6 ? 0.0 : y);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, b->left, px_y(b, y));
        cairo_line_to(cr, b->left + b->w, px_y(b, y));
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, 6, px_y(b, y) + 3);
        cairo_show_text(cr, label);
    }
    for (double x = ceil(b->x0 / sx) * sx; x <= b->x1; x += sx) {
        char label[32];
        snprintf(label, sizeof label, "%g", x);
        cairo_move_to(cr, px_x(b, x) - 3.0 * (double)strlen(label), b->top + b->h + 14);
        cairo_show_text(cr, label);
    }
}

static void draw_frame(cairo_t *cr, const plot_panel *p, const plot_box *b)
{
    draw_ticks(cr, b);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, b->left, b->top, b->w, b->h);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12);
    cairo_move_to(cr, b->left, b->top - 10);
    cairo_show_text(cr, p->title ? p->title : "");
    cairo_text_extents_t ext;
    cairo_text_extents(cr, p->title ? p->title : "", &ext);
    if (p->y_label) {
        cairo_set_font_size(cr, 10);
        cairo_move_to(cr, b->left + ext.x_advance + 12, b->top - 10);
        cairo_show_text(cr, p->y_label);
    }
}

/* Error bars (with short caps) and labels of a series' points. */
static void draw_extras(cairo_t *cr, const plot_series *s, const plot_box *b)
{
    cairo_set_line_width(cr, 1);
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) continue;
        double x = px_x(b, s->x[i]), y = px_y(b, s->y[i]);
        if (s->y_lo && s->y_hi && isfinite(s->y_lo[i]) && isfinite(s->y_hi[i])) {
            double y0 = px_y(b, s->y_lo[i]), y1 = px_y(b, s->y_hi[i]);
            cairo_move_to(cr, x, y0), cairo_line_to(cr, x, y1);
            cairo_move_to(cr, x - 3, y0), cairo_line_to(cr, x + 3, y0);
            cairo_move_to(cr, x - 3, y1), cairo_line_to(cr, x + 3, y1);
        }
        if (s->x_lo && s->x_hi && isfinite(s->x_lo[i]) && isfinite(s->x_hi[i])) {
            double x0 = px_x(b, s->x_lo[i]), x1 = px_x(b, s->x_hi[i]);
            cairo_move_to(cr, x0, y), cairo_line_to(cr, x1, y);
            cairo_move_to(cr, x0, y - 3), cairo_line_to(cr, x0, y + 3);
            cairo_move_to(cr, x1, y - 3), cairo_line_to(cr, x1, y + 3);
        }
        cairo_stroke(cr);
        if (s->labels && s->labels[i]) {
            cairo_set_font_size(cr, 9);
            cairo_move_to(cr, x + 4, y - 4);
            cairo_show_text(cr, s->labels[i]);
        }
    }
}

static void draw_series(cairo_t *cr, const plot_series *s, const plot_box *b, int k)
{
    const double *c = line_colours[k % 8];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    draw_extras(cr, s, b);
    cairo_set_line_width(cr, 1.5);
    bool pen = false;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
            pen = false;
            continue;
        }
        double x = px_x(b, s->x[i]), y = px_y(b, s->y[i]);
        if (pen) cairo_line_to(cr, x, y);
        else cairo_move_to(cr, x, y);
        pen = true;
        if (s->n < 40) {
            cairo_stroke(cr);
            cairo_arc(cr, x, y, 2.5, 0, 2 * M_PI);
            cairo_fill(cr);
            cairo_move_to(cr, x, y);
        }
    }
    cairo_stroke(cr);
    /* legend entry, top right */
    double ly = b->top + 14 + 14 * k;
    cairo_move_to(cr, b->left + b->w - 150, ly - 4);
    cairo_line_to(cr, b->left + b->w - 130, ly - 4);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 10);
    cairo_move_to(cr, b->left + b->w - 125, ly);
    cairo_show_text(cr, s->name ? s->name : "");
}

tg_status render_plot_png(const plot_panel *panels, int n_panels, const char *x_label,
                          const char *png_path, char *err, size_t err_len)
{
    if (n_panels < 1 || n_panels > 8) return tg_fail(err, err_len, TG_ERR_ARG, "between 1 and 8 panels");
    int height = n_panels * PANEL_H + 20;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PLOT_W, height);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    for (int i = 0; i < n_panels; i++) {
        plot_box b;
        data_range(&panels[i], &b);
        b.left = MARGIN_L, b.top = i * PANEL_H + MARGIN_T;
        b.w = PLOT_W - MARGIN_L - MARGIN_R, b.h = PANEL_H - MARGIN_T - MARGIN_B;
        draw_frame(cr, &panels[i], &b);
        for (int s = 0; s < panels[i].n_series && s < 8; s++) draw_series(cr, &panels[i].series[s], &b, s);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 11);
    cairo_move_to(cr, PLOT_W / 2.0 - 20, height - 6);
    cairo_show_text(cr, x_label ? x_label : "");
    tg_status st = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? TG_OK : TG_ERR_NOMEM;
    cairo_destroy(cr);
    if (st == TG_OK) st = render_save_png(surf, png_path, err, err_len);
    cairo_surface_destroy(surf);
    return st;
}

#else

tg_status render_plot_png(const plot_panel *panels, int n_panels, const char *x_label,
                          const char *png_path, char *err, size_t err_len)
{
    (void)panels, (void)n_panels, (void)x_label, (void)png_path;
    return tg_fail(err, err_len, TG_ERR_UNSUPPORTED,
                "built without cairo: install libcairo2-dev and rebuild to draw pictures");
}

#endif
