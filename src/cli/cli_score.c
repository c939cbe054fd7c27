/*
 * cli_score.c: `tunegan score --model RUN_DIR FILE.mid...`: the realism score
 * of each file by the discriminator of an adversarial run (disc.safetensors):
 * the file is tokenized with the run's tokenizer and cut into consecutive
 * windows of the discriminator's length (BOS and the next T tokens, as in
 * training); the probability "real" of each window is printed as mean, min
 * and max, with the first window's apart: D was trained on the openings of
 * pieces, so the opening's score is the one closest to its training.
 * Also the helpers `generate --rerank` uses.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "model/model.h"
#include "tok/tok.h"
#include "train/train.h"

static const char score_summary[] =
    "Prints the discriminator's probability that each MIDI file is real music: the file\n"
    "is tokenized with the run's tokenizer and cut into windows of the discriminator's\n"
    "length (each given BOS first, as in training); mean, min and max over the windows,\n"
    "and the first window's (the discriminator was trained on the openings of pieces).\n"
    "RUN_DIR is the folder of `tunegan train` (it holds disc.safetensors).";

int cli_load_disc(const char *cmd, const char *run, tg_model **D, tok_tokenizer **tok)
{
    *D = NULL;
    *tok = NULL;
    char path[4200];
    struct stat st;
    if (stat(run, &st) != 0) {
        cli_error("%s: %s: no such run folder", cmd, run);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof path, "%s/disc.safetensors", run);
    } else { /* a file of the run folder: its neighbour */
        const char *slash = strrchr(run, '/');
        if (slash) snprintf(path, sizeof path, "%.*s/disc.safetensors", (int)(slash - run), run);
        else snprintf(path, sizeof path, "disc.safetensors");
    }
    if (stat(path, &st) != 0) {
        cli_error("%s: %s has no discriminator (%s): give the folder of an adversarial run (`tunegan train`)",
                  cmd, run, path);
        return 1;
    }
    char err[1024] = "";
    model_meta *meta = NULL;
    if (model_load(path, 16, D, &meta, err, sizeof err) != TG_OK) {
        cli_error("%s", err[0] ? err : path);
        return 1;
    }
    const char *spec = model_meta_get(meta, "tokenizer");
    const char *reward = model_meta_get(meta, "reward");
    int rc = 0;
    tok_config cfg;
    char why[160] = "";
    if (!reward) {
        cli_error("%s: not a discriminator of `tunegan train` (no \"reward\" in its metadata)", path);
        rc = 1;
    } else if (!spec || tok_config_parse(spec, &cfg, why, sizeof why) != TG_OK ||
               tok_create(&cfg, tok) != TG_OK) {
        cli_error("%s: cannot make its tokenizer '%s': %s", path, spec ? spec : "(none)", why);
        rc = 1;
    } else if (tok_vocab_size(*tok) != model_get_config(*D)->vocab_size) {
        cli_error("%s: its vocabulary (%d) is not its tokenizer's (%d)", path, model_get_config(*D)->vocab_size,
                  tok_vocab_size(*tok));
        rc = 1;
    }
    model_meta_free(meta);
    if (rc) {
        model_free(*D);
        tok_free(*tok);
        *D = NULL;
        *tok = NULL;
    }
    return rc;
}

int cli_disc_score(tg_model *D, const uint16_t *ids, size_t n, cli_disc_result *res)
{
    const int T = model_get_config(D)->context, MB = model_max_batch(D);
    memset(res, 0, sizeof *res);
    size_t body = n > 1 ? n - 1 : 0; /* tokens after BOS */
    int W = body ? (int)((body + T - 1) / T) : 0;
    if (W == 0) return 1;
    int *x = malloc((size_t)MB * (T + 1) * sizeof(int)), *lens = malloc((size_t)MB * sizeof(int));
    int *tmp = malloc((size_t)MB * T * sizeof(int));
    float *p = malloc((size_t)MB * sizeof(float));
    if (!x || !lens || !tmp || !p) {
        free(x), free(lens), free(tmp), free(p);
        return -1;
    }
    double sum = 0;
    res->min = 1;
    res->max = 0;
    for (int w0 = 0; w0 < W; w0 += MB) {
        int m = W - w0 < MB ? W - w0 : MB;
        for (int b = 0; b < m; b++) {
            int *row = x + (size_t)b * (T + 1);
            size_t start = 1 + (size_t)(w0 + b) * T;
            row[0] = TOK_BOS;
            bool ended = false;
            for (int t = 1; t <= T; t++) {
                size_t i = start + t - 1;
                int id = !ended && i < n ? ids[i] : TOK_PAD;
                if (id >= model_get_config(D)->vocab_size) id = TOK_PAD;
                row[t] = id;
                if (id == TOK_EOS) ended = true;
            }
        }
        adv_lengths(x, T + 1, m, T, lens);
        adv_disc_probs(D, x, T + 1, lens, m, T, p, tmp);
        for (int b = 0; b < m; b++) {
            sum += p[b];
            if (p[b] < res->min) res->min = p[b];
            if (p[b] > res->max) res->max = p[b];
            if (w0 + b == 0) res->first = p[b];
        }
    }
    res->mean = sum / W;
    res->windows = W;
    free(x), free(lens), free(tmp), free(p);
    return 0;
}

int cli_score(int argc, char **argv)
{
    const char *run = NULL;
    int threads = 0;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &run, "RUN_DIR", "folder of an adversarial run (required)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores)", 0, 1024},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"score", "--model RUN_DIR FILE.mid...", score_summary};
    const char *pos[4096];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 4096, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (!run || n_pos == 0) {
        cli_error("score: --model RUN_DIR and at least one MIDI file are required (see tunegan score --help)");
        return 1;
    }
    nn_set_threads(threads);
    tg_model *D = NULL;
    tok_tokenizer *tok = NULL;
    if (cli_load_disc("score", run, &D, &tok)) return 1;
    int rc = 0;
    printf("# file\tmean\tmin\tmax\tfirst\twindows (of %d tokens)\n", model_get_config(D)->context);
    for (int i = 0; i < n_pos; i++) {
        tg_score *s = NULL;
        if (cli_read_midi(pos[i], &s, NULL) != TG_OK) {
            rc = 1;
            continue;
        }
        tok_seq seq = {0};
        tg_status st = tok_encode(tok, s, &seq);
        tg_score_free(s);
        if (st != TG_OK) {
            cli_error("%s: cannot tokenize: %s", pos[i], tg_status_str(st));
            rc = 1;
            tok_seq_free(&seq);
            continue;
        }
        cli_disc_result res;
        int e = cli_disc_score(D, seq.ids, seq.n, &res);
        tok_seq_free(&seq);
        if (e) {
            cli_error("%s: %s", pos[i], e > 0 ? "no notes to score" : "out of memory");
            rc = 1;
            continue;
        }
        printf("%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\n", pos[i], res.mean, res.min, res.max, res.first, res.windows);
    }
    model_free(D);
    tok_free(tok);
    return rc;
}
