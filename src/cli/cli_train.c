/*
 * cli_train.c: `tunegan train`: adversarial training of a pretrained
 * generator against a Transformer discriminator with SeqGAN's policy
 * gradients (src/train/seqgan.c), with a line per phase on stderr, Ctrl-C
 * that stops at the next checkpoint (after the current phase), and --resume.
 * Under mpirun every rank runs this (data parallel, src/train/seqgan_dist.c):
 * rank 0 picks the seed and alone prints; an error is printed by the rank
 * that met it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dist/dist.h"
#include "train/train.h"

static const char train_summary[] =
    "Trains a pretrained generator (--init, a `tunegan pretrain` run) adversarially, as\n"
    "SeqGAN: the discriminator (a Transformer encoder) is pre-trained on samples of the\n"
    "generator against the openings of real pieces, then each round makes --g-steps\n"
    "policy-gradient updates of the generator (reward: the discriminator's probability\n"
    "\"real\"; prefixes valued by --rollouts Monte-Carlo completions of a delayed copy of\n"
    "the generator, every --rollout-every tokens; or, with --reward dense, by a causal\n"
    "discriminator at every token; --reward bar reads it at the last token of every bar\n"
    "and gives that to the bar's tokens; --reward constant is the control without any,\n"
    "--reward random the dense values shuffled over the batch; --reward critic values\n"
    "every prefix by an n-gram critic refitted on every d-step's set, critic-random\n"
    "shuffles its values), with a KL penalty to the pretrained model, an entropy bonus\n"
    "and --mle-mix teacher-forced steps, then --d-steps of fresh negatives with\n"
    "--d-epochs of discriminator training each. Dense, bar, random and critic rewards\n"
    "can be shaped (2p-1), discounted (--discount: a token's return sums\n"
    "its own and the later rewards), measured against a moving-average --baseline, and\n"
    "reused for --ppo-epochs clipped updates; --d-band keeps the discriminator's accuracy\n"
    "in a band; --disc-init generator starts a causal discriminator as a copy of the\n"
    "generator. --explore-temperature T < 1 samples the policy-gradient batch from the\n"
    "generator's softmax at temperature T and weighs each token by the importance weight\n"
    "p/p_T, truncated at --is-clip (ColdGANs). A checkpoint follows every phase; --resume\n"
    "continues bit for bit.";

static void show_line(void *user, const char *line)
{
    cli_train_view_line(user, line);
}

int cli_train(int argc, char **argv)
{
    adv_options o = adv_options_default();
    const char *reward = "rollout", *disc_preset = "tiny", *disc_attention = "relative", *shaping = "prob",
               *baseline = "batch", *d_band = NULL, *disc_init = "scratch";
    double discount = o.discount, baseline_decay = o.baseline_decay, ppo_clip = o.ppo_clip,
           label_smooth = o.label_smooth, explore_temperature = o.explore_temperature, is_clip = o.is_clip;
    int disc_d_model = -1, disc_layers = -1, disc_heads = -1, threads = 0;
    double rollout_update = o.rollout_update, kl = o.kl, entropy = o.entropy, lr_g = o.lr_g, lr_d = o.lr_d,
           clip = o.clip, disc_dropout = -1;
    uint64_t seed = 0;
    bool resume = false;
    const char *precision = cli_precision_default();
    const cli_opt opts[] = {
        {"corpus", 'c', CLI_STRING, &o.corpus_path, "CORPUS", "corpus file from `tunegan data build` (required)", 0, 0},
        {"output", 'o', CLI_STRING, &o.run_dir, "RUN_DIR", "run folder for checkpoints and log (required)", 0, 0},
        {"init", 0, CLI_STRING, &o.init_path, "PRETRAIN_RUN", "pretrain run folder (or checkpoint) the generator starts from (required unless --resume)", 0, 0},
        {"rounds", 0, CLI_INT, &o.rounds, "N", "adversarial rounds", 1, 100000000},
        {"g-steps", 0, CLI_INT, &o.g_steps, "N", "policy-gradient updates of the generator per round", 1, 100000000},
        {"d-steps", 0, CLI_INT, &o.d_steps, "N", "sets of fresh negatives per round", 0, 100000000},
        {"d-epochs", 0, CLI_INT, &o.d_epochs, "N", "epochs of discriminator training on each set", 1, 100000},
        {"d-pretrain", 0, CLI_INT, &o.d_pretrain, "N", "d-steps of discriminator pre-training before round 1", 0, 100000000},
        {"d-samples", 0, CLI_INT, &o.d_samples, "N", "negatives (and as many real openings) per d-step", 1, 10000000},
        {"critic-memory", 0, CLI_INT, &o.critic_memory, "N",
         "with --reward critic(-random): each fit also reads the N latest generated sequences (the g-steps' batches "
         "and earlier d-steps' negatives) against as many more real openings", 0, 1000000},
        {"rollouts", 0, CLI_INT, &o.rollouts, "N", "Monte-Carlo rollouts per prefix", 1, 4096},
        {"rollout-update", 0, CLI_DOUBLE, &rollout_update, "R", "rollout policy <- R rollout + (1-R) generator after each round", 0, 1},
        {"rollout-every", 0, CLI_INT, &o.rollout_every, "K", "estimate every K-th prefix; the others take the next estimate", 1, 1000000},
        {"kl", 0, CLI_DOUBLE, &kl, "X", "weight of the KL penalty to the pretrained generator", 0, 1e6},
        {"entropy", 0, CLI_DOUBLE, &entropy, "X", "weight of the entropy bonus", 0, 1e6},
        {"mle-mix", 0, CLI_INT, &o.mle_mix, "N", "teacher-forced MLE steps after each policy-gradient step", 0, 100000},
        {"reward", 0, CLI_STRING, &reward, "KIND",
         "rollout, dense (causal discriminator at every token), bar (the same at the end of every bar), constant or "
         "random (controls: none; the dense values shuffled), critic (an n-gram critic refitted from zero on every "
         "d-step's set values every prefix; no Transformer discriminator) or critic-random (its values shuffled)", 0, 0},
        {"reward-shaping", 0, CLI_STRING, &shaping, "S", "prob (r = p, the default), centered (r = 2p - 1, ScratchGAN) or zero-mean (r = p - the batch's mean: no reward for a sequence's length)", 0, 0},
        {"discount", 0, CLI_DOUBLE, &discount, "G", "gamma: a token's (bar's) return is the sum of gamma^k times the k-th next reward (0: its own)", 0, 1},
        {"baseline", 0, CLI_STRING, &baseline, "KIND", "batch (the batch mean at each position) or ema (its moving average per position)", 0, 0},
        {"baseline-decay", 0, CLI_DOUBLE, &baseline_decay, "D", "decay of the ema baseline", 0, 0.9999},
        {"ppo-epochs", 0, CLI_INT, &o.ppo_epochs, "K", "updates of the generator per batch of samples, with the ratio pi/pi_old (1: REINFORCE)", 1, 1000},
        {"ppo-clip", 0, CLI_DOUBLE, &ppo_clip, "EPS", "clip of the ratio to [1-EPS, 1+EPS] (0: none)", 0, 0.99},
        {"explore-temperature", 0, CLI_DOUBLE, &explore_temperature, "T",
         "sample the policy-gradient batch at temperature T in (0,1] and weigh each token by p/p_T "
         "(ColdGANs; 1: the generator's own samples, no weights)", 0, 1},
        {"is-clip", 0, CLI_DOUBLE, &is_clip, "C", "truncate those importance weights at C > 0", 0, 1e6},
        {"d-band", 0, CLI_STRING, &d_band, "LO,HI", "no discriminator update on a fresh set it already tells apart above HI; more epochs below LO (default 0,1: off)", 0, 0},
        {"label-smooth", 0, CLI_DOUBLE, &label_smooth, "S", "the discriminator's targets: 1-S (real) and S (generated)", 0, 0.49},
        {"disc-init", 0, CLI_STRING, &disc_init, "FROM",
         "scratch, or generator: a causal discriminator (dense, bar, random) starts as a copy of the generator "
         "(its shape and weights; --disc-dropout applies)", 0, 0},
        {"disc-preset", 0, CLI_STRING, &disc_preset, "NAME", "discriminator size: tiny, small or base", 0, 0},
        {"disc-attention", 0, CLI_STRING, &disc_attention, "KIND",
         "discriminator attention: relative, absolute or fc (bar attention; causal D only: dense, bar, random)", 0, 0},
        {"disc-d-model", 0, CLI_SIZE, &disc_d_model, "N", "discriminator width (-1: the preset's)", -1, 8192},
        {"disc-layers", 0, CLI_SIZE, &disc_layers, "N", "discriminator blocks (-1: the preset's)", -1, 128},
        {"disc-heads", 0, CLI_SIZE, &disc_heads, "N", "discriminator heads (-1: the preset's)", -1, 128},
        {"disc-dropout", 0, CLI_DOUBLE, &disc_dropout, "P", "discriminator dropout (-1: 0.1)", -1, 0.95},
        {"batch", 'b', CLI_INT, &o.batch, "N", "sequences per generator and discriminator step", 1, 4096},
        {"seq-len", 0, CLI_INT, &o.seq_len, "T", "tokens per sequence after BOS (at most the generator's context)", 1, 65536},
        {"lr-g", 0, CLI_DOUBLE, &lr_g, "X", "generator learning rate (constant)", 1e-12, 10},
        {"lr-d", 0, CLI_DOUBLE, &lr_d, "X", "discriminator learning rate (constant)", 1e-12, 10},
        {"clip", 0, CLI_DOUBLE, &clip, "X", "global gradient-norm clip of both (0: off)", 0, 1e6},
        {"eval-windows", 0, CLI_INT, &o.eval_max_windows, "N", "validation windows per evaluation (0: the whole split)", 0, 100000000},
        {"seed", 0, CLI_U64, &seed, "S", "random seed (default: from the clock, printed)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores, shared by the ranks on a host)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
        {"resume", 'r', CLI_FLAG, &resume, NULL, "continue the run in RUN_DIR (same flags) bit for bit", 0, 0},
        {"stop-after", 0, CLI_INT, &o.stop_after, "N", "stop after phase N with its checkpoint, as if interrupted (0: off)", 0, 100000000},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"train", "--corpus CORPUS -o RUN_DIR --init PRETRAIN_RUN [options]", train_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    bool seed_given = cli_given(argc, argv, "seed", 0);
    if (!o.corpus_path || !o.run_dir) {
        cli_error("train: --corpus and -o RUN_DIR are required (see tunegan train --help)");
        return 1;
    }
    if (!resume && !o.init_path) {
        cli_error("train: --init PRETRAIN_RUN is required: the generator starts from a `tunegan pretrain` run");
        return 1;
    }
    if (adv_reward_parse(reward, &o.reward) != TG_OK) {
        cli_error("train: --reward must be rollout, dense, bar, constant, random, critic or critic-random, got '%s'", reward);
        return 1;
    }
    if (strcmp(disc_init, "scratch") != 0 && strcmp(disc_init, "generator") != 0) {
        cli_error("train: --disc-init must be scratch or generator, got '%s'", disc_init);
        return 1;
    }
    o.disc_from_generator = strcmp(disc_init, "generator") == 0;
    if (o.disc_from_generator && (strcmp(disc_preset, "tiny") != 0 || strcmp(disc_attention, "relative") != 0 ||
                                  disc_d_model > 0 || disc_layers > 0 || disc_heads > 0)) {
        cli_error("train: --disc-init generator takes the generator's shape and attention: leave out --disc-preset, "
                  "--disc-attention, --disc-d-model, --disc-layers and --disc-heads");
        return 1;
    }
    if (model_config_preset(disc_preset, &o.disc) != TG_OK) {
        cli_error("train: unknown --disc-preset '%s' (tiny, small or base)", disc_preset);
        return 1;
    }
    if (model_attention_parse(disc_attention, &o.disc.attention) != TG_OK) {
        cli_error("train: --disc-attention must be relative, absolute or fc, got '%s'", disc_attention);
        return 1;
    }
    if (adv_shaping_parse(shaping, &o.shaping) != TG_OK) {
        cli_error("train: --reward-shaping must be prob, centered or zero-mean, got '%s'", shaping);
        return 1;
    }
    if (adv_baseline_parse(baseline, &o.baseline) != TG_OK) {
        cli_error("train: --baseline must be batch or ema, got '%s'", baseline);
        return 1;
    }
    if (d_band) {
        char *end = NULL;
        double lo = strtod(d_band, &end), hi = -1;
        if (end != d_band && *end == ',') hi = strtod(end + 1, &end);
        if (*end != '\0' || !(lo >= 0 && lo <= hi && hi <= 1)) {
            cli_error("train: --d-band must be LO,HI with 0 <= LO <= HI <= 1, got '%s'", d_band);
            return 1;
        }
        o.d_band_lo = (float)lo;
        o.d_band_hi = (float)hi;
    }
    o.discount = (float)discount;
    o.baseline_decay = (float)baseline_decay;
    o.ppo_clip = (float)ppo_clip;
    o.label_smooth = (float)label_smooth;
    o.explore_temperature = (float)explore_temperature;
    o.is_clip = (float)is_clip;
    if (disc_d_model > 0) o.disc.d_model = disc_d_model;
    if (disc_layers > 0) o.disc.n_layers = disc_layers;
    if (disc_heads > 0) o.disc.n_heads = disc_heads;
    if (disc_dropout >= 0) o.disc.dropout = (float)disc_dropout;
    o.rollout_update = (float)rollout_update;
    o.kl = (float)kl;
    o.entropy = (float)entropy;
    o.lr_g = (float)lr_g;
    o.lr_d = (float)lr_d;
    o.clip = (float)clip;
    o.resume = resume;
    o.seed = seed_given ? seed : (uint64_t)time(NULL);
    dist_ctx *dist = cli_dist_start("train", &argc, &argv, &o.seed, threads);
    if (!dist) return 1;
    if (cli_precision_start("train", precision, dist_is_root(dist))) {
        dist_finalize(dist); /* a bad --precision: the ranks end together */
        return 1;
    }
    char err[1024] = "";
    bool root = dist_is_root(dist);
    int ranks = dist_size(dist);
    cli_train_view view;
    cli_train_view_begin(&view, o.rounds, o.d_pretrain);
    if (root) {
        if (resume) fprintf(stderr, "tunegan: resuming: the run's random states come from its checkpoint\n");
        o.logger = cli_logger(); /* the other ranks train in silence */
        o.on_log = show_line;
        o.user = &view;
    }
    o.dist = dist;
    o.stop = cli_stop_on_sigint();
    adv_report rep;
    tg_status st = train_adv(&o, &rep, err, sizeof err);
    cli_stop_release();
    if (st != TG_OK) {
        /* with several ranks, err is set on the one rank that tells (seqgan_dist.c) */
        if (err[0] && !root) cli_error("train: rank %d: %s", dist_rank(dist), err);
        else if (err[0]) cli_error("train: %s", err);
        else if (ranks == 1) cli_error("train: %s", tg_status_str(st));
        dist_finalize(dist);
        return 1;
    }
    dist_finalize(dist);
    if (!root) return 0;
    const bool critic = adv_reward_critic(o.reward);
    printf("%s after phase %d of %d (%d round%s): %s accuracy %.3f, reward %.4f, validation NLL %.4f (start %.4f)\n",
           rep.interrupted ? "stopped" : "finished", rep.phases_done, rep.phases_total, rep.rounds_done,
           rep.rounds_done == 1 ? "" : "s", critic ? "critic" : "D", rep.d_acc, rep.reward_mean, rep.val_nll,
           rep.val_nll_init);
    printf("checkpoints: %s/model.safetensors (generator), %s, rollout.safetensors; log: %s/log.jsonl\n", o.run_dir,
           critic ? "critic.safetensors" : "disc.safetensors", o.run_dir);
    return 0;
}
