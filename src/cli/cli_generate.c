/*
 * cli_generate.c: `tunegan generate`: new pieces from a trained generator,
 * or continuations of a primer (Music Transformer's primer continuation),
 * through the run object (src/run: tg_run_generate, which hands each take
 * over as soon as its batch is decoded). Writes OUT_DIR/sample-000.mid,
 * sample-001.mid, ... (each under a temporary name, then renamed), and on
 * request a piano roll (--roll, the primer shaded) and audio (--render)
 * beside each. Prints the seed, where each sample went and tokens per second.
 * Samples are written as each batch of them is decoded, each file atomically;
 * a write error or an interrupt stops the command, which then says which files
 * it wrote (see "partial results" in generate_summary and the README).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "core/core.h"
#include "model/model.h"
#include "render/render.h"
#include "run/run.h"
#include "tok/tok.h"

static const char generate_summary[] =
    "Writes new music from a trained generator (a run folder or its model.safetensors),\n"
    "or continues a primer: its first --primer-bars bars are kept unchanged and the model\n"
    "goes on from the next bar line. Samples are decoded in batches with a key/value\n"
    "cache; past the model's context the window slides (the newest half is kept and\n"
    "encoded again), so --length is not limited by the context. Each step masks the\n"
    "tokens the tokenizer's grammar forbids (--no-grammar turns it off), then applies\n"
    "--temperature (0: greedy; --pitch-temperature apart for which pitch a note takes),\n"
    "--top-k and --top-p. A sample ends at EOS, after\n"
    "--length new tokens, or (remi) before its (--bars + 1)-th new bar; one stopped\n"
    "mid-note is cut back to its last complete note (perf: sounding notes are ended).\n"
    "The same --seed gives the same files; sample i draws from its own random stream.\n\n"
    "Partial results: samples are written as each batch is decoded, every file under a\n"
    "temporary name renamed when complete, so a file under its final name is whole.\n"
    "If a write fails, or the command is interrupted (Ctrl-C or SIGTERM stop it after\n"
    "the batch being decoded; a second one at once), the files already written stay,\n"
    "the command says which they are and exits non-zero (1; 130 or 143 interrupted).\n"
    "With --render the SoundFont is checked before the model is loaded, and with\n"
    "--roll that the build can draw: either missing, nothing is written.";

const char *cli_default_model(const char *cmd)
{
    const char *env = getenv("TUNEGAN_MODEL");
    const char *path = env && env[0] ? env : TG_DEFAULT_MODEL;
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error("%s: no --model given and %s %s is missing (%s); give --model RUN_DIR, or train one "
                  "with `tunegan pretrain` (experiments/default-model/ has the recipe of the bundled one)",
                  cmd, env && env[0] ? "$TUNEGAN_MODEL" : "the bundled model", path, strerror(errno));
        return NULL;
    }
    fprintf(stderr, "tunegan: no --model given: using %s%s\n", path,
            env && env[0] ? " ($TUNEGAN_MODEL)" : " (the bundled model; its card: models/default/README.md)");
    return path;
}

/* ------------------------------------------------------------------------ */
/* Output: samples become files as each batch finishes (on_take), each file
 * atomically; on a write error or an interrupt the command stops and says
 * which files it wrote. */

/* --render and --roll are checked before anything is sampled: a missing
 * SoundFont or a build without cairo writes nothing. Returns 0, or 1 after
 * printing the error. *sf_out: the SoundFont to use. */
static int check_extras(bool roll, bool render, const char *soundfont, const char **sf_out)
{
    *sf_out = NULL;
    if (roll && !strstr(tg_build_features(), "cairo")) {
        cli_error("generate: --roll needs cairo: install libcairo2-dev and rebuild");
        return 1;
    }
    if (!render) return 0;
    char err[512];
    if (render_check_soundfont(soundfont, sf_out, err, sizeof err) != TG_OK) {
        cli_error("generate --render: %s", err);
        return 1;
    }
    return 0;
}

/* SIGINT and SIGTERM: the first asks generate to stop after the batch being
 * decoded (its samples are written), a second ends the process at once. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    signal(sig, SIG_DFL);
}

static void catch_stop_signals(void)
{
    stop_signal = 0;
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
}

static void release_stop_signals(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

typedef struct {
    /* what to write */
    const char *dir;
    bool roll, render;
    const char *soundfont;           /* checked by check_extras */
    int num, rerank;
    bool lenient;                    /* --no-grammar */
    /* progress */
    bool tty, show_progress;
    bool failed;                     /* a file could not be written (the error is printed) */
    bool no_dir;                     /* the folder could not be made */
    int written;                     /* samples 0..written-1 have all their files */
    char partial[3][32];             /* files of sample `written` that are complete ("sample-003.mid") */
    int n_partial;
} sample_writer;

/* The file name of sample i with extension ext: "sample-007.mid". */
static void sample_name(char *buf, size_t len, int i, const char *ext)
{
    snprintf(buf, len, "sample-%03d.%s", i, ext);
}

static void sample_path(const sample_writer *w, char *buf, size_t len, const char *name)
{
    size_t n = strlen(w->dir);
    snprintf(buf, len, "%s%s%s", w->dir, n && w->dir[n - 1] == '/' ? "" : "/", name);
}

/* Writes sample i's MIDI file and, on request, its roll and audio, printing a
 * line for each; returns 0, or 1 after printing the error (the files of
 * sample i already written are in w->partial). */
static int write_sample(sample_writer *w, int i, const tg_take *t)
{
    char name[32], title[32], path[4200], err[512] = "";
    const tg_score *s = t->score;
    w->n_partial = 0;
    sample_name(name, sizeof name, i, "mid");
    sample_path(w, path, sizeof path, name);
    tg_midi_write_options wo = tg_midi_write_options_default();
    tg_status st = tg_midi_write_file(path, s, &wo);
    if (st != TG_OK) {
        cli_error("%s: cannot write: %s", path, tg_status_cause(st));
        return 1;
    }
    snprintf(w->partial[w->n_partial++], sizeof w->partial[0], "%s", name);
    double sec = tg_score_ticks_to_sec(s, -1, tg_score_end_ticks(s));
    printf("%s: %zu tokens (%zu new), %zu notes, %.1f s", path, t->tokens, t->new_tokens,
           tg_score_note_count(s), sec);
    if (w->lenient) printf(", %zu repair%s", t->repairs, t->repairs == 1 ? "" : "s");
    if (w->rerank > 1) printf(", realism %.4f (best of %d)", t->realism, w->rerank);
    printf("\n");
    if (tg_score_note_count(s) == 0) cli_warn("%s has no notes", path);
    int rc = 0;
    if (w->roll) {
        tg_roll_options ro = tg_roll_options_default();
        ro.primer_end_ticks = t->primer_end_ticks;
        sample_name(name, sizeof name, i, "png");
        snprintf(title, sizeof title, "sample-%03d", i);
        ro.title = title;
        sample_path(w, path, sizeof path, name);
        if (render_roll_png(s, path, &ro, err, sizeof err) != TG_OK) {
            cli_error("%s", err);
            rc = 1;
        } else {
            snprintf(w->partial[w->n_partial++], sizeof w->partial[0], "%s", name);
            printf("  roll: %s\n", path);
        }
    }
    if (w->render && rc == 0) {
        tg_audio_options ao = tg_audio_options_default();
        ao.soundfont = w->soundfont;
        sample_name(name, sizeof name, i, "wav");
        sample_path(w, path, sizeof path, name);
        if (render_audio_wav(s, path, &ao, err, sizeof err) != TG_OK) {
            cli_error("%s", err);
            rc = 1;
        } else {
            snprintf(w->partial[w->n_partial++], sizeof w->partial[0], "%s", name);
            printf("  audio: %s\n", path);
        }
    }
    if (rc == 0) {
        w->written = i + 1;
        w->n_partial = 0;
    }
    return rc;
}

/* Says which files a stopped run wrote: "wrote 42 of 100 samples to out
 * (sample-000 to sample-041: .mid, .png each); of sample-042 only
 * sample-042.mid". */
/* Says which files a stopped run wrote: "wrote 42 of 100 samples to out
 * (sample-000 to sample-041: .mid, .png each); of sample-042 only
 * sample-042.mid". */
static void report_written(const sample_writer *w)
{
    char kinds[32] = ".mid";
    if (w->roll) strcat(kinds, ", .png");
    if (w->render) strcat(kinds, ", .wav");
    char done[160] = "", part[128] = "";
    if (w->written == 1)
        snprintf(done, sizeof done, " (sample-000: %s)", kinds);
    else if (w->written > 1)
        snprintf(done, sizeof done, " (sample-000 to sample-%03d: %s each)", w->written - 1, kinds);
    if (w->n_partial) {
        snprintf(part, sizeof part, "; of sample-%03d only", w->written);
        for (int k = 0; k < w->n_partial; k++)
            snprintf(part + strlen(part), sizeof part - strlen(part), "%s %s", k ? "," : "", w->partial[k]);
    }
    cli_error("generate: wrote %d of %d samples to %s%s%s", w->written, w->num, w->dir, done, part);
}

/* The output folder, made when the first sample is ready: a run that fails
 * before makes none. Returns 0, or 1 after printing the error. */
static int make_out_dir(const char *dir)
{
    if (tg_make_dirs(dir) != TG_OK) {
        cli_error("%s: cannot make the folder: %s", dir,
                  errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
        return 1;
    }
    if (!tg_is_dir(dir)) {
        cli_error("%s: exists and is not a folder", dir);
        return 1;
    }
    return 0;
}

/* tg_generate_options.on_take: the take's files, then whether to stop (a
 * write failed, or a stop signal came: the batch being decoded is written). */
static int on_take(void *user, int i, tg_take *take)
{
    sample_writer *w = user;
    if (w->show_progress && w->tty) fputs("\r\033[K", stderr);
    if (i == 0 && make_out_dir(w->dir)) w->failed = w->no_dir = true;
    else if (write_sample(w, i, take)) w->failed = true;
    tg_take_free(take);
    return w->failed;
}

/* tg_generate_options.on_batch: progress, and a stop signal's effect. */
static int on_batch(void *user, int done, int n, double tok_per_s)
{
    sample_writer *w = user;
    if (stop_signal) return 1;
    if (!w->show_progress || done >= n) return 0;
    fprintf(stderr, w->tty ? "\rgenerate: %d/%d samples, %.0f tok/s\033[K" : "generate: %d/%d samples, %.0f tok/s\n",
            done, n, tok_per_s);
    fflush(stderr);
    return 0;
}

void cli_sampling_apply(const run_sampling *d, int argc, char **argv, tg_generate_options *g)
{
    const bool t = d->has_temperature && !cli_given(argc, argv, "temperature", 'T');
    const bool pt = d->has_pitch_temperature && !cli_given(argc, argv, "pitch-temperature", 0);
    const bool p = d->has_top_p && !cli_given(argc, argv, "top-p", 0);
    if (t) g->temperature = (float)d->temperature;
    if (pt) g->pitch_temperature = (float)d->pitch_temperature;
    if (p) g->top_p = (float)d->top_p;
    if (t || pt || p) {
        const char *sep = "";
        fprintf(stderr, "tunegan:");
        if (t) fprintf(stderr, " temperature %g", d->temperature), sep = ",";
        if (pt) fprintf(stderr, "%s pitch temperature %g", sep, d->pitch_temperature), sep = ",";
        if (p) fprintf(stderr, "%s top-p %g", sep, d->top_p);
        fprintf(stderr, " from %s (the model's defaults; -T, --pitch-temperature and --top-p override them)\n",
                d->path);
    }
}

int cli_sampling_defaults(const char *cmd, const tg_run *run, int argc, char **argv, tg_generate_options *g)
{
    run_sampling d;
    char err[512];
    if (run_sampling_read(tg_run_checkpoint(run), &d, err, sizeof err) != TG_OK) {
        cli_error("%s: %s", cmd, err);
        return 1;
    }
    cli_sampling_apply(&d, argc, argv, g);
    return 0;
}

int cli_generate(int argc, char **argv)
{
    const char *model_arg = NULL, *out_dir = NULL, *primer_path = NULL, *soundfont = NULL;
    int primer_bars = 0, num = 1, batch = 16, length = -1, bars = 0, top_k = 0, threads = 0, keep = 0;
    int rerank = 1;
    double temperature = 1.0, top_p = 1.0, pitch_temperature = 0.0;
    uint64_t seed = 0;
    bool no_grammar = false, roll = false, render = false;
    const char *precision = cli_precision_default();
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &model_arg, "RUN|FILE", "run folder or model.safetensors (default: $TUNEGAN_MODEL, else the bundled models/default)", 0, 0},
        {"output", 'o', CLI_STRING, &out_dir, "OUT_DIR", "folder for sample-000.mid ... (required; made if missing)", 0, 0},
        {"primer", 'p', CLI_STRING, &primer_path, "FILE.mid", "continue this piece", 0, 0},
        {"primer-bars", 0, CLI_INT, &primer_bars, "N", "keep the primer's first N bars (0: all of it)", 0, 100000},
        {"num", 'n', CLI_INT, &num, "N", "samples to write", 1, 100000},
        {"batch", 'b', CLI_INT, &batch, "N", "samples decoded together", 1, 1024},
        {"length", 'l', CLI_INT, &length, "TOKENS", "new tokens per sample (-1: 512; with --bars, 1024 a bar; 0: no limit)", -1, 10000000},
        {"bars", 0, CLI_INT, &bars, "N", "remi: stop after N new bars (0: off)", 0, 100000},
        {"temperature", 'T', CLI_DOUBLE, &temperature, "T", "softmax temperature (0: greedy; default: the model's sampling.tsv, else 1)", 0, 0},
        {"pitch-temperature", 0, CLI_DOUBLE, &pitch_temperature, "T", "temperature of which pitch a note takes, the rest (rhythm, how many notes) at -T (0: off, -T for all; default: the model's sampling.tsv, else 0)", 0, 0},
        {"top-k", 'k', CLI_INT, &top_k, "K", "sample among the K most probable tokens (0: off)", 0, 0},
        {"top-p", 0, CLI_DOUBLE, &top_p, "P", "nucleus: the fewest tokens with probability P, in (0,1] (1: off; default: the model's sampling.tsv, else 1)", 0, 0},
        {"seed", 's', CLI_U64, &seed, "S", "random seed (default: from the clock, printed)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
        {"no-grammar", 0, CLI_FLAG, &no_grammar, NULL, "do not mask what the tokenizer's grammar forbids", 0, 0},
        {"keep", 0, CLI_INT, &keep, "TOKENS", "tokens kept when the window slides (0: half the context)", 0, 1000000},
        {"roll", 0, CLI_FLAG, &roll, NULL, "draw a piano roll beside each sample (PNG, primer shaded)", 0, 0},
        {"render", 0, CLI_FLAG, &render, NULL, "render audio beside each sample (WAV, FluidSynth)", 0, 0},
        {"soundfont", 0, CLI_STRING, &soundfont, "SF2", "SoundFont for --render (default: fluid-soundfont-gm's)", 0, 0},
        {"rerank", 0, CLI_INT, &rerank, "N", "draw N candidates per sample, keep the one the run's discriminator rates most real (1: off)", 1, 10000},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"generate", "-o OUT_DIR [--model RUN_DIR] [options]", generate_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    bool seed_given = cli_given(argc, argv, "seed", 's');
    if (!out_dir) {
        cli_error("generate: -o OUT_DIR is required (see tunegan generate --help)");
        return 1;
    }
    const char *sf = NULL;
    if (check_extras(roll, render, soundfont, &sf)) return 1;
    if (!model_arg && !(model_arg = cli_default_model("generate"))) return 1;
    tg_generate_options to = tg_generate_options_default();
    to.temperature = (float)temperature;
    to.top_k = top_k;
    to.top_p = (float)top_p;
    to.pitch_temperature = (float)pitch_temperature;
    if (primer_bars > 0 && !primer_path) {
        cli_error("generate: --primer-bars needs --primer");
        return 1;
    }
    to.num = num;
    to.batch = batch;
    to.bars = bars;
    /* with --bars, a cap all the same: a model may never write a Bar */
    to.length = length >= 0 ? length : bars > 0 ? 1024 * bars : 512;
    if (to.length == 0 && bars == 0) {
        cli_error("generate: --length 0 (no limit) needs --bars");
        return 1;
    }
    to.grammar = !no_grammar;
    to.keep = keep;
    to.seed = seed_given ? seed : (uint64_t)time(NULL);
    to.rerank = rerank;
    to.primer_bars = primer_bars;
    to.primer_name = primer_path;
    to.logger = cli_logger();

    nn_set_threads(threads);
    if (cli_precision_start("generate", precision, true)) return 1;
    tg_run *run = NULL;
    tg_score *primer = NULL;
    int rc = 1;
    char err[1024] = "";
    if (run_open(model_arg, NULL, &run, err, sizeof err) != TG_OK) {
        cli_error("%s", err);
        goto done;
    }
    if (primer_path && cli_read_midi(primer_path, &primer, NULL) != TG_OK) goto done;
    to.primer = primer;
    if (cli_sampling_defaults("generate", run, argc, argv, &to)) goto done;

    const model_config *mc = model_get_config(run_generator(run));
    char blas[256];
    fprintf(stderr, "tunegan: seed %llu; %s\n", (unsigned long long)to.seed, nn_blas_info(blas, sizeof blas));
    fprintf(stderr, "tunegan: model %s: %s attention, %d layers, d_model %d, context %d, tokenizer %s%s\n",
            tg_run_checkpoint(run), model_attention_name(mc->attention),
            mc->n_layers, mc->d_model, mc->context, tok_kind_name(tok_get_config(run_tokenizer(run))->kind),
            to.grammar ? "" : " (grammar mask off)");

    sample_writer w = {.dir = out_dir, .roll = roll, .render = render, .soundfont = sf, .num = num,
                       .rerank = rerank, .lenient = no_grammar, .tty = cli_stderr_is_tty(),
                       .show_progress = num * rerank > batch};
    to.on_take = on_take;
    to.on_batch = on_batch;
    to.user = &w;
    tg_generate_stats stats;
    catch_stop_signals();
    tg_status gst = tg_run_generate(run, &to, NULL, &stats, err, sizeof err);
    release_stop_signals();
    if (gst == TG_ERR_INTERRUPTED && stop_signal && !w.failed) {
        cli_error("generate: interrupted (%s)", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        report_written(&w);
        rc = 128 + stop_signal;
        goto done;
    }
    if (gst != TG_OK) {
        if (!w.failed) cli_error("generate: %s", err); /* a failed write has said why */
        if (w.written > 0 || w.n_partial > 0 || (w.failed && !w.no_dir)) report_written(&w);
        goto done;
    }
    if (primer)
        fprintf(stderr, "tunegan: primer %s: %d bar%s, %zu tokens, %.2f s\n", primer_path, stats.primer_bars,
                stats.primer_bars == 1 ? "" : "s", stats.primer_tokens, stats.primer_sec);
    rc = 0;
    printf("generated %d sample%s: %zu new tokens in %.2f s (%.0f tok/s); %d ended at EOS, %d at --length, "
           "%d at --bars; window slid %d time%s\n",
           num, num == 1 ? "" : "s", stats.new_tokens, stats.seconds, stats.tok_per_s, stats.ended_by_eos,
           stats.hit_length, stats.hit_bars, stats.slides, stats.slides == 1 ? "" : "s");

done:
    tg_score_free(primer);
    tg_run_free(run);
    return rc;
}
