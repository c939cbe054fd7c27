/*
 * corpus.c: building a corpus. Walks folders for MIDI files, assigns each a
 * split (split.c), reads and tokenizes the files in parallel (OpenMP; each
 * file's result goes to its own slot, so the output is the same whatever the
 * thread count), logs and counts the files it skips, and writes the corpus
 * file laid out as data.h describes. What it leaves out: the whole token
 * array is held in memory before it is written (fine for tens of millions of
 * tokens; a streaming writer would be the next step for more).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif

#include "../core/core.h"
#include "data.h"

_Static_assert(sizeof(data_piece) == 24, "index entries are 24 bytes");

data_build_options data_build_options_default(void)
{
    data_build_options o;
    memset(&o, 0, sizeof o);
    o.tok = tok_config_default(TOK_REMI);
    o.max_file_bytes = 64u << 20;
    return o;
}

const char *data_split_name(int split)
{
    static const char *const names[] = {"train", "valid", "test"};
    return split >= 0 && split < DATA_SPLITS ? names[split] : "?";
}

void data_fail(data_error *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->what, sizeof err->what, fmt, ap);
    va_end(ap);
}

bool data_host_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ------------------------------------------------------------------------ */
/* Walking folders. */

static bool is_midi_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0);
}

typedef struct {
    data_file *v;
    size_t n, cap;
} file_list;

/* Adds the MIDI files under dir/rel (rel "" at the root). Entries whose name
 * starts with '.' are ignored; links are followed up to a depth of 32 folders. */
static tg_status walk(file_list *fl, const char *root, size_t root_index, const char *rel,
                      int depth)
{
    if (depth > 32) return TG_OK;
    size_t plen = strlen(root) + strlen(rel) + 2;
    char *dir = malloc(plen);
    if (!dir) return TG_ERR_NOMEM;
    snprintf(dir, plen, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *dp = opendir(dir);
    if (!dp) {
        free(dir);
        return depth == 0 ? (errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO) : TG_OK;
    }
    tg_status st = TG_OK;
    struct dirent *e;
    while (st == TG_OK && (e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        size_t rl = strlen(rel) + strlen(e->d_name) + 2;
        char *child_rel = malloc(rl);
        size_t fl_len = strlen(dir) + strlen(e->d_name) + 2;
        char *full = malloc(fl_len);
        if (!child_rel || !full) {
            free(child_rel);
            free(full);
            st = TG_ERR_NOMEM;
            break;
        }
        snprintf(child_rel, rl, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, fl_len, "%s/%s", dir, e->d_name);
        struct stat sb;
        bool keep = false;
        if (stat(full, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                st = walk(fl, root, root_index, child_rel, depth + 1);
            } else if (S_ISREG(sb.st_mode) && is_midi_name(e->d_name)) {
                st = tg_grow((void **)&fl->v, &fl->cap, fl->n + 1, sizeof *fl->v);
                if (st == TG_OK) {
                    fl->v[fl->n++] = (data_file){child_rel, full, root_index, -1};
                    keep = true;
                }
            }
        }
        if (!keep) {
            free(child_rel);
            free(full);
        }
    }
    closedir(dp);
    free(dir);
    return st;
}

static int cmp_file(const void *pa, const void *pb)
{
    const data_file *a = pa, *b = pb;
    int c = strcmp(a->rel, b->rel);
    if (c) return c;
    return (a->root > b->root) - (a->root < b->root);
}

static void free_files(data_file *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].rel);
        free(v[i].full);
    }
    free(v);
}

/* ------------------------------------------------------------------------ */
/* Tokenizing one file. */

typedef struct {
    int8_t transpose;
    tok_seq seq;
} piece_out;

typedef struct {
    tg_status status;       /* TG_OK: tokenized */
    bool no_notes, unfit;
    char why[640];          /* reason when skipped */
    char warnings[400];     /* the reader's first warnings, "; " between them */
    bool warnings_cut;      /* some did not fit */
    const char *name;       /* the reader's prefix of its warnings */
    piece_out *pieces;
    size_t n_pieces;
} file_result;

/* The reader's logger: keeps what fits of its warnings, without the file name. */
static void keep_warning(void *user, tg_log_level level, const char *msg)
{
    file_result *r = user;
    (void)level;
    size_t name_len = strlen(r->name);
    if (strncmp(msg, r->name, name_len) == 0 && strncmp(msg + name_len, ": ", 2) == 0) msg += name_len + 2;
    size_t n = strlen(r->warnings), sep = n ? 2 : 0, len = strlen(msg);
    if (n + sep + len >= sizeof r->warnings) {
        r->warnings_cut = true;
        return;
    }
    memcpy(r->warnings + n, "; ", sep);
    memcpy(r->warnings + n + sep, msg, len + 1);
}

static bool can_transpose(const tg_score *s, int shift)
{
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (s->tracks[t].is_drum) continue;
        for (size_t i = 0; i < s->tracks[t].n_notes; i++) {
            int p = s->tracks[t].notes[i].pitch + shift;
            if (p < 0 || p > 127) return false;
        }
    }
    return true;
}

static tg_status add_piece(file_result *r, int shift, const tok_tokenizer *tok, const tg_score *s)
{
    piece_out *p = realloc(r->pieces, (r->n_pieces + 1) * sizeof *p);
    if (!p) return TG_ERR_NOMEM;
    r->pieces = p;
    piece_out *po = &p[r->n_pieces];
    memset(po, 0, sizeof *po);
    po->transpose = (int8_t)shift;
    tg_status st = tok_encode(tok, s, &po->seq);
    if (st != TG_OK) {
        tok_seq_free(&po->seq);
        return st;
    }
    r->n_pieces++;
    return TG_OK;
}

static void tokenize_file(const data_file *f, const tok_tokenizer *tok,
                          const data_build_options *opt, file_result *r)
{
    memset(r, 0, sizeof *r);
    tg_midi_read_options ro = tg_midi_read_options_default();
    ro.name = f->full;
    r->name = f->full;
    ro.logger.fn = keep_warning;
    ro.logger.user = r;
    ro.max_bytes = opt->max_file_bytes;
    tg_midi_error merr;
    memset(&merr, 0, sizeof merr);
    merr.byte_offset = -1;
    merr.track = -1;
    tg_score *s = NULL;
    tg_status st = tg_midi_read_file(f->full, &ro, &s, NULL, &merr);
    if (st != TG_OK) {
        r->status = st;
        /* the reader's sentence says what and where; the status alone otherwise */
        snprintf(r->why, sizeof r->why, "%s", merr.what[0] ? merr.what : tg_status_str(st));
        return;
    }
    data_check chk;
    st = data_check_score(s, &chk);
    if (st == TG_OK && !data_check_why(&chk, r->why, sizeof r->why)) {
        r->no_notes = chk.notes == 0;
        r->unfit = !r->no_notes;
        r->status = TG_ERR_FORMAT;
        if (r->no_notes && (r->warnings[0] || r->warnings_cut)) /* what the reader met may be why */
            snprintf(r->why, sizeof r->why, "no notes (the reader: %s%s)", r->warnings,
                     r->warnings_cut ? "; ..." : "");
        tg_score_free(s);
        return;
    }
    /* the piece as it is, and its transpositions (training split only), in shift order */
    int lo = 0, hi = 0;
    if (f->split == DATA_TRAIN) lo = opt->transpose_lo, hi = opt->transpose_hi;
    if (lo > 0) lo = 0;
    if (hi < 0) hi = 0;
    for (int shift = lo; st == TG_OK && shift <= hi; shift++) {
        if (shift == 0) {
            st = add_piece(r, 0, tok, s);
            continue;
        }
        if (!can_transpose(s, shift)) continue;
        tg_score *c = NULL;
        st = tg_score_clone(s, &c);
        for (size_t t = 0; st == TG_OK && t < c->n_tracks; t++) {
            if (c->tracks[t].is_drum) continue;
            for (size_t i = 0; i < c->tracks[t].n_notes; i++)
                c->tracks[t].notes[i].pitch = (uint8_t)(c->tracks[t].notes[i].pitch + shift);
        }
        if (st == TG_OK) st = add_piece(r, shift, tok, c);
        tg_score_free(c);
    }
    tg_score_free(s);
    if (st == TG_OK && !data_check_tokens(&chk, r->pieces[0].seq.n, tok_kind_name(tok_get_config(tok)->kind),
                                          r->why, sizeof r->why)) {
        r->unfit = true;
        st = TG_ERR_FORMAT;
    } else if (st != TG_OK) {
        snprintf(r->why, sizeof r->why, "cannot tokenize: %s", tg_status_str(st));
    }
    if (st != TG_OK) {
        r->status = st;
        for (size_t i = 0; i < r->n_pieces; i++) tok_seq_free(&r->pieces[i].seq);
        free(r->pieces);
        r->pieces = NULL;
        r->n_pieces = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Writing. */

typedef struct {
    FILE *fp;
    uint64_t hash;
    uint64_t at;
    bool failed;
} writer;

static void put(writer *w, const void *data, size_t size)
{
    if (!size || w->failed) return;
    if (fwrite(data, 1, size, w->fp) != size) w->failed = true;
    w->hash = data_checksum(w->hash, data, size);
    w->at += size;
}

static void pad8(writer *w)
{
    static const uint8_t zeros[8] = {0};
    if (w->at % 8) put(w, zeros, 8 - w->at % 8);
}

static uint64_t align8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

tg_status data_write_corpus(const char *out_path, const char *config, int vocab_size, const char *const *paths,
                            size_t n_paths, const data_out_piece *pieces, size_t n_pieces, data_error *err)
{
    uint64_t n_tokens = 0, paths_size = 0;
    for (size_t k = 0; k < n_pieces; k++) n_tokens += pieces[k].n;
    uint32_t *path_at = malloc((n_paths + 1) * sizeof *path_at);
    if (!path_at) return TG_ERR_NOMEM;
    for (size_t i = 0; i < n_paths; i++) {
        path_at[i] = (uint32_t)paths_size;
        paths_size += strlen(paths[i]) + 1;
    }
    uint64_t config_size = strlen(config);
    uint64_t config_off = DATA_HEADER_SIZE;
    uint64_t index_off = align8(config_off + config_size + 1);
    uint64_t paths_off = index_off + n_pieces * sizeof(data_piece);
    uint64_t tokens_off = align8(paths_off + paths_size);
    uint64_t file_size = tokens_off + n_tokens * 2;
    if (paths_size > UINT32_MAX) {
        free(path_at);
        data_fail(err, "%s: the paths of the pieces exceed 4 GiB", out_path);
        return TG_ERR_TOO_LARGE;
    }

    tg_atomic_file af;
    tg_status st = tg_atomic_open(&af, out_path);
    if (st != TG_OK) {
        free(path_at);
        data_fail(err, "cannot write %s: %s", out_path, strerror(errno));
        return st;
    }
    writer w = {af.fp, DATA_CHECKSUM_INIT, 0, false};
    uint8_t header[DATA_HEADER_SIZE] = {0};
    if (fwrite(header, 1, sizeof header, af.fp) != sizeof header) w.failed = true;
    w.at = DATA_HEADER_SIZE;
    put(&w, config, config_size + 1);
    pad8(&w);
    uint64_t tok_at = 0;
    for (size_t k = 0; k < n_pieces; k++) {
        const data_out_piece *q = &pieces[k];
        data_piece e = {tok_at, q->n, path_at[q->path], (uint32_t)strlen(paths[q->path]), q->split, q->transpose,
                        0};
        put(&w, &e, sizeof e);
        tok_at += q->n;
    }
    free(path_at);
    for (size_t i = 0; i < n_paths; i++) put(&w, paths[i], strlen(paths[i]) + 1);
    pad8(&w);
    for (size_t k = 0; k < n_pieces; k++) put(&w, pieces[k].ids, (size_t)pieces[k].n * 2);
    if (!w.failed && w.at != file_size) w.failed = true; /* layout arithmetic disagrees */

    memcpy(header, DATA_MAGIC, 8);
    le32(header + 8, DATA_VERSION);
    le32(header + 12, (uint32_t)vocab_size);
    le64(header + 16, n_pieces);
    le64(header + 24, n_tokens);
    le64(header + 32, config_off);
    le64(header + 40, config_size);
    le64(header + 48, index_off);
    le64(header + 56, paths_off);
    le64(header + 64, paths_size);
    le64(header + 72, tokens_off);
    le64(header + 80, file_size);
    le64(header + 88, w.hash);
    if (!w.failed && (fseek(af.fp, 0, SEEK_SET) != 0 || fwrite(header, 1, sizeof header, af.fp) != sizeof header))
        w.failed = true;
    if (w.failed) {
        data_fail(err, "cannot write %s: %s", out_path, strerror(errno));
        tg_atomic_abort(&af);
        return TG_ERR_IO;
    }
    st = tg_atomic_commit(&af);
    if (st != TG_OK) data_fail(err, "cannot write %s: %s", out_path, strerror(errno));
    return st;
}

/* The build's files and pieces as data_write_corpus takes them (the files
 * that were read, in order). */
static tg_status write_corpus(const char *out_path, const char *config, int vocab_size,
                              const data_file *files, const file_result *res, size_t n_files,
                              data_error *err)
{
    size_t n_paths = 0, n_pieces = 0;
    for (size_t i = 0; i < n_files; i++)
        if (res[i].status == TG_OK) n_paths++, n_pieces += res[i].n_pieces;
    const char **paths = malloc((n_paths + 1) * sizeof *paths);
    data_out_piece *pieces = malloc((n_pieces + 1) * sizeof *pieces);
    if (!paths || !pieces) {
        free(paths);
        free(pieces);
        return TG_ERR_NOMEM;
    }
    size_t p = 0, q = 0;
    for (size_t i = 0; i < n_files; i++) {
        if (res[i].status != TG_OK) continue;
        for (size_t k = 0; k < res[i].n_pieces; k++)
            pieces[q++] = (data_out_piece){res[i].pieces[k].seq.ids, (uint32_t)res[i].pieces[k].seq.n,
                                           (uint32_t)p, (uint8_t)files[i].split, res[i].pieces[k].transpose};
        paths[p++] = files[i].rel;
    }
    tg_status st = data_write_corpus(out_path, config, vocab_size, paths, n_paths, pieces, n_pieces, err);
    free(paths);
    free(pieces);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The build. */

tg_status data_build(const char *const *dirs, size_t n_dirs, const char *out_path,
                     const data_build_options *opt, data_build_report *rep, data_error *err)
{
    double t0 = tg_now_sec();
    data_build_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    if (err) err->what[0] = 0;
    if (!data_host_little_endian()) {
        data_fail(err, "corpus files are little-endian; this machine is not");
        return TG_ERR_UNSUPPORTED;
    }
    if (n_dirs == 0) {
        data_fail(err, "no folder given");
        return TG_ERR_ARG;
    }
    if (opt->transpose_lo < -12 || opt->transpose_hi > 12 || opt->transpose_lo > opt->transpose_hi) {
        data_fail(err, "transposition %d..%d: must lie in -12..12, low <= high", opt->transpose_lo,
                  opt->transpose_hi);
        return TG_ERR_RANGE;
    }
    char why[160];
    tg_status st = tok_config_check(&opt->tok, why, sizeof why);
    if (st != TG_OK) {
        data_fail(err, "tokenizer: %s", why);
        return st;
    }
    char config[256];
    st = tok_config_to_string(&opt->tok, config, sizeof config);
    if (st != TG_OK) return st;

    /* files, sorted by relative path */
    file_list fl = {0};
    for (size_t d = 0; d < n_dirs; d++) {
        struct stat sb;
        if (stat(dirs[d], &sb) != 0) {
            data_fail(err, "folder %s not found", dirs[d]);
            free_files(fl.v, fl.n);
            return TG_ERR_NOT_FOUND;
        }
        if (!S_ISDIR(sb.st_mode)) {
            data_fail(err, "%s is not a folder", dirs[d]);
            free_files(fl.v, fl.n);
            return TG_ERR_ARG;
        }
        size_t before = fl.n;
        st = walk(&fl, dirs[d], d, "", 0);
        if (st != TG_OK) {
            data_fail(err, "cannot read folder %s: %s", dirs[d], tg_status_str(st));
            free_files(fl.v, fl.n);
            return st;
        }
        if (fl.n == before) {
            data_fail(err, "no .mid or .midi files under %s", dirs[d]);
            free_files(fl.v, fl.n);
            return TG_ERR_NOT_FOUND;
        }
    }
    qsort(fl.v, fl.n, sizeof *fl.v, cmp_file);
    rep->files_found = fl.n;

    /* splits */
    st = data_assign_splits(fl.v, fl.n, opt, rep, err);
    if (st != TG_OK) {
        free_files(fl.v, fl.n);
        return st;
    }

    /* tokenize in parallel: one slot per file */
    tok_tokenizer *tok = NULL;
    st = tok_create(&opt->tok, &tok);
    file_result *res = calloc(fl.n, sizeof *res);
    if (st != TG_OK || !res) {
        tok_free(tok);
        free(res);
        free_files(fl.v, fl.n);
        return st != TG_OK ? st : TG_ERR_NOMEM;
    }
    size_t done = 0;
    long n = (long)fl.n;
#ifdef TG_HAVE_OPENMP
    int threads = opt->threads > 0 ? opt->threads : omp_get_num_procs();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
    for (long i = 0; i < n; i++) {
        tokenize_file(&fl.v[i], tok, opt, &res[i]);
#ifdef TG_HAVE_OPENMP
#pragma omp critical(data_build_progress)
#endif
        {
            done++;
            if (opt->progress) opt->progress(opt->progress_user, done, fl.n);
        }
    }

    /* skipped files in path order, then the counts */
    for (size_t i = 0; i < fl.n; i++) {
        const file_result *r = &res[i];
        if (r->status != TG_OK) {
            rep->files_skipped++;
            if (r->no_notes)
                rep->skipped_no_notes++;
            else if (r->unfit)
                rep->skipped_unfit++;
            else
                rep->skipped_by_status[r->status]++;
            tg_log(&opt->logger, TG_LOG_WARN, "skipped %s: %s", fl.v[i].full, r->why);
            continue;
        }
        rep->files_read++;
        for (size_t k = 0; k < r->n_pieces; k++) {
            rep->pieces[fl.v[i].split]++;
            rep->tokens[fl.v[i].split] += r->pieces[k].seq.n;
            if (r->pieces[k].transpose != 0) rep->transposed++;
        }
    }
    if (rep->files_read == 0) {
        data_fail(err, "none of the %zu MIDI files could be used", fl.n);
        st = TG_ERR_FORMAT;
    } else {
        st = write_corpus(out_path, config, tok_vocab_size(tok), fl.v, res, fl.n, err);
    }
    for (size_t i = 0; i < fl.n; i++) {
        for (size_t k = 0; k < res[i].n_pieces; k++) tok_seq_free(&res[i].pieces[k].seq);
        free(res[i].pieces);
    }
    free(res);
    tok_free(tok);
    free_files(fl.v, fl.n);
    rep->seconds = tg_now_sec() - t0;
    return st;
}
