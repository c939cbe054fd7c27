/*
 * cli.h: the `tunegan` command line. Each subcommand is a function in a file
 * of its own (cli_<name>.c), listed in the table in main.c, with an options
 * struct filled from a declarative option table by cli_parse().
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "run/run.h"
#include "tunegan.h"

/* CLI_SIZE: an int where -1 means "the preset's" and 0 is refused (a size of
 * nothing is a typo, not a request for the default); otherwise as CLI_INT. */
typedef enum { CLI_FLAG, CLI_INT, CLI_SIZE, CLI_U64, CLI_DOUBLE, CLI_STRING } cli_kind;

/* One option: --name (and -s when short_name is not 0) writing into dst.
 * Numbers are range-checked against [min, max] (both 0: no check). */
typedef struct {
    const char *name;
    char short_name;
    cli_kind kind;
    void *dst;             /* bool*, int* (CLI_INT, CLI_SIZE), uint64_t*, double*, const char** */
    const char *metavar;   /* e.g. "N", "FILE"; NULL for flags */
    const char *help;
    double min, max;
} cli_opt;

typedef struct {
    const char *name;      /* "notes" */
    const char *args;      /* "[options] FILE.mid" */
    const char *summary;   /* one line for `tunegan --help` */
} cli_command_info;

/* Parses argv (argv[0] is the subcommand's name). Positional arguments are
 * gathered in pos (at most max_pos; more is an error). Returns 0 to go on,
 * 1 after an error (one line to stderr: what is wrong, and "see 'tunegan CMD
 * --help'"; an empty string value is an error too), 2 after --help
 * (usage printed to stdout). The caller exits with 0 for 2. */
int cli_parse(const cli_command_info *info, const cli_opt *opts, int argc, char **argv,
              const char **pos, int max_pos, int *n_pos);
/* Whether the option was on the command line (--NAME, --NAME=..., or -SHORT
 * when short_name is not 0): for defaults that depend on it, as a seed drawn
 * from the clock. */
bool cli_given(int argc, char **argv, const char *long_name, char short_name);
/* The model's sampling.tsv (src/run/sampling.c) for the values the command
 * line leaves out (-T, --pitch-temperature, --top-p) in g, said on stderr
 * when used: generate, accompany, infill. 0, or 1 after the error (cmd names
 * the command). */
int cli_sampling_defaults(const char *cmd, const tg_run *run, int argc, char **argv, tg_generate_options *g);
/* The same with the file already read (d). */
void cli_sampling_apply(const run_sampling *d, int argc, char **argv, tg_generate_options *g);
/* Prints the usage with each flag's current value as its default. */
void cli_usage(FILE *fp, const cli_command_info *info, const cli_opt *opts);

/* Copies in to out (out_len bytes with the 0), escaping what a terminal would
 * act on: control bytes as \n, \t, \r or \xHH, and bytes that are not valid
 * UTF-8 as \xHH; printable UTF-8 stays. Returns the length the whole escaped
 * text needs (without the 0), as snprintf does. */
size_t cli_escape(const char *in, char *out, size_t out_len);
/* Prints "tunegan: " and the message to stderr, escaped (cli_escape): file
 * names and inputs in it cannot move the cursor or recolour the terminal. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "tunegan: warning: " and the message to stderr, escaped. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A logger that prints warnings and errors to stderr, prefixed with "tunegan: ". */
tg_logger cli_logger(void);
/* Whether stderr is a terminal (progress bars) or a pipe (plain lines). */
bool cli_stderr_is_tty(void);


/* Reads a MIDI file, printing warnings and, on failure, the error naming the
 * file (cli_midi.c). report may be NULL. */
tg_status cli_read_midi(const char *path, tg_score **out, tg_midi_report *report);

/* The model used without --model (cli_generate.c): $TUNEGAN_MODEL when set,
 * else the model bundled in the source tree (models/default, its card beside
 * it). Prints which, or (naming cmd) why there is none and returns NULL. */
const char *cli_default_model(const char *cmd);

/* Progress of long work on stderr (progress.c): a redrawn bar with rate and time
 * left on a terminal, a few plain lines when piped, a summary line at the end. */
typedef struct {
    FILE *fp;
    const char *label;   /* "data build" */
    const char *unit;    /* "files", "steps" */
    size_t total, done;
    bool tty, drawn;
    double t0, last_draw;
    int last_quarter;
} cli_progress;

void cli_progress_begin(cli_progress *p, const char *label, size_t total, const char *unit);
void cli_progress_update(cli_progress *p, size_t done);
void cli_progress_end(cli_progress *p);

/* The tokenizer of --tokenizer SPEC (a kind, remi|remi-compact|grid|perf, or a
 * whole config string) and --step-sec (grid; 0 keeps the config's). Prints the error and
 * returns 1 on failure (cli_tokenize.c). */
struct tok_tokenizer;
/* `tunegan data mix` (cli_data_mix.c); "A-B" bars from 1 to a 0-based first
 * bar and a count (1 when bad). */
int cli_data_mix(int argc, char **argv);
/* `tunegan accompany` and `tunegan infill` (cli_accompany.c). */
int cli_accompany(int argc, char **argv);
int cli_infill(int argc, char **argv);
int cli_parse_bars(const char *s, int *first, int *count);
int cli_make_tokenizer(const char *cmd, const char *spec, double step_sec,
                       struct tok_tokenizer **out);

/* Subcommands (cli_<name>.c): each returns the process's exit status. */
/* Parses --precision's value (auto, fp32, bf16), sets the process's
 * precision from it and the CPU (cli_precision.c) and, when print, says what
 * was chosen and why on stderr; prints an error and returns 1 on a bad value
 * or bf16 asked for where it cannot run. */
int cli_precision_start(const char *cmd, const char *name, bool print);
/* --precision's default: $TUNEGAN_PRECISION when set (e.g. fp32 to run a
 * whole test suite on the reference path), else "auto". */
const char *cli_precision_default(void);
/* The help line of --precision, shared by the commands. */
#define CLI_PRECISION_HELP "auto (bf16 where the CPU has AVX512-BF16 or AMX), fp32 or bf16 matrix products"

int cli_tokenize(int argc, char **argv);
int cli_detokenize(int argc, char **argv);
int cli_vocab(int argc, char **argv);
int cli_data(int argc, char **argv);
int cli_notes(int argc, char **argv);
int cli_render(int argc, char **argv);
int cli_roll(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_pretrain(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_critic(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_score(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_export(int argc, char **argv);


/* What `tunegan train` shows while it runs (train_view.c): each line of the
 * run's log as a sentence, with the time spent and left. */
typedef struct {
    int rounds, d_pretrain, first_round, d_seen;
    double t0, round_t0, last_t;
} cli_train_view;

/* rounds: the run's total; d_pretrain: its D pre-training steps */
void cli_train_view_begin(cli_train_view *v, int rounds, int d_pretrain);
/* Shows one log line (JSON) on stderr. */
void cli_train_view_line(cli_train_view *v, const char *json);

/* The harmony and voice-leading section of `eval --samples` (issue 20,
 * cli_eval_harmony.c). --voices: auto (voice leading when every sample is
 * four voices), satb (measure the four-voice samples, an error when none
 * is), off. */
enum { CLI_VOICES_AUTO, CLI_VOICES_SATB, CLI_VOICES_OFF };
struct eval_set;
typedef struct cli_harmony cli_harmony;
/* The mode named by s, or -1. */
int cli_voices_mode(const char *s);
/* Measures both sets (melody_track -1: the top line); NULL after printing
 * the error. */
cli_harmony *cli_harmony_measure(const struct eval_set *samples, const struct eval_set *reference, int melody_track,
                                 int voices_mode);
/* The table's sections, or the JSON members (each after a comma). */
void cli_harmony_print(const cli_harmony *h, bool json);
void cli_harmony_free(cli_harmony *h);

struct dist_ctx;
/* The start of pretrain and train (cli_dist.c): MPI when launched by mpirun,
 * *seed made rank 0's on every rank, threads set (0: the host's cores shared
 * among its ranks), seed and BLAS kernel (and ranks) printed by rank 0. NULL
 * after printing the error; free with dist_finalize. */
struct dist_ctx *cli_dist_start(const char *cmd, int *argc, char ***argv, uint64_t *seed, int threads);
/* Ctrl-C during training: the first sets the returned flag (the trainer saves
 * a checkpoint and stops), a second ends the process. cli_stop_release puts
 * the default back. */
volatile sig_atomic_t *cli_stop_on_sigint(void);
void cli_stop_release(void);

#endif /* TG_CLI_H */
