/*
 * sampling.c: a model's sampling defaults, sampling.tsv beside its
 * checkpoint (as tracks.tsv is): lines "key<TAB>value" ('#' comments), keys
 * temperature (0 to 10), pitch_temperature (0: off, to 10), top_p (above
 * 0, at most 1), and for `accompany` (not infill) with an any-track model
 * accompany_rerank (candidates per take, 1 to RUN_MAX_RERANK) and
 * accompany_rerank_bars (1: ranked bar by bar and spliced, 0: whole takes).
 * The settings a model's card recommends are what `generate`,
 * `accompany`, `infill` and the studio use when they are not told others. A
 * missing file is no error: the defaults stay.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

void run_beside(const char *checkpoint, const char *name, char *out, size_t n)
{
    const char *slash = strrchr(checkpoint, '/');
    if (slash) snprintf(out, n, "%.*s/%s", (int)(slash - checkpoint), checkpoint, name);
    else snprintf(out, n, "%s", name);
}

/* One "key<TAB>value" line into out; 0, or 1 with why. */
static int parse_line(char *line, run_sampling *out, char *why, size_t wn)
{
    line[strcspn(line, "\r\n")] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) {
        snprintf(why, wn, "expected \"key<TAB>value\"");
        return 1;
    }
    *tab = 0;
    char *end;
    errno = 0;
    double v = strtod(tab + 1, &end);
    while (*end == ' ') end++;
    if (end == tab + 1 || *end || errno) {
        snprintf(why, wn, "%.40s: '%.40s' is not a number", line, tab + 1);
        return 1;
    }
    if (strcmp(line, "temperature") == 0) {
        if (!(v >= 0 && v <= 10)) {
            snprintf(why, wn, "temperature %g outside 0..10", v);
            return 1;
        }
        out->has_temperature = true, out->temperature = v;
    } else if (strcmp(line, "pitch_temperature") == 0) {
        if (!(v >= 0 && v <= 10)) {
            snprintf(why, wn, "pitch_temperature %g outside 0..10", v);
            return 1;
        }
        out->has_pitch_temperature = true, out->pitch_temperature = v;
    } else if (strcmp(line, "top_p") == 0) {
        if (!(v > 0 && v <= 1)) {
            snprintf(why, wn, "top_p %g outside (0, 1]", v);
            return 1;
        }
        out->has_top_p = true, out->top_p = v;
    } else if (strcmp(line, "accompany_rerank") == 0) {
        if (!(v >= 1 && v <= RUN_MAX_RERANK && v == (int)v)) {
            snprintf(why, wn, "accompany_rerank %g: a whole number of candidates, 1 to %d", v, RUN_MAX_RERANK);
            return 1;
        }
        out->has_rerank = true, out->rerank = (int)v;
    } else if (strcmp(line, "accompany_rerank_bars") == 0) {
        if (v != 0 && v != 1) {
            snprintf(why, wn, "accompany_rerank_bars %g: 1 (bar by bar) or 0 (whole takes)", v);
            return 1;
        }
        out->has_rerank_bars = true, out->rerank_bars = v == 1;
    } else {
        snprintf(why, wn, "unknown key '%.40s' (known: temperature, pitch_temperature, top_p, accompany_rerank, "
                 "accompany_rerank_bars)", line);
        return 1;
    }
    return 0;
}

/* Nothing given: every setting at its default (the path kept). */
static void no_settings(run_sampling *out)
{
    out->has_temperature = out->has_top_p = out->has_pitch_temperature = false;
    out->has_rerank = out->has_rerank_bars = false;
    out->temperature = 1.0, out->top_p = 1.0, out->pitch_temperature = 0.0;
    out->rerank = 1, out->rerank_bars = false;
}

tg_status run_sampling_read(const char *checkpoint, run_sampling *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    no_settings(out);
    run_beside(checkpoint, "sampling.tsv", out->path, sizeof out->path);
    FILE *fp = fopen(out->path, "r");
    if (!fp) {
        if (errno == ENOENT) return TG_OK;
        return tg_fail(err, err_len, TG_ERR_IO, "%s: %s", out->path, strerror(errno));
    }
    char line[256], why[160];
    int lineno = 0;
    tg_status st = TG_OK;
    while (st == TG_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n' || (line[0] == '\r' && line[1] == '\n')) continue;
        if (parse_line(line, out, why, sizeof why))
            st = tg_fail(err, err_len, TG_ERR_FORMAT, "%s:%d: %s", out->path, lineno, why);
    }
    fclose(fp);
    if (st != TG_OK) no_settings(out);
    return st;
}
