/*
 * corpus.c: building a corpus. Walks folders for MIDI files, assigns each a
 * split (split.c), reads and tokenizes the files in parallel (OpenMP; each
 * file's result goes to its own slot, so the output is the same whatever the
 * thread count), logs and counts the files it skips, and writes the corpus
 * through corpus_write.c. As each file is tokenized, its tokens go to the
 * writer's temporary file and are freed; after the parallel loop, the pieces
 * are added in path order. Memory holds a few hundred bytes a file whatever
 * the tokens (100,000 Nottingham copies: bench/RESULTS.md), and the threads
 * meet only once: a first streaming version that tokenized blocks of files
 * and wrote between them spent as much CPU time in the idle threads' spinning
 * at each block's barrier as in tokenizing, on a loaded machine.
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
    uint64_t at;   /* where store_tokens put the tokens in the writer's temporary file */
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
/* Handing the results to the writer. */

/* Puts a tokenized file's tokens in the writer's temporary file and frees
 * them, keeping their length and place. Called under the lock of the
 * progress calls, by whichever thread tokenized the file. */
static void store_tokens(file_result *r, data_writer *w)
{
    for (size_t k = 0; r->status == TG_OK && k < r->n_pieces; k++) {
        tok_seq *seq = &r->pieces[k].seq;
        data_writer_put_tokens(w, seq->ids, (uint32_t)seq->n, &r->pieces[k].at); /* a failure stays in w */
        free(seq->ids);
        seq->ids = NULL;
        seq->cap = 0;
    }
}

/* Logs the skipped files and counts them, in path order; adds the pieces of
 * the files that were read to the corpus; frees the results. */
static tg_status take_results(const data_file *files, file_result *res, size_t n,
                              const data_build_options *opt, data_build_report *rep, data_writer *w)
{
    tg_status st = TG_OK;
    for (size_t i = 0; i < n; i++) {
        file_result *r = &res[i];
        if (r->status != TG_OK) {
            rep->files_skipped++;
            if (r->no_notes)
                rep->skipped_no_notes++;
            else if (r->unfit)
                rep->skipped_unfit++;
            else
                rep->skipped_by_status[r->status]++;
            tg_log(&opt->logger, TG_LOG_WARN, "skipped %s: %s", files[i].full, r->why);
            continue;
        }
        rep->files_read++;
        uint32_t path = 0;
        if (st == TG_OK) st = data_writer_add_path(w, files[i].rel, &path);
        for (size_t k = 0; k < r->n_pieces; k++) {
            size_t len = r->pieces[k].seq.n;
            rep->pieces[files[i].split]++;
            rep->tokens[files[i].split] += len;
            if (r->pieces[k].transpose != 0) rep->transposed++;
            data_out_piece q = {NULL, (uint32_t)len, path, (uint8_t)files[i].split, r->pieces[k].transpose};
            if (st == TG_OK) st = data_writer_add_stored(w, r->pieces[k].at, &q);
        }
    }
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

    /* tokenize in parallel: one slot per file, its tokens on disk as soon as made */
    tok_tokenizer *tok = NULL;
    st = tok_create(&opt->tok, &tok);
    file_result *res = calloc(fl.n, sizeof *res);
    data_writer *w = NULL;
    if (st == TG_OK && !res) st = TG_ERR_NOMEM;
    if (st == TG_OK) st = data_writer_open(out_path, config, tok_vocab_size(tok), &w, err);
    size_t done = 0;
    long n = st == TG_OK ? (long)fl.n : 0;
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
            store_tokens(&res[i], w);
            done++;
            if (opt->progress) opt->progress(opt->progress_user, done, fl.n);
        }
    }
    if (st == TG_OK) st = take_results(fl.v, res, fl.n, opt, rep, w);
    if (st == TG_OK && rep->files_read == 0) {
        data_fail(err, "none of the %zu MIDI files could be used", fl.n);
        st = TG_ERR_FORMAT;
        data_writer_abort(w);
        w = NULL;
    }
    /* (the writer keeps its own failure: finish reports it with its message) */
    if (w) st = data_writer_finish(w, err);
    for (size_t i = 0; res && i < fl.n; i++) {
        for (size_t k = 0; k < res[i].n_pieces; k++) tok_seq_free(&res[i].pieces[k].seq);
        free(res[i].pieces);
    }
    free(res);
    tok_free(tok);
    free_files(fl.v, fl.n);
    rep->seconds = tg_now_sec() - t0;
    return st;
}
