/*
 * progress.c: progress of long runs on stderr, for any kind of work (files,
 * steps, batches: the caller names the unit). On a terminal, one line redrawn
 * at most ten times a second: a bar, done/total, rate per second and time
 * left. Piped (logs, CI), a plain line at each quarter of the work and at
 * least every 30 s, so that a log stays short. Always a last line with the
 * total time and rate.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "cli.h"

void cli_progress_begin(cli_progress *p, const char *label, size_t total, const char *unit)
{
    memset(p, 0, sizeof *p);
    p->fp = stderr;
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->tty = cli_stderr_is_tty();
    p->t0 = tg_now_sec();
    p->last_draw = p->t0;
}

static void format_time(char *buf, size_t size, double sec)
{
    if (sec < 0 || sec > 1e7) {
        snprintf(buf, size, "?");
        return;
    }
    long s = (long)(sec + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void cli_progress_update(cli_progress *p, size_t done)
{
    p->done = done;
    double now = tg_now_sec();
    double elapsed = now - p->t0;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    char left[32];
    format_time(left, sizeof left, rate > 0 ? (double)(p->total - done) / rate : -1);
    if (p->tty) {
        if (now - p->last_draw < 0.1 && done < p->total) return;
        p->last_draw = now;
        char bar[31];
        size_t fill = p->total ? done * 30 / p->total : 30;
        for (size_t i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '-';
        bar[30] = 0;
        fprintf(p->fp, "\r%s [%s] %zu/%zu %s  %.1f %s/s  %s left\033[K", p->label, bar, done,
                p->total, p->unit, rate, p->unit, left);
        fflush(p->fp);
        p->drawn = true;
        return;
    }
    int quarter = p->total ? (int)(done * 4 / p->total) : 4;
    if (done >= p->total) return; /* the last line comes from cli_progress_end */
    if (quarter > p->last_quarter || now - p->last_draw >= 30.0) {
        p->last_quarter = quarter;
        p->last_draw = now;
        fprintf(p->fp, "%s: %zu/%zu %s (%.0f%%), %.1f %s/s, %s left\n", p->label, done, p->total,
                p->unit, p->total ? 100.0 * (double)done / (double)p->total : 100.0, rate, p->unit,
                left);
    }
}

void cli_progress_end(cli_progress *p)
{
    double elapsed = tg_now_sec() - p->t0;
    if (p->tty && p->drawn) fprintf(p->fp, "\r\033[K");
    fprintf(p->fp, "%s: %zu %s in %.2f s (%.1f %s/s)\n", p->label, p->done, p->unit, elapsed,
            elapsed > 0 ? (double)p->done / elapsed : 0.0, p->unit);
}
