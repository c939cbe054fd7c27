/*
 * cli_detokenize.c: `tunegan detokenize [--tokenizer KIND] [--lenient] -o
 * OUT.mid TOKENS.txt`, which reads tokens (names or ids, one per line; "-"
 * for stdin; blank lines and '#' comments skipped) and writes the MIDI file
 * they decode to. Errors name the line: an unknown name or id, or the first
 * token that breaks the tokenizer's grammar; --lenient skips and repairs
 * instead, with a warning per repair. A sequence runs from BOS to EOS: an
 * empty file, or one without its BOS or EOS (cut short, or a piece of one),
 * is incomplete, an error unless --lenient, which decodes what is there.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "cli.h"
#include "tok/tok.h"

typedef struct {
    uint16_t *ids;
    uint32_t *lines;
    size_t n, cap;
} token_list;

static int push(token_list *l, int id, uint32_t line)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        uint16_t *ids = realloc(l->ids, cap * sizeof *ids);
        if (!ids) return 1;
        l->ids = ids;
        uint32_t *lines = realloc(l->lines, cap * sizeof *lines);
        if (!lines) return 1;
        l->lines = lines;
        l->cap = cap;
    }
    l->ids[l->n] = (uint16_t)id;
    l->lines[l->n] = line;
    l->n++;
    return 0;
}

/* Reads the token file; returns 0, or 1 after printing the error. */
static int read_tokens(const char *path, const tok_tokenizer *tok, bool lenient, token_list *out)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    const char *name = fp == stdin ? "(stdin)" : path;
    if (!fp) {
        cli_error("%s: %s", path, strerror(errno));
        return 1;
    }
    char buf[256];
    uint32_t line = 0;
    int rc = 0;
    bool long_line = false;
    errno = 0;
    while (fgets(buf, sizeof buf, fp)) {
        size_t len = strlen(buf);
        bool complete = len > 0 && buf[len - 1] == '\n';
        if (long_line) { /* the rest of a line too long to be a token */
            long_line = !complete;
            continue;
        }
        line++;
        if (!complete && !feof(fp)) long_line = true;
        while (len > 0 && isspace((unsigned char)buf[len - 1])) buf[--len] = 0;
        char *s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        int id = -1;
        if (long_line) {
            id = -1;
        } else if (isdigit((unsigned char)*s)) {
            char *end;
            errno = 0;
            long v = strtol(s, &end, 10);
            id = (!errno && !*end && v >= 0 && v < tok_vocab_size(tok)) ? (int)v : -1;
        } else {
            id = tok_lookup(tok, s);
        }
        if (id < 0) {
            const char *what = isdigit((unsigned char)*s) ? "is not an id of the vocabulary"
                                                          : "is not a token of the vocabulary";
            if (!lenient) {
                cli_error("%s:%u: '%.60s%s' %s (tokenizer %s; see 'tunegan vocab')", name,
                          (unsigned)line, s, long_line ? "..." : "", what,
                          tok_kind_name(tok_get_config(tok)->kind));
                rc = 1;
                break;
            }
            cli_warn("%s:%u: '%.60s' %s: skipped", name, (unsigned)line, s, what);
            continue;
        }
        if (push(out, id, line)) {
            cli_error("%s: out of memory", name);
            rc = 1;
            break;
        }
    }
    if (rc == 0 && ferror(fp)) {
        cli_error("%s: %s", name, errno ? strerror(errno) : "read error"); /* "Is a directory" */
        rc = 1;
    }
    if (fp != stdin) fclose(fp);
    return rc;
}

/* Whether the sequence is whole (BOS first, EOS last); if not, says what is
 * missing, as an error, or as a warning with lenient. Returns 0 to go on. */
static int check_whole(const char *name, const token_list *tl, bool lenient)
{
    char what[160];
    if (tl->n == 0)
        snprintf(what, sizeof what, "no tokens (an empty file)");
    else if (tl->ids[0] != TOK_BOS)
        snprintf(what, sizeof what, "no BOS at line %u, where it starts", (unsigned)tl->lines[0]);
    else if (tl->ids[tl->n - 1] != TOK_EOS)
        snprintf(what, sizeof what, "no EOS after line %u, where it ends", (unsigned)tl->lines[tl->n - 1]);
    else
        return 0;
    if (lenient) {
        cli_warn("%s: %s: the sequence is incomplete; decoding what is there", name, what);
        return 0;
    }
    cli_error("%s: %s: the sequence is incomplete (cut short?); --lenient decodes what is there", name, what);
    return 1;
}

static const char detokenize_summary[] =
    "Reads tokens (names or ids, one per line; '-' reads stdin) and writes the MIDI\n"
    "file they decode to. Blank lines and lines starting with '#' are skipped.\n"
    "A sequence that breaks the tokenizer's grammar (a Pitch with no Program before\n"
    "it, a Position that goes back, a NoteOff with no note...) or an unknown token is\n"
    "an error naming its line; with --lenient such tokens are dropped or repaired\n"
    "with a warning each. A sequence runs from BOS to EOS: an empty file or one that\n"
    "lacks either is incomplete, which --lenient decodes all the same. grid and perf\n"
    "decode to 500 ticks per quarter at 120 bpm.";

int cli_detokenize(int argc, char **argv)
{
    const char *spec = "remi", *out = NULL;
    double step_sec = 0;
    bool lenient = false;
    const cli_opt opts[] = {
        {"tokenizer", 't', CLI_STRING, &spec, "KIND", "remi, remi-compact, grid, perf, or a config string", 0, 0},
        {"step-sec", 0, CLI_DOUBLE, &step_sec, "SEC", "grid: seconds between samples (0: 0.4)", 0, 60},
        {"output", 'o', CLI_STRING, &out, "OUT.mid", "the MIDI file to write (required)", 0, 0},
        {"lenient", 'l', CLI_FLAG, &lenient, NULL, "repair what breaks the grammar instead of failing", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"detokenize", "[options] -o OUT.mid TOKENS.txt", detokenize_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1 || !out) {
        cli_error("detokenize: %s (see 'tunegan detokenize --help')", n_pos != 1 ? "expected one token file ('-' for stdin)"
                                               : "-o OUT.mid is required");
        return 1;
    }
    tok_tokenizer *tok;
    if (cli_make_tokenizer("detokenize", spec, step_sec, &tok)) return 1;
    token_list tl = {0};
    int rc = read_tokens(pos[0], tok, lenient, &tl);
    const char *name = strcmp(pos[0], "-") == 0 ? "(stdin)" : pos[0];
    if (rc == 0) rc = check_whole(name, &tl, lenient);
    tg_score *score = NULL;
    if (rc == 0) {
        tok_decode_options o = tok_decode_options_default();
        o.lenient = lenient;
        o.logger = cli_logger();
        o.name = name;
        o.lines = tl.lines;
        tok_decode_error err;
        size_t repairs = 0;
        tg_status st = tok_decode(tok, tl.ids, tl.n, &o, &score, &err, &repairs);
        if (st == TG_ERR_GRAMMAR) {
            if (err.index < tl.n)
                cli_error("%s:%u: %s: %s (--lenient repairs it)", name, (unsigned)tl.lines[err.index],
                          tok_name(tok, tl.ids[err.index]), err.what);
            else
                cli_error("%s: at the end: %s (--lenient repairs it)", name, err.what);
            rc = 1;
        } else if (st != TG_OK) {
            cli_error("%s: cannot decode: %s", name, tg_status_str(st));
            rc = 1;
        } else if (repairs) {
            cli_warn("%s: %zu repair%s", name, repairs, repairs == 1 ? "" : "s");
        }
    }
    if (rc == 0) {
        tg_midi_write_options wo = tg_midi_write_options_default();
        tg_status st = tg_midi_write_file(out, score, &wo);
        if (st != TG_OK) {
            cli_error("%s: cannot write: %s", out, tg_status_cause(st));
            rc = 1;
        } else {
            fprintf(stderr, "tunegan: wrote %s (%zu tokens, %zu notes, %zu tracks)\n", out, tl.n,
                    tg_score_note_count(score), score->n_tracks);
        }
    }
    tg_score_free(score);
    free(tl.ids);
    free(tl.lines);
    tok_free(tok);
    return rc;
}
