/*
 * cli.h: the `tunegan` command line. Each subcommand is a function in a file
 * of its own (cli_<name>.c), listed in the table in main.c, with an options
 * struct filled from a declarative option table by cli_parse().
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tunegan.h"

typedef enum { CLI_FLAG, CLI_INT, CLI_U64, CLI_DOUBLE, CLI_STRING } cli_kind;

/* One option: --name (and -s when short_name is not 0) writing into dst.
 * Numbers are range-checked against [min, max] (both 0: no check). */
typedef struct {
    const char *name;
    char short_name;
    cli_kind kind;
    void *dst;             /* bool*, int*, uint64_t*, double*, const char** */
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
 * 1 after an error (message and usage printed to stderr), 2 after --help
 * (usage printed to stdout). The caller exits with 0 for 2. */
int cli_parse(const cli_command_info *info, const cli_opt *opts, int argc, char **argv,
              const char **pos, int max_pos, int *n_pos);
/* Prints the usage with each flag's current value as its default. */
void cli_usage(FILE *fp, const cli_command_info *info, const cli_opt *opts);

/* Prints "tunegan: " and the message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "tunegan: warning: " and the message to stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A logger that prints warnings and errors to stderr, prefixed with "tunegan: ". */
tg_logger cli_logger(void);
/* Whether stderr is a terminal (progress bars) or a pipe (plain lines). */
bool cli_stderr_is_tty(void);


/* Subcommands (cli_<name>.c): each returns the process's exit status. */

#endif /* TG_CLI_H */
