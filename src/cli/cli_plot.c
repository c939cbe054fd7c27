/*
 * cli_plot.c: `tunegan plot RUN_DIR`: training curves from RUN_DIR/log.jsonl
 * (one JSON object per line, see `tunegan pretrain`): train loss and
 * validation NLL against steps; for adversarial runs also the discriminator's
 * loss and accuracy and the mean reward. Lines that are not valid JSON are
 * counted and reported, not fatal (a run may be writing its last line).
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/core.h"
#include "render/render.h"

/* A growable series of (step, value) for one phase and key of the log. */
typedef struct {
    const char *phase, *key, *label;
    double *x, *y;
    size_t n, cap;
} log_series;

static void series_add(log_series *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, cap * sizeof *nx), *ny;
        if (!nx) return;
        s->x = nx;
        ny = realloc(s->y, cap * sizeof *ny);
        if (!ny) return;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

static void take_line(const char *line, log_series *all, size_t n_all, size_t *bad)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *step = o ? cJSON_GetObjectItemCaseSensitive(o, "step") : NULL;
    const cJSON *phase = o ? cJSON_GetObjectItemCaseSensitive(o, "phase") : NULL;
    if (!cJSON_IsNumber(step) || !cJSON_IsString(phase)) {
        (*bad)++;
        cJSON_Delete(o);
        return;
    }
    for (size_t i = 0; i < n_all; i++) {
        if (strcmp(all[i].phase, phase->valuestring) != 0) continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, all[i].key);
        if (cJSON_IsNumber(v)) series_add(&all[i], step->valuedouble, v->valuedouble);
    }
    cJSON_Delete(o);
}

static char *log_path_of(const char *run)
{
    struct stat st;
    char *p = malloc(strlen(run) + 16);
    if (!p) return NULL;
    if (stat(run, &st) == 0 && S_ISDIR(st.st_mode)) sprintf(p, "%s/log.jsonl", run);
    else strcpy(p, run);
    return p;
}

static int read_log(const char *path, log_series *all, size_t n_all)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        cli_error("%s: cannot open the training log", path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0, bad = 0;
    while (getline(&line, &cap, fp) > 0) take_line(line, all, n_all, &bad);
    free(line);
    fclose(fp);
    if (bad) cli_warn("%s: %zu lines are not log records and were skipped", path, bad);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* plot --table: curves from a TSV file whose first line names the columns.
 * Rows with the same value in the column "series" (if any) form one series,
 * in file order; the column "label" (if any) labels each point; columns
 * NAME_lo and NAME_hi, when present, draw error bars for column NAME. A cell
 * that is not a number (empty, "nan") leaves the point out. */

typedef struct {
    char **cols;        /* header names */
    int n_cols;
    char ***cells;      /* [row][col], strings owned */
    size_t n_rows;
} tsv_table;

static void tsv_free(tsv_table *t)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) free(t->cells[r][c]);
        free(t->cells[r]);
    }
    for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
    free(t->cells);
    free(t->cols);
}

/* The fields of a line (tab-separated, newline dropped), at most max. */
static int split_tabs(char *line, char **out, int max)
{
    line[strcspn(line, "\r\n")] = 0;
    int n = 0;
    for (char *p = line; n < max;) {
        out[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    return n;
}

enum { TSV_MAX_COLS = 256 };

static int tsv_read(const char *path, tsv_table *t)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        cli_error("plot: %s: cannot open the table", path);
        return 1;
    }
    char *line = NULL, *f[TSV_MAX_COLS];
    size_t cap = 0, row_cap = 0, lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, fp) > 0) {
        lineno++;
        int n = split_tabs(line, f, TSV_MAX_COLS);
        if (lineno == 1) {
            t->cols = calloc((size_t)n, sizeof *t->cols);
            for (int c = 0; t->cols && c < n; c++) t->cols[c] = strdup(f[c]);
            t->n_cols = t->cols ? n : 0;
            continue;
        }
        if (n == 1 && !f[0][0]) continue; /* a blank line */
        if (n != t->n_cols) {
            cli_error("plot: %s:%zu: %d fields, the header has %d", path, lineno, n, t->n_cols);
            rc = 1;
        } else if (tg_grow((void **)&t->cells, &row_cap, t->n_rows + 1, sizeof *t->cells) == TG_OK &&
                   (t->cells[t->n_rows] = calloc((size_t)n, sizeof(char *)))) {
            for (int c = 0; c < n; c++) t->cells[t->n_rows][c] = strdup(f[c]);
            t->n_rows++;
        } else {
            cli_error("plot: %s: out of memory", path);
            rc = 1;
        }
    }
    free(line);
    fclose(fp);
    if (rc == 0 && t->n_rows == 0) {
        cli_error("plot: %s: no rows under the header", path);
        rc = 1;
    }
    return rc;
}

static int tsv_col(const tsv_table *t, const char *name)
{
    for (int c = 0; c < t->n_cols; c++)
        if (strcmp(t->cols[c], name) == 0) return c;
    return -1;
}

static int tsv_col_suffix(const tsv_table *t, const char *name, const char *suffix)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", name, suffix);
    return tsv_col(t, buf);
}

static double cell_num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == 0 ? v : NAN;
}

/* Columns of one series' rows as numbers; NULL arrays where the column is absent. */
typedef struct {
    double *v[6];         /* x, y, x_lo, x_hi, y_lo, y_hi */
    const char **labels;
    size_t n;
} table_series;

static int fill_series(const tsv_table *t, const int col[6], int label_col, int series_col, const char *name,
                       table_series *s)
{
    memset(s, 0, sizeof *s);
    for (int k = 0; k < 6; k++)
        if (col[k] >= 0 && !(s->v[k] = malloc(t->n_rows * sizeof(double)))) return 1;
    if (label_col >= 0 && !(s->labels = malloc(t->n_rows * sizeof *s->labels))) return 1;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (series_col >= 0 && strcmp(t->cells[r][series_col], name) != 0) continue;
        for (int k = 0; k < 6; k++)
            if (col[k] >= 0) s->v[k][s->n] = cell_num(t->cells[r][col[k]]);
        if (s->labels) s->labels[s->n] = t->cells[r][label_col];
        s->n++;
    }
    return 0;
}

static void free_series(table_series *s)
{
    for (int k = 0; k < 6; k++) free(s->v[k]);
    free(s->labels);
}

/* The distinct values of the series column in order of appearance (at most 8). */
static int series_names(const tsv_table *t, int series_col, const char *names[8], int *n)
{
    *n = 0;
    if (series_col < 0) {
        names[(*n)++] = "";
        return 0;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *v = t->cells[r][series_col];
        int seen = 0;
        for (int i = 0; i < *n; i++) seen |= strcmp(names[i], v) == 0;
        if (seen) continue;
        if (*n == 8) {
            cli_error("plot: more than 8 values in the column 'series' (a chart draws at most 8)");
            return 1;
        }
        names[(*n)++] = v;
    }
    return 0;
}

static int plot_table(const char *path, const char *x_name, const char *y_names, const char *out)
{
    tsv_table t;
    if (tsv_read(path, &t)) {
        tsv_free(&t);
        return 1;
    }
    char ys[1024], *y_list[8];
    snprintf(ys, sizeof ys, "%s", y_names);
    int n_y = 0;
    for (char *tok = strtok(ys, ","); tok && n_y < 8; tok = strtok(NULL, ",")) y_list[n_y++] = tok;
    int rc = 0, xc = tsv_col(&t, x_name), sc = tsv_col(&t, "series"), lc = tsv_col(&t, "label"), n_s = 0;
    const char *names[8];
    if (xc < 0) cli_error("plot: %s has no column '%s'", path, x_name), rc = 1;
    for (int i = 0; rc == 0 && i < n_y; i++)
        if (tsv_col(&t, y_list[i]) < 0) cli_error("plot: %s has no column '%s'", path, y_list[i]), rc = 1;
    if (rc == 0) rc = series_names(&t, sc, names, &n_s);
    table_series ts[8][8];
    memset(ts, 0, sizeof ts);
    plot_panel panels[8];
    for (int i = 0; rc == 0 && i < n_y; i++) {
        panels[i] = (plot_panel){.title = y_list[i], .y_label = NULL, .n_series = n_s};
        const int col[6] = {xc, tsv_col(&t, y_list[i]), tsv_col_suffix(&t, x_name, "_lo"),
                            tsv_col_suffix(&t, x_name, "_hi"), tsv_col_suffix(&t, y_list[i], "_lo"),
                            tsv_col_suffix(&t, y_list[i], "_hi")};
        for (int k = 0; rc == 0 && k < n_s; k++) {
            table_series *s = &ts[i][k];
            if (fill_series(&t, col, lc, sc, names[k], s)) cli_error("plot: out of memory"), rc = 1;
            panels[i].series[k] = (plot_series){names[k], s->v[0], s->v[1], s->n, s->v[2], s->v[3], s->v[4],
                                                s->v[5], s->labels};
        }
    }
    char err[512] = "";
    if (rc == 0 && render_plot_png(panels, n_y, x_name, out, err, sizeof err) != TG_OK)
        cli_error("%s", err), rc = 1;
    if (rc == 0) printf("wrote %s\n", out);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8; k++) free_series(&ts[i][k]);
    tsv_free(&t);
    return rc;
}

int cli_plot(int argc, char **argv)
{
    const char *out = NULL, *table = NULL, *x_col = NULL, *y_cols = NULL;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "FILE.png", "where to write (default RUN_DIR/curves.png)", 0, 0},
        {"table", 0, CLI_STRING, &table, "FILE.tsv", "draw columns of a TSV file instead of a training log", 0, 0},
        {"x", 0, CLI_STRING, &x_col, "COL", "--table: the column on the x axis", 0, 0},
        {"y", 0, CLI_STRING, &y_cols, "COL,...", "--table: a panel per column (at most 8)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {
        "plot", "[options] RUN_DIR|log.jsonl | --table FILE.tsv --x COL --y COL,... -o FILE.png",
        "Draws the training curves of a run (log.jsonl) as a PNG picture, or with --table\n"
        "columns of a TSV file (header line first): a panel per --y column against --x,\n"
        "one series per value of a 'series' column, points named by a 'label' column,\n"
        "error bars from COL_lo and COL_hi columns where present."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (table) {
        if (n_pos || !x_col || !y_cols || !out) {
            cli_error("plot: --table needs --x COL, --y COL,... and -o FILE.png, and no run folder");
            return 1;
        }
        return plot_table(table, x_col, y_cols, out);
    }
    if (n_pos != 1) {
        cli_error("plot: expected a run folder or a log.jsonl file (see 'tunegan plot --help')");
        return 1;
    }
    log_series all[] = {
        {"mle", "loss", "train loss", NULL, NULL, 0, 0},
        {"eval", "val_nll", "validation NLL", NULL, NULL, 0, 0},
        {"disc", "d_loss", "D loss", NULL, NULL, 0, 0},
        {"disc", "d_acc", "D accuracy", NULL, NULL, 0, 0},
        /* before D's update on a fresh set (--d-band) or the critic's refit (--reward critic) */
        {"disc", "acc_fresh", "fresh-set accuracy", NULL, NULL, 0, 0},
        {"adv", "reward_mean", "mean reward", NULL, NULL, 0, 0},
        {"adv", "entropy", "entropy", NULL, NULL, 0, 0},
    };
    char *log_path = log_path_of(pos[0]);
    int rc = log_path ? read_log(log_path, all, TG_ARRAY_LEN(all)) : 1;
    plot_panel panels[3];
    int np = 0;
    const struct { size_t a, b; const char *title, *unit; } groups[] = {
        {0, 1, "Maximum likelihood", "nats per token"},
        {2, 4, "Discriminator", "BCE loss / accuracy"},
        {5, 6, "Adversarial training", "reward / entropy"},
    };
    for (size_t g = 0; rc == 0 && g < TG_ARRAY_LEN(groups); g++) {
        plot_panel p = {groups[g].title, groups[g].unit, {{0}}, 0};
        for (size_t k = groups[g].a; k <= groups[g].b; k++)
            if (all[k].n)
                p.series[p.n_series++] = (plot_series){.name = all[k].label, .x = all[k].x, .y = all[k].y, .n = all[k].n};
        if (p.n_series) panels[np++] = p;
    }
    if (rc == 0 && np == 0) {
        cli_error("%s: no training records to plot", log_path);
        rc = 1;
    }
    char *png = NULL;
    if (rc == 0) {
        png = out ? strdup(out) : malloc(strlen(pos[0]) + 16);
        if (!out && png) {
            struct stat st;
            if (stat(pos[0], &st) == 0 && S_ISDIR(st.st_mode)) sprintf(png, "%s/curves.png", pos[0]);
            else sprintf(png, "curves.png");
        }
        char err[512] = "";
        if (render_plot_png(panels, np, "step", png, err, sizeof err) != TG_OK) {
            cli_error("%s", err);
            rc = 1;
        } else {
            printf("wrote %s\n", png);
        }
    }
    for (size_t k = 0; k < TG_ARRAY_LEN(all); k++) free(all[k].x), free(all[k].y);
    free(png);
    free(log_path);
    return rc;
}
