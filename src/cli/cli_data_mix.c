/*
 * cli_data_mix.c: `tunegan data mix`, the any-track training mix: a
 * canonical remi-tracks corpus to a corpus of task sequences (src/data/mix.c
 * does the work; tok.h's tok_tracks_task says what a task is). With
 * --keep/--given/--gap the command writes one fixed task per piece instead,
 * the corpora of a measure (chords given the melody, chords alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data/data.h"

/* "0,1" -> bit mask of slots; "" or NULL -> 0. Returns 1 on a bad list. */
static int parse_slots(const char *s, uint32_t *mask)
{
    *mask = 0;
    if (!s) return 0;
    while (*s) {
        char *end;
        long k = strtol(s, &end, 10);
        if (end == s || k < 0 || k >= TOK_TRACKS_MAX) return 1;
        *mask |= 1u << k;
        s = end;
        if (*s == ',') s++;
        else if (*s) return 1;
    }
    return 0;
}

/* "A-B" bars, 1-based inclusive, into gap_first/gap_bars; 1 when bad. */
int cli_parse_bars(const char *s, int *first, int *count)
{
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s || a < 1) return 1;
    if (*end == '-') {
        const char *t = end + 1;
        b = strtol(t, &end, 10);
        if (end == t) return 1;
    }
    if (*end || b < a || b - a + 1 > TOK_TRACKS_MAX_GAPS) return 1;
    *first = (int)a - 1;
    *count = (int)(b - a + 1);
    return 0;
}

int cli_data_mix(int argc, char **argv)
{
    data_mix_options o = data_mix_options_default();
    const char *out = NULL, *keep = NULL, *given = NULL, *gap = NULL;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "CORPUS", "the mixed corpus to write", 0, 0},
        {"copies", 0, CLI_INT, &o.copies, "N", "task sequences per piece", 1, 64},
        {"context", 0, CLI_INT, &o.context, "N", "tokens of a training window: an infilling sequence fits N+1",
         16, 65536},
        {"seed", 0, CLI_U64, &o.seed, "N", "seed of the tasks' stream", 0, 0},
        {"p-tracks", 0, CLI_DOUBLE, &o.p_tracks, "P", "share of tracks-given tasks", 0, 1},
        {"p-infill", 0, CLI_DOUBLE, &o.p_infill, "P", "share of bars-given tasks", 0, 1},
        {"max-gap", 0, CLI_INT, &o.max_gap, "BARS", "longest gap to fill", 1, TOK_TRACKS_MAX_GAPS},
        {"keep", 0, CLI_STRING, &keep, "SLOTS", "fixed task: the slots kept, e.g. 1 (default: all)", 0, 0},
        {"given", 0, CLI_STRING, &given, "SLOTS", "fixed task: the slots written first, e.g. 0", 0, 0},
        {"gap", 0, CLI_STRING, &gap, "A-B", "fixed task: bars A..B (from 1) moved after Fill", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {
        "data mix", "[options] -o OUT.corpus CORPUS",
        "Rewrites a remi-tracks corpus (data build --tokenizer remi-tracks) into the\n"
        "training mix of any-track generation: each piece becomes --copies sequences,\n"
        "each an unconditional piece, a piece with some tracks given (written first in\n"
        "every bar), or a piece with 1..--max-gap bars to fill (moved after a Fill\n"
        "token, with the bars around them that fit --context). Slots are the\n"
        "note-bearing tracks in order (Nottingham: 0 melody, 1 chords; chorales: 0..3\n"
        "soprano..bass). --keep, --given and --gap write one fixed task per piece\n"
        "instead, for measures."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1 || !out) {
        cli_error("data mix: %s (see 'tunegan data mix --help')",
                  n_pos != 1 ? "expected one corpus" : "-o OUT.corpus is required");
        return 1;
    }
    if (o.p_tracks + o.p_infill > 1) {
        cli_error("data mix: --p-tracks and --p-infill add up to more than 1");
        return 1;
    }
    o.fixed = keep || given || gap;
    if (parse_slots(keep, &o.task.keep) || parse_slots(given, &o.task.given)) {
        cli_error("data mix: --keep and --given take slots 0..%d separated by commas, e.g. 0,2",
                  TOK_TRACKS_MAX - 1);
        return 1;
    }
    if (gap && cli_parse_bars(gap, &o.task.gap_first, &o.task.gap_bars)) {
        cli_error("data mix: --gap takes bars A-B from 1, at most %d, got '%s'", TOK_TRACKS_MAX_GAPS, gap);
        return 1;
    }
    data_corpus *c;
    data_error err = {{0}};
    tg_status st = data_corpus_open(pos[0], &c, &err);
    if (st != TG_OK) {
        cli_error("data mix: %s", err.what[0] ? err.what : tg_status_str(st));
        return 1;
    }
    tok_config cfg;
    tok_tokenizer *tok = NULL;
    st = tok_config_parse(c->config, &cfg, NULL, 0);
    if (st == TG_OK) st = tok_create(&cfg, &tok);
    data_mix_report rep;
    if (st == TG_OK) st = data_mix(c, tok, out, &o, &rep, &err);
    if (st != TG_OK) {
        cli_error("data mix: %s: %s", pos[0], err.what[0] ? err.what : tg_status_str(st));
    } else {
        printf("data mix: wrote %s: %zu pieces, %zu tokens (unconditional %zu, tracks given %zu, bars given "
               "%zu)", out, rep.pieces, rep.tokens, rep.tasks[0], rep.tasks[1], rep.tasks[2]);
        if (rep.skipped) printf(", %zu pieces the task does not fit skipped", rep.skipped);
        printf("; seed %llu\n", (unsigned long long)o.seed);
    }
    tok_free(tok);
    data_corpus_close(c);
    return st == TG_OK ? 0 : 1;
}
