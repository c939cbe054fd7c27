/*
 * cli_pretrain.c: `tunegan pretrain`: maximum-likelihood training of the
 * generator on a corpus (src/train/mle.c), with a progress line, Ctrl-C that
 * saves and exits cleanly, and --resume. Under mpirun every rank runs this
 * (data parallel, src/dist/dist.h): rank 0 picks the seed and alone prints
 * progress; an error is printed by the rank that met it.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dist/dist.h"
#include "train/train.h"

typedef struct {
    double t0;
    bool tty;
    int last_plain;
    int first_step;      /* the first step this process ran (-1 before it) */
} pretrain_view;

static void show_step(void *user, int step, int steps, float loss, float tok_per_s)
{
    pretrain_view *v = user;
    double el = tg_now_sec() - v->t0;
    if (v->first_step < 0) v->first_step = step;
    double per = el / (step - v->first_step + 1);
    long left = (long)(per * (steps - step));
    if (v->tty) {
        fprintf(stderr, "\rstep %d/%d  loss %.4f  %.0f tok/s  %ld:%02ld left\033[K", step, steps, loss,
                tok_per_s, left / 60, left % 60);
    } else if (step == steps || step - v->last_plain >= (steps + 19) / 20) {
        fprintf(stderr, "step %d/%d  loss %.4f  %.0f tok/s  %ld:%02ld left\n", step, steps, loss, tok_per_s,
                left / 60, left % 60);
        v->last_plain = step;
    }
    fflush(stderr);
}

static void show_eval(void *user, int step, double nll)
{
    pretrain_view *v = user;
    fprintf(stderr, "%sstep %d: validation NLL %.4f nats/token (perplexity %.2f)\n", v->tty ? "\r\033[K" : "", step,
            nll, exp(nll));
}

int cli_pretrain(int argc, char **argv)
{
    train_options o = train_options_default();
    const char *preset = "small", *attention = "relative", *fc_distances = MODEL_FC_DISTANCES_DEFAULT;
    int d_model = -1, layers = -1, heads = -1, context = -1, ff_mult = -1, threads = 0;
    double dropout = -1, lr = o.lr, wd = o.weight_decay, clip = o.clip;
    uint64_t seed = 0;
    bool seed_given = false, resume = false;
    o.seed = 0;
    const char *precision = cli_precision_default();
    const cli_opt opts[] = {
        {"corpus", 'c', CLI_STRING, &o.corpus_path, "CORPUS", "corpus file from `tunegan data build` (required)", 0, 0},
        {"output", 'o', CLI_STRING, &o.run_dir, "RUN_DIR", "run folder for checkpoints and log (required)", 0, 0},
        {"preset", 'p', CLI_STRING, &preset, "NAME", "model size: tiny, small or base", 0, 0},
        {"attention", 0, CLI_STRING, &attention, "KIND", "relative (Music Transformer), absolute positions, or fc (Museformer's bar attention; needs Bar tokens)", 0, 0},
        {"fc-distances", 0, CLI_STRING, &fc_distances, "LIST", "fc: bar distances a token sees in full, comma-separated", 0, 0},
        {"d-model", 0, CLI_SIZE, &d_model, "N", "model width (-1: the preset's)", -1, 8192},
        {"layers", 0, CLI_SIZE, &layers, "N", "Transformer blocks (-1: the preset's)", -1, 128},
        {"heads", 0, CLI_SIZE, &heads, "N", "attention heads (-1: the preset's)", -1, 128},
        {"context", 0, CLI_SIZE, &context, "N", "tokens per training window (-1: the preset's)", -1, 65536},
        {"ff-mult", 0, CLI_SIZE, &ff_mult, "N", "feed-forward width as a multiple of d-model (-1: 4)", -1, 64},
        {"dropout", 0, CLI_DOUBLE, &dropout, "P", "dropout probability (-1: 0.1)", -1, 0.95},
        {"batch", 'b', CLI_INT, &o.batch, "N", "sequences per step", 1, 4096},
        {"steps", 's', CLI_INT, &o.steps, "N", "optimizer steps of the whole run", 1, 100000000},
        {"lr", 0, CLI_DOUBLE, &lr, "X", "peak learning rate", 1e-9, 10},
        {"warmup", 0, CLI_INT, &o.warmup, "N", "warm-up steps before the cosine decay", 0, 100000000},
        {"weight-decay", 0, CLI_DOUBLE, &wd, "X", "AdamW decoupled weight decay (weights of linear layers)", 0, 10},
        {"clip", 0, CLI_DOUBLE, &clip, "X", "global gradient-norm clip (0: off)", 0, 1e6},
        {"eval-every", 0, CLI_INT, &o.eval_every, "N", "steps between validation passes and checkpoints", 1, 100000000},
        {"eval-windows", 0, CLI_INT, &o.eval_max_windows, "N", "validation windows per pass (0: the whole split)", 0, 100000000},
        {"seed", 0, CLI_U64, &seed, "S", "random seed (default: from the clock, printed)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores, shared by the ranks on a host)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
        {"resume", 'r', CLI_FLAG, &resume, NULL, "continue the run in RUN_DIR (same flags) bit for bit", 0, 0},
        {"stop-at", 0, CLI_INT, &o.stop_at, "N", "stop after step N with a checkpoint, as if interrupted (0: off)", 0, 100000000},
        {"init", 0, CLI_STRING, &o.init_from, "CKPT", "start from this checkpoint's weights", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"pretrain", "--corpus CORPUS -o RUN_DIR [options]",
                                   "Trains the generator by maximum likelihood (teacher forcing)."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    seed_given = cli_given(argc, argv, "seed", 0);
    if (!o.corpus_path || !o.run_dir) {
        cli_error("pretrain: --corpus and -o RUN_DIR are required (see tunegan pretrain --help)");
        return 1;
    }
    if (model_config_preset(preset, &o.model) != TG_OK) {
        cli_error("pretrain: unknown preset '%s' (tiny, small or base)", preset);
        return 1;
    }
    if (model_attention_parse(attention, &o.model.attention) != TG_OK) {
        cli_error("pretrain: --attention must be relative, absolute or fc, got '%s'", attention);
        return 1;
    }
    char why[256];
    if (model_fc_distances_parse(fc_distances, &o.model.fc_distances, why, sizeof why) != TG_OK) {
        cli_error("pretrain: --fc-distances: %s (see tunegan pretrain --help)", why);
        return 1;
    }
    if (d_model > 0) o.model.d_model = d_model;
    if (layers > 0) o.model.n_layers = layers;
    if (heads > 0) o.model.n_heads = heads;
    if (context > 0) o.model.context = context;
    if (ff_mult > 0) o.model.ff_mult = ff_mult;
    if (dropout >= 0) o.model.dropout = (float)dropout;
    o.lr = (float)lr;
    o.weight_decay = (float)wd;
    o.clip = (float)clip;
    o.resume = resume;
    o.seed = seed_given ? seed : (uint64_t)time(NULL);
    dist_ctx *dist = cli_dist_start("pretrain", &argc, &argv, &o.seed, threads);
    if (!dist) return 1;
    if (cli_precision_start("pretrain", precision, dist_is_root(dist))) {
        dist_finalize(dist); /* a bad --precision: the ranks end together */
        return 1;
    }
    char err[1024] = "";
    bool root = dist_is_root(dist);
    int ranks = dist_size(dist);
    if (root && resume && !seed_given)
        fprintf(stderr, "tunegan: resuming: the run's random states come from its checkpoint\n");

    pretrain_view view = {tg_now_sec(), cli_stderr_is_tty(), 0, -1};
    if (root) { /* the other ranks train in silence */
        o.logger = cli_logger();
        o.on_step = show_step;
        o.on_eval = show_eval;
        o.user = &view;
    }
    o.dist = dist;
    o.stop = cli_stop_on_sigint();
    train_report rep;
    tg_status st = train_mle(&o, &rep, err, sizeof err);
    cli_stop_release();
    if (view.tty && root) fputs("\r\033[K", stderr);
    if (st != TG_OK) {
        /* with several ranks, err is set on the one rank that tells (mle.c) */
        if (err[0] && !root) cli_error("rank %d: %s", dist_rank(dist), err);
        else if (err[0]) cli_error("%s", err);
        else if (ranks == 1) cli_error("%s", tg_status_str(st));
        dist_finalize(dist);
        return 1;
    }
    dist_finalize(dist);
    if (!root) return 0;
    printf("%s at step %d: train loss %.4f, validation NLL %.4f (unigram baseline %.4f), %.0f tok/s median\n",
           rep.interrupted ? "stopped" : "finished", rep.last_step, rep.final_loss, rep.val_nll, rep.unigram_nll,
           rep.tok_per_s);
    printf("checkpoint: %s/model.safetensors; log: %s/log.jsonl\n", o.run_dir, o.run_dir);
    return 0;
}
