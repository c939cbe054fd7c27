/*
 * corpus_write.c: writing a corpus file (the layout in data.h) piece by
 * piece. The tokens come last in the file but arrive first, so each piece's
 * tokens go straight to an unnamed temporary file beside the output, in
 * whatever order they come (data_build's threads put them as each file is
 * tokenized); memory holds only the index (24 bytes a piece, plus where its
 * tokens wait) and the paths. Finishing writes the header, config, index and
 * paths under a temporary name, copies each piece's tokens after them in
 * corpus order (the checksum runs over the bytes in file order) and renames
 * the file into place. The cost is disk: the tokens are on it twice until the
 * temporary file is closed. What it leaves out: big-endian hosts (data_build
 * refuses them; the ids are written as they are in memory).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core.h"
#include "data.h"

_Static_assert(sizeof(data_piece) == 24, "index entries are 24 bytes");

/* Bytes moved per read or write of the tokens. */
#define COPY_BYTES (1u << 20)

struct data_writer {
    char *out_path;
    char *config;
    int vocab_size;
    FILE *tokens;          /* unlinked temporary file: the tokens put so far */
    uint64_t put_tokens;   /* tokens in it */
    uint64_t n_tokens;     /* tokens of the pieces added */
    data_piece *index;     /* path_offset and path_length filled in at the end */
    uint32_t *index_path;  /* the path of each piece (an index into path_at) */
    uint64_t *index_at;    /* where each piece's tokens are in the temporary file */
    size_t n_pieces, cap_pieces, cap_index_path, cap_index_at;
    char *paths;           /* every path and its NUL, in order */
    uint64_t paths_size;
    size_t cap_paths;
    uint64_t *path_at;     /* offset of each path in paths */
    size_t n_paths, cap_path_at;
    tg_status status;      /* the first failure; later calls do nothing */
    int saved_errno;
};

tg_status data_writer_open(const char *out_path, const char *config, int vocab_size,
                           data_writer **out, data_error *err)
{
    *out = NULL;
    data_writer *w = calloc(1, sizeof *w);
    size_t len = strlen(out_path) + 16;
    char *tmp = malloc(len);
    if (!w || !tmp || !(w->out_path = strdup(out_path)) || !(w->config = strdup(config))) {
        free(tmp);
        data_writer_abort(w);
        return TG_ERR_NOMEM;
    }
    w->vocab_size = vocab_size;
    /* beside the output, so on a file system with room for it */
    snprintf(tmp, len, "%s.tokXXXXXX", out_path);
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        unlink(tmp); /* gone when closed, whatever happens to this process */
        w->tokens = fdopen(fd, "w+b");
        if (!w->tokens) close(fd);
    }
    if (!w->tokens) {
        data_fail(err, "cannot write %s (a temporary file beside it): %s", out_path, strerror(errno));
        tg_status st = errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO;
        free(tmp);
        data_writer_abort(w);
        return st;
    }
    free(tmp);
    *out = w;
    return TG_OK;
}

void data_writer_abort(data_writer *w)
{
    if (!w) return;
    if (w->tokens) fclose(w->tokens);
    free(w->out_path);
    free(w->config);
    free(w->index);
    free(w->index_path);
    free(w->index_at);
    free(w->paths);
    free(w->path_at);
    free(w);
}

tg_status data_writer_add_path(data_writer *w, const char *path, uint32_t *index)
{
    if (w->status != TG_OK) return w->status;
    size_t len = strlen(path) + 1;
    if (w->n_paths >= UINT32_MAX) return w->status = TG_ERR_TOO_LARGE;
    tg_status st = tg_grow((void **)&w->paths, &w->cap_paths, (size_t)w->paths_size + len, 1);
    if (st == TG_OK) st = tg_grow((void **)&w->path_at, &w->cap_path_at, w->n_paths + 1, sizeof *w->path_at);
    if (st != TG_OK) return w->status = st;
    memcpy(w->paths + w->paths_size, path, len);
    w->path_at[w->n_paths] = w->paths_size;
    w->paths_size += len;
    *index = (uint32_t)w->n_paths++;
    return TG_OK;
}

tg_status data_writer_put_tokens(data_writer *w, const uint16_t *ids, uint32_t n, uint64_t *at)
{
    *at = w->put_tokens;
    if (w->status != TG_OK) return w->status;
    if (n && fwrite(ids, 2, n, w->tokens) != n) {
        w->saved_errno = errno;
        return w->status = TG_ERR_IO;
    }
    w->put_tokens += n;
    return TG_OK;
}

tg_status data_writer_add_stored(data_writer *w, uint64_t at, const data_out_piece *p)
{
    if (w->status != TG_OK) return w->status;
    if (p->path >= w->n_paths || at > w->put_tokens || p->n > w->put_tokens - at) return w->status = TG_ERR_ARG;
    tg_status st = tg_grow((void **)&w->index, &w->cap_pieces, w->n_pieces + 1, sizeof *w->index);
    if (st == TG_OK)
        st = tg_grow((void **)&w->index_path, &w->cap_index_path, w->n_pieces + 1, sizeof *w->index_path);
    if (st == TG_OK) st = tg_grow((void **)&w->index_at, &w->cap_index_at, w->n_pieces + 1, sizeof *w->index_at);
    if (st != TG_OK) return w->status = st;
    w->index[w->n_pieces] = (data_piece){w->n_tokens, p->n, 0, 0, p->split, p->transpose, 0};
    w->index_path[w->n_pieces] = p->path;
    w->index_at[w->n_pieces++] = at;
    w->n_tokens += p->n;
    return TG_OK;
}

tg_status data_writer_add_piece(data_writer *w, const data_out_piece *p)
{
    uint64_t at;
    tg_status st = data_writer_put_tokens(w, p->ids, p->n, &at);
    return st == TG_OK ? data_writer_add_stored(w, at, p) : st;
}

/* ------------------------------------------------------------------------ */
/* Finishing: the file in order, its checksum on the way. */

typedef struct {
    FILE *fp;
    uint64_t hash;
    uint64_t at;
    bool failed;
} out_file;

static void put(out_file *o, const void *data, size_t size)
{
    if (!size || o->failed) return;
    if (fwrite(data, 1, size, o->fp) != size) o->failed = true;
    o->hash = data_checksum(o->hash, data, size);
    o->at += size;
}

static void pad8(out_file *o)
{
    static const uint8_t zeros[8] = {0};
    if (o->at % 8) put(o, zeros, 8 - o->at % 8);
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

/* Copies the pieces' tokens from the temporary file, in corpus order, after
 * what o has written; runs of pieces stored one after the other are read at once. */
static void copy_tokens(out_file *o, const data_writer *w)
{
    if (fflush(w->tokens) != 0) {
        o->failed = true;
        return;
    }
    uint8_t *buf = malloc(COPY_BYTES);
    if (!buf) {
        o->failed = true;
        return;
    }
    int fd = fileno(w->tokens);
    for (size_t k = 0; k < w->n_pieces && !o->failed;) {
        uint64_t from = w->index_at[k] * 2, left = 0;
        size_t j = k;
        for (; j < w->n_pieces && w->index_at[j] * 2 == from + left; j++) left += (uint64_t)w->index[j].length * 2;
        k = j;
        while (left && !o->failed) {
            size_t want = left < COPY_BYTES ? (size_t)left : COPY_BYTES;
            if (pread(fd, buf, want, (off_t)from) != (ssize_t)want) o->failed = true;
            put(o, buf, want);
            from += want;
            left -= want;
        }
    }
    free(buf);
}

tg_status data_writer_finish(data_writer *w, data_error *err)
{
    tg_status st = w->status;
    if (st == TG_ERR_IO) {
        data_fail(err, "cannot write %s (a temporary file beside it): %s", w->out_path,
                  strerror(w->saved_errno));
    } else if (st == TG_ERR_TOO_LARGE || (st == TG_OK && w->paths_size > UINT32_MAX)) {
        data_fail(err, "%s: the paths of the pieces exceed 4 GiB", w->out_path);
        st = TG_ERR_TOO_LARGE;
    } else if (st == TG_ERR_ARG) {
        data_fail(err, "%s: a piece names a path or tokens that were not added", w->out_path);
    }
    if (st != TG_OK) {
        data_writer_abort(w);
        return st;
    }
    for (size_t k = 0; k < w->n_pieces; k++) {
        uint32_t p = w->index_path[k];
        uint64_t end = p + 1 < w->n_paths ? w->path_at[p + 1] : w->paths_size;
        w->index[k].path_offset = (uint32_t)w->path_at[p];
        w->index[k].path_length = (uint32_t)(end - w->path_at[p] - 1);
    }
    uint64_t config_size = strlen(w->config);
    uint64_t config_off = DATA_HEADER_SIZE;
    uint64_t index_off = align8(config_off + config_size + 1);
    uint64_t paths_off = index_off + w->n_pieces * sizeof(data_piece);
    uint64_t tokens_off = align8(paths_off + w->paths_size);
    uint64_t file_size = tokens_off + w->n_tokens * 2;

    tg_atomic_file af;
    st = tg_atomic_open(&af, w->out_path);
    if (st != TG_OK) {
        data_fail(err, "cannot write %s: %s", w->out_path, strerror(errno));
        data_writer_abort(w);
        return st;
    }
    out_file o = {af.fp, DATA_CHECKSUM_INIT, 0, false};
    uint8_t header[DATA_HEADER_SIZE] = {0};
    if (fwrite(header, 1, sizeof header, af.fp) != sizeof header) o.failed = true;
    o.at = DATA_HEADER_SIZE;
    put(&o, w->config, config_size + 1);
    pad8(&o);
    put(&o, w->index, w->n_pieces * sizeof *w->index);
    put(&o, w->paths, w->paths_size);
    pad8(&o);
    copy_tokens(&o, w);
    if (!o.failed && o.at != file_size) o.failed = true; /* layout arithmetic disagrees */
    /* the scratch file is spent: closed now, so that a failure to close it
     * (whatever it means) is reported before the corpus is committed */
    if (fclose(w->tokens) != 0) o.failed = true;
    w->tokens = NULL;

    memcpy(header, DATA_MAGIC, 8);
    le32(header + 8, DATA_VERSION);
    le32(header + 12, (uint32_t)w->vocab_size);
    le64(header + 16, w->n_pieces);
    le64(header + 24, w->n_tokens);
    le64(header + 32, config_off);
    le64(header + 40, config_size);
    le64(header + 48, index_off);
    le64(header + 56, paths_off);
    le64(header + 64, w->paths_size);
    le64(header + 72, tokens_off);
    le64(header + 80, file_size);
    le64(header + 88, o.hash);
    if (!o.failed && (fseek(af.fp, 0, SEEK_SET) != 0 || fwrite(header, 1, sizeof header, af.fp) != sizeof header))
        o.failed = true;
    if (o.failed) {
        data_fail(err, "cannot write %s: %s", w->out_path, strerror(errno));
        tg_atomic_abort(&af);
        data_writer_abort(w);
        return TG_ERR_IO;
    }
    st = tg_atomic_commit(&af);
    if (st != TG_OK) data_fail(err, "cannot write %s: %s", w->out_path, strerror(errno));
    data_writer_abort(w);
    return st;
}

tg_status data_write_corpus(const char *out_path, const char *config, int vocab_size, const char *const *paths,
                            size_t n_paths, const data_out_piece *pieces, size_t n_pieces, data_error *err)
{
    data_writer *w;
    tg_status st = data_writer_open(out_path, config, vocab_size, &w, err);
    if (st != TG_OK) return st;
    uint32_t index;
    for (size_t i = 0; i < n_paths; i++) data_writer_add_path(w, paths[i], &index);
    for (size_t k = 0; k < n_pieces; k++) data_writer_add_piece(w, &pieces[k]);
    return data_writer_finish(w, err);
}
