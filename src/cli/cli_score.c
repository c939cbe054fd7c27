/*
 * cli_score.c: `tunegan score --model RUN_DIR FILE.mid...`: the realism score
 * of each file by the discriminator of an adversarial run (disc.safetensors):
 * the file is tokenized with the run's tokenizer and cut into consecutive
 * windows of the discriminator's length (BOS and the next T tokens, as in
 * training); the probability "real" of each window is printed as mean, min
 * and max, with the first window's apart: D was trained on the openings of
 * pieces, so the opening's score is the one closest to its training.
 * Loading and scoring are the run object's (src/run/realism.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/model.h"
#include "run/run.h"
#include "tok/tok.h"

static const char score_summary[] =
    "Prints the discriminator's probability that each MIDI file is real music: the file\n"
    "is tokenized with the run's tokenizer and cut into windows of the discriminator's\n"
    "length (each given BOS first, as in training); mean, min and max over the windows,\n"
    "and the first window's (the discriminator was trained on the openings of pieces).\n"
    "RUN_DIR is the folder of `tunegan train` (it holds disc.safetensors).";

int cli_score(int argc, char **argv)
{
    const char *run = NULL;
    int threads = 0;
    const char *precision = cli_precision_default();
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &run, "RUN_DIR", "folder of an adversarial run (required)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
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
    if (cli_precision_start("score", precision, true)) return 1;
    tg_run *rn = NULL;
    char err[1024] = "";
    if (run_open_disc(run, 16, &rn, err, sizeof err) != TG_OK) {
        cli_error("score: %s", err);
        return 1;
    }
    tok_tokenizer *tok = run_tokenizer(rn);
    int rc = 0;
    printf("# file\tmean\tmin\tmax\tfirst\twindows (of %d tokens)\n",
           model_get_config(run_discriminator(rn))->context);
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
        run_realism res;
        st = run_realism_of(rn, seq.ids, seq.n, &res);
        tok_seq_free(&seq);
        if (st != TG_OK) {
            cli_error("%s: %s", pos[i], st == TG_ERR_ARG ? "no notes to score" : "out of memory");
            rc = 1;
            continue;
        }
        printf("%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\n", pos[i], res.mean, res.min, res.max, res.first, res.windows);
    }
    tg_run_free(rn);
    return rc;
}
