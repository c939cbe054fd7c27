/*
 * cli_tokenize.c: `tunegan tokenize [--tokenizer KIND] [--ids] FILE.mid`,
 * which prints a MIDI file's tokens one per line, by name or by id; and the
 * helper every tokenizer command uses to turn --tokenizer/--step-sec into a
 * tokenizer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data/data.h"
#include "tok/tok.h"

int cli_make_tokenizer(const char *cmd, const char *spec, double step_sec, tok_tokenizer **out)
{
    *out = NULL;
    tok_config cfg;
    char why[160];
    tg_status st = tok_config_parse(spec, &cfg, why, sizeof why);
    if (st != TG_OK) {
        cli_error("%s: --tokenizer '%s': %s", cmd, spec, why);
        return 1;
    }
    if (step_sec > 0 && tok_config_set(&cfg, "step_sec", step_sec) != TG_OK) {
        cli_error("%s: --step-sec applies to the grid tokenizer, not %s", cmd, tok_kind_name(cfg.kind));
        return 1;
    }
    st = tok_config_check(&cfg, why, sizeof why);
    if (st == TG_OK) st = tok_create(&cfg, out);
    if (st != TG_OK) {
        cli_error("%s: tokenizer: %s", cmd, st == TG_ERR_NOMEM ? tg_status_str(st) : why);
        return 1;
    }
    return 0;
}

static const char tokenize_summary[] =
    "Prints the tokens of a MIDI file, one per line, by name (or by id with --ids).\n"
    "\n"
    "Tokenizers: remi (bars, positions, meters, tempi, program/pitch/velocity/duration),\n"
    "remi-compact (remi with Program and Velocity written only when they change),\n"
    "grid (SeqGAN's melody sampled every --step-sec seconds), perf (Music Transformer's\n"
    "NoteOn/NoteOff/TimeShift/Velocity events). --tokenizer also takes a whole config\n"
    "string as written in corpus headers, e.g. 'grid:step_sec=0.25'. The sequence\n"
    "starts with BOS and ends with EOS; `tunegan detokenize` reads it back.";

int cli_tokenize(int argc, char **argv)
{
    const char *spec = "remi";
    double step_sec = 0;
    bool ids = false;
    const cli_opt opts[] = {
        {"tokenizer", 't', CLI_STRING, &spec, "KIND", "remi, remi-compact, grid, perf, or a config string", 0, 0},
        {"step-sec", 0, CLI_DOUBLE, &step_sec, "SEC", "grid: seconds between samples (0: 0.4)", 0, 60},
        {"ids", 0, CLI_FLAG, &ids, NULL, "print ids instead of names", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"tokenize", "[options] FILE.mid", tokenize_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("tokenize: expected one MIDI file (see 'tunegan tokenize --help')");
        return 1;
    }
    tok_tokenizer *tok;
    if (cli_make_tokenizer("tokenize", spec, step_sec, &tok)) return 1;
    tg_score *score = NULL;
    if (cli_read_midi(pos[0], &score, NULL) != TG_OK) {
        tok_free(tok);
        return 1;
    }
    /* what `data build` would skip is said, then tokenized all the same */
    char why[400];
    data_check chk;
    tg_status st = data_check_score(score, &chk);
    if (st == TG_OK && !data_check_why(&chk, why, sizeof why))
        cli_warn("%s: %s; `data build` skips such a file", pos[0], why);
    tok_seq seq = {0};
    if (st == TG_OK) st = tok_encode(tok, score, &seq);
    tg_score_free(score);
    if (st != TG_OK) {
        cli_error("%s: cannot tokenize: %s%s", pos[0], tg_status_str(st),
                  st == TG_ERR_TOO_LARGE ? " (the piece is too long for this tokenizer)" : "");
        tok_seq_free(&seq);
        tok_free(tok);
        return 1;
    }
    if (!data_check_tokens(&chk, seq.n, tok_kind_name(tok_get_config(tok)->kind), why, sizeof why))
        cli_warn("%s: %s; `data build` skips such a file", pos[0], why);
    for (size_t i = 0; i < seq.n; i++) {
        if (ids)
            printf("%u\n", seq.ids[i]);
        else
            printf("%s\n", tok_name(tok, seq.ids[i]));
    }
    tok_seq_free(&seq);
    tok_free(tok);
    return 0; /* main.c checks that stdout was written */
}
