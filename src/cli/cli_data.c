/*
 * cli_data.c: `tunegan data build` (folders of MIDI files to a corpus file)
 * and `tunegan data stats` (what a corpus holds, as text or JSON). The work
 * is in src/data; this file parses flags, shows progress and prints the
 * summary. Broken MIDI files are skipped with a line each and the command
 * still succeeds; bad folders, split files and corpora exit with status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data/data.h"

/* ------------------------------------------------------------------------ */
/* data build */

static void on_progress(void *user, size_t done, size_t total)
{
    cli_progress *p = user;
    p->total = total; /* known once the folders are walked */
    cli_progress_update(p, done);
}

/* "LO..HI" (e.g. "-5..6") or "N" (the single shift N besides 0). */
static int parse_transpose(const char *s, int *lo, int *hi)
{
    char *end;
    long a = strtol(s, &end, 10), b;
    if (end == s) return 1;
    if (*end == 0) {
        b = a;
    } else if (end[0] == '.' && end[1] == '.') {
        const char *t = end + 2;
        b = strtol(t, &end, 10);
        if (end == t || *end) return 1;
    } else {
        return 1;
    }
    if (a > b) return 1;
    if (a > 0) a = 0;
    if (b < 0) b = 0;
    if (a < -12 || b > 12) return 1;
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

static const char build_summary[] =
    "Builds a corpus: walks the folders recursively for .mid/.midi files (any case),\n"
    "tokenizes them in parallel and writes one corpus file (tokenizer config,\n"
    "vocabulary size, tokens of every piece, index of pieces with path and split).\n"
    "Broken files are skipped with a line each; a summary follows.\n"
    "\n"
    "Splits: --split names a TSV of 'relative/path<TAB>train|valid|test' lines ('#'\n"
    "comments), paths relative to the folder given (bare file names match in any\n"
    "subfolder when the TSV names no folder). Files the TSV does not name, or TSV\n"
    "lines naming no file, are an error unless --allow-missing. Without --split:\n"
    "crc32 of the relative path mod 10 (0 test, 1 valid, else train).\n"
    "--transpose LO..HI adds, for training pieces only, a copy transposed by every\n"
    "shift in LO..HI but 0 whose notes stay in 0..127 (done here, at build time).";

static int data_build_cmd(int argc, char **argv)
{
    data_build_options o = data_build_options_default();
    const char *spec = "remi", *out = NULL, *transpose = NULL;
    double step_sec = 0;
    const cli_opt opts[] = {
        {"tokenizer", 't', CLI_STRING, &spec, "KIND", "remi, remi-compact, grid, perf, or a config string", 0, 0},
        {"step-sec", 0, CLI_DOUBLE, &step_sec, "SEC", "grid: seconds between samples (0: 0.4)", 0, 60},
        {"output", 'o', CLI_STRING, &out, "CORPUS", "the corpus file to write (required)", 0, 0},
        {"split", 's', CLI_STRING, &o.split_path, "SPLIT.tsv", "splits by relative path", 0, 0},
        {"allow-missing", 0, CLI_FLAG, &o.allow_missing, NULL, "warn, not fail, when --split and the folders disagree", 0, 0},
        {"transpose", 0, CLI_STRING, &transpose, "LO..HI", "training copies transposed by LO..HI semitones, e.g. -5..6", 0, 0},
        {"threads", 'j', CLI_INT, &o.threads, "N", "threads (0: every core)", 0, 1024},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"data build", "[options] -o CORPUS DIR...", build_summary};
    const char *pos[64];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 64, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos < 1 || !out) {
        cli_error("data build: %s (see 'tunegan data build --help')",
                  n_pos < 1 ? "expected at least one folder" : "-o CORPUS is required");
        return 1;
    }
    if (transpose && parse_transpose(transpose, &o.transpose_lo, &o.transpose_hi)) {
        cli_error("data build: --transpose expects LO..HI within -12..12 (e.g. -5..6), got '%s'",
                  transpose);
        return 1;
    }
    struct tok_tokenizer *tok;
    if (cli_make_tokenizer("data build", spec, step_sec, &tok)) return 1;
    o.tok = *tok_get_config(tok);
    tok_free(tok);
    o.logger = cli_logger();
    cli_progress prog;
    cli_progress_begin(&prog, "data build", 0, "files");
    o.progress = on_progress;
    o.progress_user = &prog;

    data_build_report rep;
    data_error err;
    tg_status st = data_build(pos, (size_t)n_pos, out, &o, &rep, &err);
    if (st != TG_OK) {
        cli_error("data build: %s%s", err.what[0] ? err.what : tg_status_str(st),
                  (rep.missing || rep.unlisted) && !o.allow_missing
                      ? "; pass --allow-missing to build from the files found"
                      : "");
        return 1;
    }
    prog.total = rep.files_found;
    prog.done = rep.files_found;
    cli_progress_end(&prog);

    fprintf(stderr, "tunegan: %zu files found, %zu read, %zu skipped", rep.files_found,
            rep.files_read, rep.files_skipped);
    if (rep.files_skipped) {
        const char *sep = " (";
        if (rep.skipped_no_notes) {
            fprintf(stderr, "%s%zu without notes", sep, rep.skipped_no_notes);
            sep = ", ";
        }
        if (rep.skipped_unfit) {
            fprintf(stderr, "%s%zu unfit for a piece", sep, rep.skipped_unfit);
            sep = ", ";
        }
        for (int s = 0; s < TG_STATUS_COUNT_; s++)
            if (rep.skipped_by_status[s]) {
                fprintf(stderr, "%s%zu %s", sep, rep.skipped_by_status[s], tg_status_str((tg_status)s));
                sep = ", ";
            }
        fputc(')', stderr);
    }
    fputc('\n', stderr);
    fprintf(stderr, "tunegan: wrote %s: pieces train %zu, valid %zu, test %zu", out,
            rep.pieces[DATA_TRAIN], rep.pieces[DATA_VALID], rep.pieces[DATA_TEST]);
    if (rep.transposed) fprintf(stderr, " (%zu transposed copies in train)", rep.transposed);
    fprintf(stderr, "; tokens %zu, %zu, %zu; %.2f s\n", rep.tokens[DATA_TRAIN],
            rep.tokens[DATA_VALID], rep.tokens[DATA_TEST], rep.seconds);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* data stats */

static void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

static void print_json(const char *path, const data_corpus *c, const tok_tokenizer *tok,
                       const data_stats *st)
{
    FILE *fp = stdout;
    fprintf(fp, "{\n  \"corpus\": ");
    json_string(fp, path);
    fprintf(fp, ",\n  \"version\": %u,\n  \"tokenizer\": ", c->version);
    json_string(fp, c->config);
    fprintf(fp, ",\n  \"vocab_size\": %u,\n  \"pieces\": %llu,\n  \"tokens\": %llu,\n  \"splits\": {",
            c->vocab_size, (unsigned long long)c->n_pieces, (unsigned long long)c->n_tokens);
    for (int s = 0; s < DATA_SPLITS; s++)
        fprintf(fp, "%s\n    \"%s\": {\"pieces\": %llu, \"tokens\": %llu}", s ? "," : "",
                data_split_name(s), (unsigned long long)st->pieces[s],
                (unsigned long long)st->tokens[s]);
    fprintf(fp, "\n  },\n  \"transposed_pieces\": %llu,\n", (unsigned long long)st->transposed_pieces);
    fprintf(fp,
            "  \"length\": {\"min\": %llu, \"p10\": %llu, \"p50\": %llu, \"p90\": %llu, "
            "\"p99\": %llu, \"max\": %llu, \"mean\": %.2f},\n",
            (unsigned long long)st->length_min, (unsigned long long)st->length_p10,
            (unsigned long long)st->length_p50, (unsigned long long)st->length_p90,
            (unsigned long long)st->length_p99, (unsigned long long)st->length_max, st->length_mean);
    if (st->pitch_min >= 0)
        fprintf(fp, "  \"pitch\": {\"min\": %d, \"max\": %d},\n", st->pitch_min, st->pitch_max);
    else
        fprintf(fp, "  \"pitch\": null,\n");
    fprintf(fp, "  \"top_tokens\": [");
    for (int k = 0; k < st->n_top; k++) {
        fprintf(fp, "%s\n    {\"id\": %d, \"name\": ", k ? "," : "", st->top_id[k]);
        json_string(fp, tok_name(tok, st->top_id[k]));
        fprintf(fp, ", \"count\": %llu}", (unsigned long long)st->top_count[k]);
    }
    fprintf(fp, "\n  ]\n}\n");
}

static void print_text(const char *path, const data_corpus *c, const tok_tokenizer *tok,
                       const data_stats *st)
{
    printf("corpus      %s (version %u)\n", path, c->version);
    printf("tokenizer   %s\n", c->config);
    printf("vocabulary  %u tokens\n\n", c->vocab_size);
    printf("%-8s %10s %12s\n", "split", "pieces", "tokens");
    for (int s = 0; s < DATA_SPLITS; s++)
        printf("%-8s %10llu %12llu\n", data_split_name(s), (unsigned long long)st->pieces[s],
               (unsigned long long)st->tokens[s]);
    printf("%-8s %10llu %12llu\n", "total", (unsigned long long)c->n_pieces,
           (unsigned long long)c->n_tokens);
    if (st->transposed_pieces)
        printf("(train includes %llu transposed copies)\n", (unsigned long long)st->transposed_pieces);
    printf("\npiece length (tokens): min %llu, p10 %llu, median %llu, p90 %llu, p99 %llu, max %llu, "
           "mean %.1f\n",
           (unsigned long long)st->length_min, (unsigned long long)st->length_p10,
           (unsigned long long)st->length_p50, (unsigned long long)st->length_p90,
           (unsigned long long)st->length_p99, (unsigned long long)st->length_max, st->length_mean);
    if (st->pitch_min >= 0)
        printf("pitch range: %d..%d\n", st->pitch_min, st->pitch_max);
    else
        printf("pitch range: (no pitched tokens)\n");
    printf("\nmost frequent tokens:\n");
    for (int k = 0; k < st->n_top; k++)
        printf("  %-16s %10llu  %5.2f%%\n", tok_name(tok, st->top_id[k]),
               (unsigned long long)st->top_count[k],
               c->n_tokens ? 100.0 * (double)st->top_count[k] / (double)c->n_tokens : 0.0);
}

static int data_stats_cmd(int argc, char **argv)
{
    bool json = false;
    const cli_opt opts[] = {
        {"json", 0, CLI_FLAG, &json, NULL, "print JSON", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {
        "data stats", "[--json] CORPUS",
        "Prints pieces and tokens per split, the vocabulary size, piece-length percentiles,\n"
        "the pitch range and the most frequent tokens of a corpus."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("data stats: expected one corpus file (see 'tunegan data stats --help')");
        return 1;
    }
    data_corpus *c;
    data_error err;
    tg_status st = data_corpus_open(pos[0], &c, &err);
    if (st != TG_OK) {
        cli_error("data stats: %s", err.what[0] ? err.what : tg_status_str(st));
        return 1;
    }
    tok_config cfg;
    tok_tokenizer *tok = NULL;
    char why[160];
    st = tok_config_parse(c->config, &cfg, why, sizeof why); /* checked by open */
    if (st == TG_OK) st = tok_create(&cfg, &tok);
    data_stats stats;
    if (st == TG_OK) st = data_compute_stats(c, tok, &stats);
    if (st != TG_OK) {
        cli_error("data stats: %s: %s", pos[0], tg_status_str(st));
        tok_free(tok);
        data_corpus_close(c);
        return 1;
    }
    if (json)
        print_json(pos[0], c, tok, &stats);
    else
        print_text(pos[0], c, tok, &stats);
    tok_free(tok);
    data_corpus_close(c);
    return 0; /* main.c checks that stdout was written */
}

/* ------------------------------------------------------------------------ */

int cli_data(int argc, char **argv)
{
    static const char usage[] =
        "usage: tunegan data build [options] -o CORPUS DIR...   build a corpus from MIDI folders\n"
        "       tunegan data stats [--json] CORPUS              summarise a corpus\n"
        "Run 'tunegan data build --help' for the build's options.\n";
    if (argc >= 2 && strcmp(argv[1], "build") == 0) return data_build_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "stats") == 0) return data_stats_cmd(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2)
        cli_error("data: unknown subcommand '%s'", argv[1]);
    else
        cli_error("data: expected a subcommand");
    fputc('\n', stderr);
    fputs(usage, stderr);
    return 1;
}
