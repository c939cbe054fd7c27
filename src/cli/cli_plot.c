/*
 * cli_plot.c: `tunegan plot RUN_DIR`: training curves from RUN_DIR/log.jsonl
 * (one JSON object per line, see `tunegan pretrain`): train loss and
 * validation NLL against steps; for adversarial runs also the discriminator's
 * loss and accuracy and the mean reward. Lines that are not valid JSON are
 * counted and reported, not fatal (a run may be writing its last line).
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
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

int cli_plot(int argc, char **argv)
{
    const char *out = NULL;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "FILE.png", "where to write (default RUN_DIR/curves.png)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"plot", "[options] RUN_DIR|log.jsonl",
                                   "Draws the training curves of a run (log.jsonl) as a PNG picture."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("plot: expected a run folder or a log.jsonl file (see 'tunegan plot --help')");
        return 1;
    }
    log_series all[] = {
        {"mle", "loss", "train loss", NULL, NULL, 0, 0},
        {"eval", "val_nll", "validation NLL", NULL, NULL, 0, 0},
        {"disc", "d_loss", "D loss", NULL, NULL, 0, 0},
        {"disc", "d_acc", "D accuracy", NULL, NULL, 0, 0},
        {"adv", "reward_mean", "mean reward", NULL, NULL, 0, 0},
        {"adv", "entropy", "entropy", NULL, NULL, 0, 0},
    };
    char *log_path = log_path_of(pos[0]);
    int rc = log_path ? read_log(log_path, all, TG_ARRAY_LEN(all)) : 1;
    plot_panel panels[3];
    int np = 0;
    const struct { size_t a, b; const char *title, *unit; } groups[] = {
        {0, 1, "Maximum likelihood", "nats per token"},
        {2, 3, "Discriminator", "BCE loss / accuracy"},
        {4, 5, "Adversarial training", "reward / entropy"},
    };
    for (size_t g = 0; rc == 0 && g < TG_ARRAY_LEN(groups); g++) {
        plot_panel p = {groups[g].title, groups[g].unit, {{0}}, 0};
        for (size_t k = groups[g].a; k <= groups[g].b; k++)
            if (all[k].n) p.series[p.n_series++] = (plot_series){all[k].label, all[k].x, all[k].y, all[k].n};
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
