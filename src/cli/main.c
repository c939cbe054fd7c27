/*
 * main.c: the `tunegan` binary. Subcommands are dispatched from one table of
 * name, function and help line; `tunegan --help` prints the table and
 * `tunegan CMD --help` the command's flags with their defaults. Whatever a
 * command printed to stdout is checked here, once, when it returns: a write
 * that failed (a full disk, a closed pipe's reader gone) is an error naming
 * its cause, and the exit status says so.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nn/nn.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"notes", cli_notes, "print the notes (and tempo and meter) of a MIDI file as read"},
    {"tokenize", cli_tokenize, "print the tokens of a MIDI file (remi, remi-compact, grid or perf)"},
    {"detokenize", cli_detokenize, "write the MIDI file a token sequence decodes to"},
    {"vocab", cli_vocab, "print a tokenizer's vocabulary (id and name)"},
    {"data", cli_data, "build a training corpus from MIDI folders, or summarise one"},
    {"pretrain", cli_pretrain, "train the generator by maximum likelihood on a corpus"},
    {"train", cli_train, "train a pretrained generator adversarially (SeqGAN) against a discriminator"},
    {"score", cli_score, "the discriminator's realism score of MIDI files (mean, min, max over windows)"},
    {"generate", cli_generate, "write new music (or continue a primer) with a trained generator"},
    {"accompany", cli_accompany, "write the tracks a piece lacks (chords for a melody, voices for a soprano)"},
    {"infill", cli_infill, "write some bars of a piece again, keeping the rest"},
    {"eval", cli_eval, "likelihood of a model on a corpus; BLEU, statistics and overlap of samples"},
    {"critic", cli_critic, "a fresh critic's accuracy at telling real pieces from sampled ones (50 %: can't)"},
    {"render", cli_render, "render a MIDI file to audio (WAV) with FluidSynth"},
    {"roll", cli_roll, "draw a piano roll of a MIDI file (PNG)"},
    {"export", cli_export, "write a MIDI file as sheet music (MusicXML)"},
    {"plot", cli_plot, "draw the training curves of a run (PNG)"},
    {"serve", cli_serve, "a music studio in the browser on this machine (generate, continue, hear, download)"},
    {NULL, NULL, NULL},
};

static void print_help(FILE *fp)
{
    fprintf(fp, "usage: tunegan COMMAND [options]\n\n"
                "A music generator: Transformers trained on MIDI by maximum likelihood, then\n"
                "adversarially (SeqGAN).\n\ncommands:\n");
    for (const command *c = commands; c->name; c++) fprintf(fp, "  %-12s %s\n", c->name, c->help);
    fprintf(fp, "\n  --version    print the version and the optional dependencies built in\n"
                "  --help       show this help\n\n"
                "Run 'tunegan COMMAND --help' for a command's options.\n");
}

static void print_version(void)
{
    const char *features = tg_build_features();
    char blas[256];
    char why[256];
    nn_precision_resolve(NN_PRECISION_AUTO, why, sizeof why);
    printf("tunegan %s\nbuilt with: %s\nmatrix products: %s\n%s\n", tg_version(),
           features[0] ? features : "(no optional dependencies)", nn_blas_info(blas, sizeof blas),
           why);
}

/* OpenBLAS chooses its kernel when it loads; when it chose a weak one for this
 * CPU and OPENBLAS_CORETYPE is not set (a machine may set it on purpose), run
 * again with the better core type set. */
static void choose_blas_kernel(char **argv)
{
    const char *better = nn_blas_better_coretype();
    if (!better || getenv("OPENBLAS_CORETYPE")) return;
    if (setenv("OPENBLAS_CORETYPE", better, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: go on with the library's choice */
}

/* Flushes and closes stdout; 0 when all of it was written, else 1 after
 * saying why ("standard output: No space left on device"). */
static int close_stdout(void)
{
    errno = 0;
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    int cause = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = true;
        cause = errno;
    }
    if (!bad) return 0;
    cli_error("standard output: %s", cause ? strerror(cause) : "write error");
    return 1;
}

static int run_command(int argc, char **argv)
{
    choose_blas_kernel(argv);
    if (argc < 2) {
        print_help(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        print_version();
        return 0;
    }
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, cmd) == 0) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "tunegan: unknown command '%s'\n\n", cmd);
    print_help(stderr);
    return 1;
}

int main(int argc, char **argv)
{
    int rc = run_command(argc, argv);
    return close_stdout() ? 1 : rc;
}
