/*
 * cli_vocab.c: `tunegan vocab [--tokenizer KIND]`, which prints the whole
 * vocabulary as "id<TAB>name" lines, in id order.
 */
#include <stdio.h>

#include "cli.h"
#include "tok/tok.h"

int cli_vocab(int argc, char **argv)
{
    const char *spec = "remi";
    double step_sec = 0;
    bool config = false;
    const cli_opt opts[] = {
        {"tokenizer", 't', CLI_STRING, &spec, "KIND", "remi, remi-compact, grid, perf, or a config string", 0, 0},
        {"step-sec", 0, CLI_DOUBLE, &step_sec, "SEC", "grid: seconds between samples (0: 0.4)", 0, 60},
        {"config", 0, CLI_FLAG, &config, NULL, "print the tokenizer's config string instead", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"vocab", "[options]",
                                   "Prints a tokenizer's vocabulary, one 'id<TAB>name' line per token."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    tok_tokenizer *tok;
    if (cli_make_tokenizer("vocab", spec, step_sec, &tok)) return 1;
    if (config) {
        char buf[256];
        tok_config_to_string(tok_get_config(tok), buf, sizeof buf);
        printf("%s\n", buf);
    } else {
        for (int id = 0; id < tok_vocab_size(tok); id++) printf("%d\t%s\n", id, tok_name(tok, id));
    }
    tok_free(tok);
    return 0; /* main.c checks that stdout was written */
}
