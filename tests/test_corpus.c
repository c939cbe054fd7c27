/*
 * test_corpus.c: building, reading and batching corpora. A temporary folder
 * gets MIDI files written from scores made here, copies of fixtures, an
 * upper-case .MIDI name, a subfolder, a broken file, a file without notes and
 * files to ignore. Checks: the counts and reasons of the build report, the
 * pieces read back (tokens equal to tokenizing the file directly, BOS/EOS,
 * order, splits by hash and from TSVs, TSV errors), identical output for any
 * thread count, transposition of the training split only, damaged corpus
 * files (magic, version, truncation, checksum, bounds), seeded training
 * batches, evaluation windows covering every token once, and statistics.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "data/data.h"
#include "test.h"

static char dir[64];

static char *path_in(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (!fp) return;
    CHECK_INT(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void copy_file(const char *from, const char *to)
{
    uint8_t *data;
    size_t n;
    CHECK_OK(tg_file_read_all(from, 1 << 24, &data, &n));
    write_bytes(to, data, n);
    free(data);
}

/* A tune made from a seed: a melody and, every other seed, a bass line. */
static void write_tune(const char *path, uint64_t seed, int n_notes)
{
    tg_score *s;
    CHECK_OK(tg_score_create(480, &s));
    size_t mel, bass;
    CHECK_OK(tg_score_add_track(s, "melody", 0, 40, -1, &mel));
    CHECK_OK(tg_score_add_track(s, "bass", 1, 32, -1, &bass));
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    int64_t t = 0;
    for (int i = 0; i < n_notes; i++) {
        int64_t len = 120 * (1 + tg_rng_below(&rng, 4));
        tg_note n = {t, t + len, (uint8_t)(50 + tg_rng_below(&rng, 30)),
                     (uint8_t)(30 + tg_rng_below(&rng, 90)), 0};
        CHECK_OK(tg_score_add_note(s, mel, n));
        if (seed % 2 == 0 && i % 4 == 0) {
            tg_note b = {t, t + 480, (uint8_t)(36 + tg_rng_below(&rng, 12)), 80, 1};
            CHECK_OK(tg_score_add_note(s, bass, b));
        }
        t += len;
    }
    tg_midi_write_options wo = tg_midi_write_options_default();
    CHECK_OK(tg_midi_write_file(path, s, &wo));
    tg_score_free(s);
}

/* Messages logged during a build. */
static char log_text[8192];

static void collect_log(void *user, tg_log_level level, const char *msg)
{
    (void)user;
    (void)level;
    size_t at = strlen(log_text);
    snprintf(log_text + at, sizeof log_text - at, "%s\n", msg);
}

static data_build_options options(void)
{
    data_build_options o = data_build_options_default();
    o.logger = (tg_logger){collect_log, NULL};
    log_text[0] = 0;
    return o;
}

#define N_TUNES 24
/* files that must be read: tunes, 3 fixture copies, UPPER.MIDI */
#define N_GOOD (N_TUNES + 4)

static void make_folder(void)
{
    snprintf(dir, sizeof dir, "/tmp/tg_corpus_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK_INT(mkdir(path_in("sub"), 0755), 0);
    CHECK_INT(mkdir(path_in("sub/deeper"), 0755), 0);
    CHECK_INT(mkdir(path_in("empty"), 0755), 0);
    for (int i = 0; i < N_TUNES; i++) {
        char name[64];
        snprintf(name, sizeof name, "%stune%02d.mid", i < 16 ? "" : i < 20 ? "sub/" : "sub/deeper/", i);
        write_tune(path_in(name), (uint64_t)i + 1, 40 + 13 * i);
    }
    copy_file(TG_TEST_DATA "/format0.mid", path_in("format0.mid"));
    copy_file(TG_TEST_DATA "/overlap.mid", path_in("sub/overlap.mid"));
    copy_file(TG_TEST_DATA "/tempo_map_f1.mid", path_in("tempo_map_f1.mid"));
    copy_file(TG_TEST_DATA "/format1.mid", path_in("UPPER.MIDI"));
    copy_file(TG_TEST_DATA "/random_bytes.mid", path_in("broken.mid"));
    /* a valid file with no note: MThd and one track holding only its end */
    static const uint8_t no_notes[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 1, 0xE0,
                                       'M', 'T', 'r', 'k', 0, 0, 0, 4, 0, 0xFF, 0x2F, 0};
    write_bytes(path_in("sub/nonotes.mid"), no_notes, sizeof no_notes);
    write_bytes(path_in("readme.txt"), "not music", 9);
    copy_file(TG_TEST_DATA "/format0.mid", path_in(".hidden.mid"));
}

static void remove_folder(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

/* Tokens of a MIDI file tokenized directly, optionally transposed. */
static void direct_tokens(const char *path, int shift, tok_seq *seq)
{
    tg_score *s = NULL;
    tg_midi_read_options ro = tg_midi_read_options_default();
    CHECK_OK(tg_midi_read_file(path, &ro, &s, NULL, NULL));
    if (!s) return;
    for (size_t t = 0; t < s->n_tracks; t++)
        for (size_t i = 0; !s->tracks[t].is_drum && i < s->tracks[t].n_notes; i++)
            s->tracks[t].notes[i].pitch = (uint8_t)(s->tracks[t].notes[i].pitch + shift);
    tok_config c = tok_config_default(TOK_REMI);
    tok_tokenizer *tok;
    CHECK_OK(tok_create(&c, &tok));
    CHECK_OK(tok_encode(tok, s, seq));
    tok_free(tok);
    tg_score_free(s);
}

/* ------------------------------------------------------------------------ */

static void test_build_and_read(void)
{
    const char *dirs[] = {dir};
    data_build_options o = options();
    data_build_report rep;
    data_error err;
    CHECK_OK(data_build(dirs, 1, path_in("a.corpus"), &o, &rep, &err));
    CHECK_INT(rep.files_found, N_GOOD + 2);
    CHECK_INT(rep.files_read, N_GOOD);
    CHECK_INT(rep.files_skipped, 2);
    CHECK_INT(rep.skipped_no_notes, 1);
    CHECK_INT(rep.skipped_by_status[TG_ERR_NOT_MIDI], 1);
    CHECK(strstr(log_text, "broken.mid") != NULL);
    CHECK(strstr(log_text, "nonotes.mid: no notes") != NULL);
    CHECK(strstr(log_text, "readme") == NULL);
    CHECK_INT(rep.pieces[0] + rep.pieces[1] + rep.pieces[2], N_GOOD);

    data_corpus *c;
    CHECK_OK(data_corpus_open(path_in("a.corpus"), &c, &err));
    if (!c) return;
    CHECK_INT(c->n_pieces, N_GOOD);
    CHECK_INT(c->vocab_size, 577);
    CHECK(strncmp(c->config, "remi:", 5) == 0);
    uint64_t total = 0;
    int saw_upper = 0, saw_deeper = 0;
    for (uint64_t i = 0; i < c->n_pieces; i++) {
        const data_piece *p = &c->pieces[i];
        const char *rel = data_corpus_path(c, i);
        if (i > 0) CHECK(strcmp(data_corpus_path(c, i - 1), rel) < 0); /* sorted by path */
        CHECK_INT(p->offset, total);
        total += p->length;
        CHECK_INT(c->tokens[p->offset], TOK_BOS);
        CHECK_INT(c->tokens[p->offset + p->length - 1], TOK_EOS);
        CHECK_INT(p->split, data_hash_split(rel));
        CHECK_INT(p->transpose, 0);
        saw_upper += strcmp(rel, "UPPER.MIDI") == 0;
        saw_deeper += strcmp(rel, "sub/deeper/tune23.mid") == 0;
        tok_seq seq = {0};
        direct_tokens(path_in(rel), 0, &seq);
        CHECK_INT(seq.n, p->length);
        if (seq.n == p->length) CHECK(memcmp(seq.ids, c->tokens + p->offset, seq.n * 2) == 0);
        tok_seq_free(&seq);
    }
    CHECK_INT(total, c->n_tokens);
    CHECK_INT(saw_upper, 1);
    CHECK_INT(saw_deeper, 1);
    CHECK_INT(c->split_count[0] + c->split_count[1] + c->split_count[2], N_GOOD);
    data_corpus_close(c);

    /* the same bytes whatever the thread count */
    for (int threads = 1; threads <= 3; threads += 2) {
        o = options();
        o.threads = threads;
        CHECK_OK(data_build(dirs, 1, path_in("b.corpus"), &o, &rep, &err));
        uint8_t *a, *b;
        size_t na, nb;
        CHECK_OK(tg_file_read_all(path_in("a.corpus"), 1 << 26, &a, &na));
        CHECK_OK(tg_file_read_all(path_in("b.corpus"), 1 << 26, &b, &nb));
        CHECK_INT(na, nb);
        CHECK(na == nb && memcmp(a, b, na) == 0);
        free(a);
        free(b);
    }
    /* nothing left behind under a temporary name */
    CHECK(access(path_in("b.corpus.tmp"), F_OK) != 0);

    /* other tokenizers */
    o = options();
    o.tok = tok_config_default(TOK_PERF);
    CHECK_OK(data_build(dirs, 1, path_in("perf.corpus"), &o, &rep, &err));
    CHECK_OK(data_corpus_open(path_in("perf.corpus"), &c, &err));
    CHECK_INT(c->vocab_size, 391);
    CHECK(strncmp(c->config, "perf:", 5) == 0);
    data_corpus_close(c);
}

static void test_folder_errors(void)
{
    data_build_options o = options();
    data_build_report rep;
    data_error err;
    const char *missing[] = {"/nonexistent/tg_folder"};
    CHECK_STATUS(data_build(missing, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err.what, "/nonexistent/tg_folder") != NULL);
    const char *empty[] = {path_in("empty")};
    CHECK_STATUS(data_build(empty, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err.what, "no .mid or .midi files") != NULL);
    CHECK(strstr(err.what, "empty") != NULL);
    const char *file[] = {path_in("readme.txt")};
    CHECK_STATUS(data_build(file, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_ARG);
    CHECK(strstr(err.what, "not a folder") != NULL);
    const char *two[] = {dir, path_in("empty")};
    CHECK_STATUS(data_build(two, 2, path_in("x.corpus"), &o, &rep, &err), TG_ERR_NOT_FOUND);
    CHECK(access(path_in("x.corpus"), F_OK) != 0);
    o.transpose_lo = 3;
    o.transpose_hi = 1;
    const char *dirs[] = {dir};
    CHECK_STATUS(data_build(dirs, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_RANGE);
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

/* A TSV naming every good file: bare names, the given split for tune00..03. */
static void write_tsv_bare(const char *path, const char *extra)
{
    char buf[4096] = "# file\tsplit\n\n";
    for (int i = 0; i < N_TUNES; i++) {
        size_t at = strlen(buf);
        snprintf(buf + at, sizeof buf - at, "tune%02d.mid\t%s\n", i,
                 i < 4 ? "test" : i < 8 ? "valid" : "train");
    }
    strcat(buf, "format0.mid\ttrain\noverlap.mid\ttrain\ntempo_map_f1.mid\ttrain\nUPPER.MIDI\ttrain\n"
                "broken.mid\ttrain\nnonotes.mid\ttrain\n");
    strcat(buf, extra);
    write_text(path, buf);
}

static void test_tsv_splits(void)
{
    const char *dirs[] = {dir};
    data_build_report rep;
    data_error err;
    data_corpus *c;
    data_build_options o = options();
    write_tsv_bare(path_in("bare.tsv"), "");
    o.split_path = path_in("bare.tsv");
    CHECK_OK(data_build(dirs, 1, path_in("t.corpus"), &o, &rep, &err));
    CHECK_INT(rep.pieces[DATA_TEST], 4);
    CHECK_INT(rep.pieces[DATA_VALID], 4);
    CHECK_INT(rep.pieces[DATA_TRAIN], N_GOOD - 8);
    CHECK_OK(data_corpus_open(path_in("t.corpus"), &c, &err));
    for (uint64_t i = 0; c && i < c->n_pieces; i++) {
        const char *rel = data_corpus_path(c, i);
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        int k = -1;
        if (sscanf(base, "tune%d.mid", &k) == 1)
            CHECK_INT(c->pieces[i].split, k < 4 ? DATA_TEST : k < 8 ? DATA_VALID : DATA_TRAIN);
    }
    data_corpus_close(c);

    /* a name the folder does not hold: an error naming it, or a warning */
    write_tsv_bare(path_in("extra.tsv"), "ghost.mid\ttest\n");
    o = options();
    o.split_path = path_in("extra.tsv");
    CHECK_STATUS(data_build(dirs, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err.what, "ghost.mid") != NULL);
    CHECK(strstr(err.what, "1 file not found") != NULL);
    CHECK(access(path_in("x.corpus"), F_OK) != 0);
    o.allow_missing = true;
    CHECK_OK(data_build(dirs, 1, path_in("x.corpus"), &o, &rep, &err));
    CHECK_INT(rep.missing, 1);
    CHECK(strstr(log_text, "ghost.mid") != NULL);

    /* with folders in the TSV, paths must match exactly: the others are unlisted */
    write_text(path_in("folders.tsv"), "sub/tune16.mid\ttest\ntune00.mid\tvalid\n");
    o = options();
    o.split_path = path_in("folders.tsv");
    CHECK_STATUS(data_build(dirs, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err.what, "not named in") != NULL);
    o.allow_missing = true;
    CHECK_OK(data_build(dirs, 1, path_in("f.corpus"), &o, &rep, &err));
    CHECK_INT(rep.unlisted, N_GOOD + 2 - 2);
    CHECK_OK(data_corpus_open(path_in("f.corpus"), &c, &err));
    for (uint64_t i = 0; c && i < c->n_pieces; i++) {
        const char *rel = data_corpus_path(c, i);
        int want = strcmp(rel, "sub/tune16.mid") == 0 ? DATA_TEST
                   : strcmp(rel, "tune00.mid") == 0   ? DATA_VALID
                                                      : data_hash_split(rel);
        CHECK_INT(c->pieces[i].split, want);
    }
    data_corpus_close(c);

    /* malformed TSVs name the line */
    static const struct {
        const char *text, *word;
    } bad[] = {
        {"tune00.mid\ttrain\ntune01.mid\tdev\n", ":2: unknown split 'dev'"},
        {"# c\ntune00.mid train\n", ":2: expected"},
        {"tune00.mid\ttrain\ntune00.mid\ttest\n", ":2: tune00.mid is already named on line 1"},
        {"# nothing\n", "no 'path<TAB>split' lines"},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bad); i++) {
        write_text(path_in("bad.tsv"), bad[i].text);
        o = options();
        o.split_path = path_in("bad.tsv");
        o.allow_missing = true;
        CHECK_STATUS(data_build(dirs, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_FORMAT);
        if (!strstr(err.what, bad[i].word)) fprintf(stderr, "got: %s\n", err.what);
        CHECK(strstr(err.what, bad[i].word) != NULL);
    }
    o = options();
    o.split_path = path_in("no_such.tsv");
    CHECK_STATUS(data_build(dirs, 1, path_in("x.corpus"), &o, &rep, &err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err.what, "no_such.tsv") != NULL);
}

static void test_hash_split(void)
{
    CHECK_INT(data_crc32("123456789", 9), 0xCBF43926u); /* the CRC-32 check value */
    /* the rule of ../shared/data/nottingham/split.tsv, where it is at hand */
    FILE *fp = fopen(TG_SHARED_DATA "/nottingham/split.tsv", "r");
    if (!fp) {
        printf("nottingham split.tsv not found: hash split checked on the CRC check value only\n");
        return;
    }
    char line[512];
    int n = 0, same = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        char name[256], split[16];
        if (sscanf(line, "%255[^\t]\t%15s", name, split) != 2) continue;
        n++;
        same += strcmp(data_split_name(data_hash_split(name)), split) == 0;
    }
    fclose(fp);
    printf("hash split agrees with nottingham/split.tsv on %d of %d files\n", same, n);
    CHECK(n > 1000);
    CHECK_INT(same, n);
}

static void test_transpose(void)
{
    const char *dirs[] = {dir};
    data_build_report rep;
    data_error err;
    data_build_options o = options();
    o.split_path = path_in("bare.tsv");
    o.transpose_lo = -2;
    o.transpose_hi = 3;
    CHECK_OK(data_build(dirs, 1, path_in("tr.corpus"), &o, &rep, &err));
    CHECK_INT(rep.pieces[DATA_TEST], 4);
    CHECK_INT(rep.pieces[DATA_VALID], 4);
    data_corpus *c;
    CHECK_OK(data_corpus_open(path_in("tr.corpus"), &c, &err));
    if (!c) return;
    uint64_t train = 0;
    for (uint64_t i = 0; i < c->n_pieces; i++) {
        const data_piece *p = &c->pieces[i];
        if (p->split != DATA_TRAIN) {
            CHECK_INT(p->transpose, 0);
            continue;
        }
        train++;
        CHECK(p->transpose >= -2 && p->transpose <= 3);
        if (i > 0 && strcmp(data_corpus_path(c, i), data_corpus_path(c, i - 1)) == 0)
            CHECK(p->transpose > c->pieces[i - 1].transpose);
        tok_seq seq = {0};
        direct_tokens(path_in(data_corpus_path(c, i)), p->transpose, &seq);
        CHECK_INT(seq.n, p->length);
        if (seq.n == p->length) CHECK(memcmp(seq.ids, c->tokens + p->offset, seq.n * 2) == 0);
        tok_seq_free(&seq);
    }
    /* every training file fits all 6 shifts (pitches 36..80 here, fixtures in the middle) */
    CHECK_INT(train, (N_GOOD - 8) * 6);
    CHECK_INT(rep.transposed, (N_GOOD - 8) * 5);
    data_corpus_close(c);
}

/* ------------------------------------------------------------------------ */
/* Damaged corpus files. */

static void rewrite_checksum(uint8_t *m, size_t n)
{
    uint64_t h = data_checksum(DATA_CHECKSUM_INIT, m + DATA_HEADER_SIZE, n - DATA_HEADER_SIZE);
    for (int i = 0; i < 8; i++) m[88 + i] = (uint8_t)(h >> (8 * i));
}

static void expect_damaged(const uint8_t *m, size_t n, tg_status want, const char *word)
{
    write_bytes(path_in("d.corpus"), m, n);
    data_corpus *c = NULL;
    data_error err;
    CHECK_STATUS(data_corpus_open(path_in("d.corpus"), &c, &err), want);
    CHECK(c == NULL);
    if (!strstr(err.what, word)) fprintf(stderr, "message '%s' lacks '%s'\n", err.what, word);
    CHECK(strstr(err.what, word) != NULL);
    CHECK(strstr(err.what, "d.corpus") != NULL);
}

static void test_damaged(void)
{
    uint8_t *good;
    size_t n;
    CHECK_OK(tg_file_read_all(path_in("a.corpus"), 1 << 26, &good, &n));
    uint8_t *m = malloc(n);
    memcpy(m, good, n);
    m[0] = 'X';
    expect_damaged(m, n, TG_ERR_FORMAT, "not a tunegan corpus");
    memcpy(m, good, n);
    m[8] = 2;
    expect_damaged(m, n, TG_ERR_VERSION, "version 2");
    expect_damaged(good, n - 10, TG_ERR_FORMAT, "truncated");
    expect_damaged(good, 50, TG_ERR_FORMAT, "truncated");
    expect_damaged(good, 0, TG_ERR_FORMAT, "not a tunegan corpus");
    memcpy(m, good, n);
    m[n - 3] ^= 0x40; /* a token */
    expect_damaged(m, n, TG_ERR_FORMAT, "checksum");
    /* damage the checksum would not catch (it was rewritten): bounds and ids */
    memcpy(m, good, n);
    uint64_t index_off = 0;
    for (int i = 0; i < 8; i++) index_off |= (uint64_t)m[48 + i] << (8 * i);
    m[index_off + 8 + 3] = 0x7F; /* first piece's length: huge */
    rewrite_checksum(m, n);
    expect_damaged(m, n, TG_ERR_FORMAT, "index entry 0");
    /* a NUL inside the first piece's path (found by fuzz_corpus: data_corpus_path
     * handed out a shorter string than the index says) */
    memcpy(m, good, n);
    uint64_t paths_off = 0;
    for (int i = 0; i < 8; i++) paths_off |= (uint64_t)m[56 + i] << (8 * i);
    uint32_t path_at = 0;
    for (int i = 0; i < 4; i++) path_at |= (uint32_t)m[index_off + 12 + i] << (8 * i);
    m[paths_off + path_at] = 0;
    rewrite_checksum(m, n);
    expect_damaged(m, n, TG_ERR_FORMAT, "index entry 0");
    memcpy(m, good, n);
    m[n - 1] = 0xFF; /* the last token: id 65535-ish */
    rewrite_checksum(m, n);
    expect_damaged(m, n, TG_ERR_FORMAT, "vocabulary has 577");
    memcpy(m, good, n);
    m[12] = 9; /* vocabulary size in the header */
    expect_damaged(m, n, TG_ERR_FORMAT, "vocabulary size");
    memcpy(m, good, n);
    m[86] = 0x01; /* file size field: 2^48 more */
    expect_damaged(m, n, TG_ERR_FORMAT, "truncated");
    /* a longer file than written */
    uint8_t *longer = calloc(n + 8, 1);
    memcpy(longer, good, n);
    expect_damaged(longer, n + 8, TG_ERR_FORMAT, "longer than written");
    free(longer);
    /* random damage anywhere: a status, never a crash (ASan builds check the reads) */
    tg_rng rng;
    tg_rng_seed(&rng, 99);
    int caught = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(m, good, n);
        int flips = 1 + (int)tg_rng_below(&rng, 4);
        for (int f = 0; f < flips; f++) m[tg_rng_below(&rng, (uint32_t)n)] ^= (uint8_t)(1 + tg_rng_below(&rng, 255));
        if (round % 2) rewrite_checksum(m, n); /* let the damage past the checksum */
        size_t len = round % 5 == 0 ? tg_rng_below(&rng, (uint32_t)n) : n;
        write_bytes(path_in("r.corpus"), m, len);
        data_corpus *rc = NULL;
        data_error rerr;
        tg_status st = data_corpus_open(path_in("r.corpus"), &rc, &rerr);
        CHECK(st == TG_OK || st == TG_ERR_FORMAT || st == TG_ERR_VERSION);
        caught += st != TG_OK;
        if (rc && rc->split_count[DATA_TRAIN] > 0) {
            int32_t in[4 * 32], tg[4 * 32];
            CHECK_OK(data_train_batch(rc, &rng, 4, 32, in, tg));
        }
        data_corpus_close(rc);
    }
    printf("random damage: %d of 300 damaged corpora refused\n", caught);
    CHECK(caught > 150);

    data_corpus *c = NULL;
    data_error err;
    CHECK_STATUS(data_corpus_open(path_in("missing.corpus"), &c, &err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err.what, "missing.corpus") != NULL);
    free(m);
    free(good);
}

/* ------------------------------------------------------------------------ */
/* Batches and statistics. */

static void test_batches(void)
{
    data_corpus *c = NULL;
    data_error err;
    CHECK_OK(data_corpus_open(path_in("t.corpus"), &c, &err)); /* 4 test, 4 valid pieces */
    if (!c) return;
    enum { B = 16, T = 64 };
    int32_t in1[B * T], tg1[B * T], in2[B * T], tg2[B * T];
    tg_rng r1, r2;
    tg_rng_seed(&r1, 42);
    tg_rng_seed(&r2, 42);
    int starts_with_bos = 0;
    for (int round = 0; round < 50; round++) {
        CHECK_OK(data_train_batch(c, &r1, B, T, in1, tg1));
        CHECK_OK(data_train_batch(c, &r2, B, T, in2, tg2));
        CHECK(memcmp(in1, in2, sizeof in1) == 0);
        CHECK(memcmp(tg1, tg2, sizeof tg1) == 0);
        for (int b = 0; b < B; b++) {
            const int32_t *in = in1 + b * T, *tg = tg1 + b * T;
            starts_with_bos += in[0] == TOK_BOS;
            for (int j = 0; j < T; j++) {
                if (j > 0) CHECK(in[j] != TOK_BOS); /* BOS only at a piece's start */
                if (j + 1 < T && tg[j + 1] != DATA_IGNORE) CHECK_INT(tg[j], in[j + 1]);
                CHECK(in[j] >= 0 && in[j] < (int)c->vocab_size);
            }
        }
    }
    CHECK(starts_with_bos > 0);
    tg_rng_seed(&r2, 43);
    CHECK_OK(data_train_batch(c, &r2, B, T, in2, tg2));
    tg_rng_seed(&r1, 42);
    CHECK_OK(data_train_batch(c, &r1, B, T, in1, tg1));
    CHECK(memcmp(in1, in2, sizeof in1) != 0);

    /* windows longer than every piece: whole pieces from BOS, padded */
    enum { TL = 4096 };
    int32_t *inl = malloc(4 * TL * sizeof *inl), *tgl = malloc(4 * TL * sizeof *tgl);
    CHECK_OK(data_train_batch(c, &r1, 4, TL, inl, tgl));
    for (int b = 0; b < 4; b++) {
        CHECK_INT(inl[b * TL], TOK_BOS);
        CHECK_INT(inl[b * TL + TL - 1], TOK_PAD);
        CHECK_INT(tgl[b * TL + TL - 1], DATA_IGNORE);
        int last = 0;
        while (tgl[b * TL + last + 1] != DATA_IGNORE) last++;
        CHECK_INT(tgl[b * TL + last], TOK_EOS);
    }
    free(inl);
    free(tgl);
    CHECK_STATUS(data_train_batch(c, &r1, 0, T, in1, tg1), TG_ERR_ARG);

    /* evaluation: every token but BOS is a target once, in order */
    for (int split = DATA_VALID; split <= DATA_TEST; split++) {
        CHECK_INT(c->split_count[split], 4);
        data_eval_iter it = data_eval_begin(c, split, 16);
        uint64_t windows = 0, piece = 0, pos = 1;
        int rows;
        int32_t ein[3 * 16], etg[3 * 16];
        for (;;) {
            data_eval_next(&it, 3, ein, etg, &rows);
            if (rows == 0) break;
            windows += (uint64_t)rows;
            for (int r = 0; r < rows * 16; r++) {
                if (etg[r] == DATA_IGNORE) continue;
                const data_piece *p = &c->pieces[c->split_pieces[split][piece]];
                CHECK_INT(etg[r], c->tokens[p->offset + pos]);
                if (++pos == p->length) piece++, pos = 1;
            }
        }
        CHECK_INT(piece, 4); /* every piece consumed to its end */
        CHECK_INT(windows, data_eval_window_count(c, split, 16));
        uint64_t targets = c->split_tokens[split] - c->split_count[split];
        CHECK(windows * 16 >= targets && (windows - 4) * 16 < targets);
    }
    data_corpus_close(c);
}

static void test_stats(void)
{
    data_corpus *c = NULL;
    data_error err;
    CHECK_OK(data_corpus_open(path_in("t.corpus"), &c, &err));
    if (!c) return;
    tok_config cfg;
    CHECK_OK(tok_config_parse(c->config, &cfg, NULL, 0));
    tok_tokenizer *tok;
    CHECK_OK(tok_create(&cfg, &tok));
    data_stats st;
    CHECK_OK(data_compute_stats(c, tok, &st));
    CHECK_INT(st.pieces[DATA_TEST], 4);
    CHECK_INT(st.tokens[0] + st.tokens[1] + st.tokens[2], c->n_tokens);
    CHECK(st.length_min <= st.length_p10 && st.length_p10 <= st.length_p50);
    CHECK(st.length_p50 <= st.length_p90 && st.length_p90 <= st.length_max);
    uint64_t mn = UINT64_MAX, mx = 0;
    for (uint64_t i = 0; i < c->n_pieces; i++) {
        if (c->pieces[i].length < mn) mn = c->pieces[i].length;
        if (c->pieces[i].length > mx) mx = c->pieces[i].length;
    }
    CHECK_INT(st.length_min, mn);
    CHECK_INT(st.length_max, mx);
    CHECK(st.pitch_min >= 36 && st.pitch_max <= 127 && st.pitch_min < st.pitch_max);
    CHECK_INT(st.n_top, DATA_TOP_TOKENS);
    for (int k = 1; k < st.n_top; k++) CHECK(st.top_count[k] <= st.top_count[k - 1]);
    /* every note has one Program token: the top token is a Program or Velocity */
    tok_info top = tok_get_info(tok, st.top_id[0]);
    CHECK(top.type == TOK_T_PROGRAM || top.type == TOK_T_VELOCITY);
    tok_free(tok);
    data_corpus_close(c);
}

/* data_check_score and the limits of check.c on scores built in memory
 * (120 bpm, 96 ticks per quarter: 192 ticks a second). */
static void test_check(void)
{
    tg_score *s = NULL;
    CHECK_OK(tg_score_create(96, &s));
    if (!s) return;
    size_t melody, drums;
    CHECK_OK(tg_score_add_track(s, "melody", 0, 0, -1, &melody));
    CHECK_OK(tg_score_add_track(s, "drums", 9, 0, -1, &drums));
    data_check c;
    char why[400] = "";
    CHECK_OK(data_check_score(s, &c));
    CHECK(!data_check_why(&c, why, sizeof why));
    CHECK_STR(why, "no notes");
    /* a note at 70 s after a drum note: the drums end the silence at 1 s */
    tg_note drum = {0, 192, 36, 100, 9}, late = {70 * 192, 71 * 192, 60, 100, 0};
    CHECK_OK(tg_score_add_note(s, drums, drum));
    CHECK_OK(tg_score_add_note(s, melody, late));
    CHECK_OK(data_check_score(s, &c));
    CHECK_INT(c.notes, 2);
    CHECK_INT(c.drum_notes, 1);
    CHECK_NEAR(c.longest_silence_sec, 69.0, 1e-9);
    CHECK_NEAR(c.silence_from_sec, 1.0, 1e-9);
    CHECK_NEAR(c.end_sec, 71.0, 1e-9);
    CHECK(!data_check_why(&c, why, sizeof why));
    if (!strstr(why, "a silence of 69 s (from 1.0 s to 70.0 s)")) TEST_FAIL_("why: %s", why);
    /* a long note across the gap: no silence left, 71 s is within an hour */
    tg_note held = {100, 60 * 192, 48, 100, 0};
    CHECK_OK(tg_score_add_note(s, melody, held));
    CHECK_OK(data_check_score(s, &c));
    CHECK_NEAR(c.longest_silence_sec, 10.0, 1e-9);
    CHECK(data_check_why(&c, why, sizeof why));
    CHECK(data_check_tokens(&c, 5, "grid", why, sizeof why));
    CHECK(!data_check_tokens(&c, 2, "grid", why, sizeof why));
    CHECK_STR(why, "the grid tokenizer keeps none of its 3 notes");
    /* the silence before the first note counts */
    tg_score_free(s);
    CHECK_OK(tg_score_create(96, &s));
    CHECK_OK(tg_score_add_track(s, "late", 0, 0, -1, &melody));
    late.start_ticks = 61 * 192;
    CHECK_OK(tg_score_add_note(s, melody, late));
    CHECK_OK(data_check_score(s, &c));
    CHECK_NEAR(c.longest_silence_sec, 61.0, 1e-9);
    CHECK(!data_check_why(&c, why, sizeof why));
    /* one note held past an hour: no silence, but too long */
    tg_note drone = {0, 3601 * 192, 40, 100, 0};
    CHECK_OK(tg_score_add_note(s, melody, drone));
    CHECK_OK(data_check_score(s, &c));
    CHECK_NEAR(c.longest_silence_sec, 0.0, 1e-9);
    CHECK(!data_check_why(&c, why, sizeof why));
    CHECK_STR(why, "it lasts 3601 s: over the 3600 s a piece may last (a long note or a wrong tempo?)");
    tg_score_free(s);
}

/* The writer stores tokens in the order they are put and writes pieces in the
 * order they are added: tokens put out of order (as data_build's threads put
 * them) give the same file as data_write_corpus; a piece naming tokens never
 * put is refused at finish, and nothing is written. */
static void test_writer(void)
{
    static const uint16_t a[] = {1, 5, 6, 2}, b[] = {1, 7, 2}, c[] = {1, 3, 4, 8, 2};
    const char *paths[] = {"x.mid", "sub/y.mid"};
    const data_out_piece pieces[] = {{a, 4, 0, DATA_TRAIN, 0}, {b, 3, 0, DATA_TRAIN, 1}, {c, 5, 1, DATA_TEST, 0}};
    data_error err;
    CHECK_OK(data_write_corpus(path_in("w1.corpus"), "raw:v=1,vocab=6", 9, paths, 2, pieces, 3, &err));
    data_writer *w;
    CHECK_OK(data_writer_open(path_in("w2.corpus"), "raw:v=1,vocab=6", 9, &w, &err));
    uint64_t at[3];
    CHECK_OK(data_writer_put_tokens(w, c, 5, &at[2]));
    CHECK_OK(data_writer_put_tokens(w, a, 4, &at[0]));
    CHECK_OK(data_writer_put_tokens(w, b, 3, &at[1]));
    uint32_t p0, p1;
    CHECK_OK(data_writer_add_path(w, paths[0], &p0));
    CHECK_OK(data_writer_add_path(w, paths[1], &p1));
    CHECK_INT(p1, 1);
    for (int k = 0; k < 3; k++) CHECK_OK(data_writer_add_stored(w, at[k], &pieces[k]));
    CHECK_OK(data_writer_finish(w, &err));
    uint8_t *m1, *m2;
    size_t n1, n2;
    CHECK_OK(tg_file_read_all(path_in("w1.corpus"), 1 << 20, &m1, &n1));
    CHECK_OK(tg_file_read_all(path_in("w2.corpus"), 1 << 20, &m2, &n2));
    CHECK_INT(n1, n2);
    CHECK(n1 == n2 && memcmp(m1, m2, n1) == 0);
    free(m1);
    free(m2);
    data_corpus *cp;
    CHECK_OK(data_corpus_open(path_in("w2.corpus"), &cp, &err));
    CHECK_INT(cp->n_pieces, 3);
    CHECK_STR(data_corpus_path(cp, 2), "sub/y.mid");
    CHECK_INT(cp->tokens[cp->pieces[2].offset + 3], 8);
    data_corpus_close(cp);

    CHECK_OK(data_writer_open(path_in("w3.corpus"), "raw:v=1,vocab=6", 9, &w, &err));
    CHECK_OK(data_writer_add_path(w, paths[0], &p0));
    CHECK_OK(data_writer_put_tokens(w, a, 4, &at[0]));
    CHECK_STATUS(data_writer_add_stored(w, at[0] + 1, &pieces[0]), TG_ERR_ARG); /* past what was put */
    CHECK_STATUS(data_writer_add_piece(w, &pieces[1]), TG_ERR_ARG);             /* the failure stays */
    CHECK_STATUS(data_writer_finish(w, &err), TG_ERR_ARG);
    CHECK(strstr(err.what, "w3.corpus") != NULL);
    CHECK(!tg_file_exists(path_in("w3.corpus")));
}

int main(void)
{
    make_folder();
    test_writer();
    test_build_and_read();
    test_folder_errors();
    test_tsv_splits();
    test_hash_split();
    test_transpose();
    test_damaged();
    test_batches();
    test_stats();
    test_check();
    remove_folder();
    return test_finish("test_corpus");
}
