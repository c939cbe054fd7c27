/*
 * corpus_read.c: opening a corpus file. The file is memory-mapped read-only
 * and checked before anything points into it: magic, version, every size and
 * offset against the file's real size (so a truncated file is caught before
 * any read past its end), the checksum, the tokenizer config, each piece's
 * range and path, and every token id against the vocabulary size.
 * data_corpus_open_memory runs the same checks on bytes the caller holds (the
 * fuzz entry point, fuzz/fuzz_corpus.c, uses it so that the sanitizers see
 * any read past the end). A path is path_length bytes and a NUL, with no NUL
 * inside (data_corpus_path hands it out as a C string).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core.h"
#include "data.h"

uint64_t data_checksum(uint64_t h, const void *data, size_t size)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* [off, off + size) lies inside [DATA_HEADER_SIZE, file_size) without overflow. */
static bool in_file(uint64_t off, uint64_t size, uint64_t file_size)
{
    return off >= DATA_HEADER_SIZE && off <= file_size && size <= file_size - off;
}

void data_corpus_close(data_corpus *c)
{
    if (!c) return;
    if (c->map) munmap(c->map, c->map_size);
    for (int s = 0; s < DATA_SPLITS; s++) free(c->split_pieces[s]);
    free(c->train_cumulative);
    free(c);
}

static tg_status validate(const char *path, data_corpus *c, const uint8_t *m, uint64_t size,
                          data_error *err)
{
    if (size < 8 || memcmp(m, DATA_MAGIC, 8) != 0) {
        data_fail(err, "%s is not a tunegan corpus (%s)", path,
                  size < 8 ? "too short for the magic" : "its first bytes are not TGCORPUS");
        return TG_ERR_FORMAT;
    }
    if (size < DATA_HEADER_SIZE) {
        data_fail(err, "%s is truncated: %llu bytes, the header alone has %d", path,
                  (unsigned long long)size, DATA_HEADER_SIZE);
        return TG_ERR_FORMAT;
    }
    c->version = rd32(m + 8);
    if (c->version != DATA_VERSION) {
        data_fail(err, "%s is a corpus of version %u; this build reads version %d (rebuild it "
                  "with 'tunegan data build')", path, c->version, DATA_VERSION);
        return TG_ERR_VERSION;
    }
    c->vocab_size = rd32(m + 12);
    c->n_pieces = rd64(m + 16);
    c->n_tokens = rd64(m + 24);
    uint64_t config_off = rd64(m + 32), config_size = rd64(m + 40);
    uint64_t index_off = rd64(m + 48), paths_off = rd64(m + 56), paths_size = rd64(m + 64);
    uint64_t tokens_off = rd64(m + 72), file_size = rd64(m + 80), sum = rd64(m + 88);
    if (file_size != size) {
        data_fail(err, "%s is %s: %llu bytes, its header says %llu", path,
                  size < file_size ? "truncated" : "longer than written", (unsigned long long)size,
                  (unsigned long long)file_size);
        return TG_ERR_FORMAT;
    }
    if (!in_file(config_off, config_size + 1, size) || config_size + 1 == 0 ||
        c->n_pieces > size / sizeof(data_piece) ||
        !in_file(index_off, c->n_pieces * sizeof(data_piece), size) || index_off % 8 ||
        !in_file(paths_off, paths_size, size) || c->n_tokens > size / 2 ||
        !in_file(tokens_off, c->n_tokens * 2, size) || tokens_off % 8) {
        data_fail(err, "%s is damaged: a part of the file lies outside it", path);
        return TG_ERR_FORMAT;
    }
    if (data_checksum(DATA_CHECKSUM_INIT, m + DATA_HEADER_SIZE, size - DATA_HEADER_SIZE) != sum) {
        data_fail(err, "%s is damaged: its checksum does not match its contents", path);
        return TG_ERR_FORMAT;
    }
    c->config = (const char *)m + config_off;
    if (memchr(c->config, 0, config_size + 1) != c->config + config_size) {
        data_fail(err, "%s is damaged: the tokenizer config is not a string", path);
        return TG_ERR_FORMAT;
    }
    tok_config cfg;
    char why[160];
    tok_tokenizer *tok = NULL;
    tg_status st = tok_config_parse(c->config, &cfg, why, sizeof why);
    if (st == TG_OK) st = tok_create(&cfg, &tok);
    if (st != TG_OK) {
        data_fail(err, "%s: its tokenizer '%s' is unusable: %s", path, c->config,
                  st == TG_ERR_NOMEM ? "out of memory" : why);
        return st == TG_ERR_VERSION ? TG_ERR_VERSION : TG_ERR_FORMAT;
    }
    int vs = tok_vocab_size(tok);
    tok_free(tok);
    if ((uint32_t)vs != c->vocab_size) {
        data_fail(err, "%s: vocabulary size %u in the header, %d for its tokenizer '%s'", path,
                  c->vocab_size, vs, c->config);
        return TG_ERR_FORMAT;
    }
    c->pieces = (const data_piece *)(m + index_off);
    c->paths = (const char *)m + paths_off;
    c->tokens = (const uint16_t *)(m + tokens_off);
    for (uint64_t i = 0; i < c->n_pieces; i++) {
        const data_piece *p = &c->pieces[i];
        if (p->length < 1 || p->offset > c->n_tokens || p->length > c->n_tokens - p->offset ||
            p->split >= DATA_SPLITS || (uint64_t)p->path_offset + p->path_length >= paths_size ||
            c->paths[p->path_offset + p->path_length] != 0 ||
            memchr(c->paths + p->path_offset, 0, p->path_length) != NULL) {
            data_fail(err, "%s is damaged: index entry %llu is out of bounds", path,
                      (unsigned long long)i);
            return TG_ERR_FORMAT;
        }
    }
    for (uint64_t i = 0; i < c->n_tokens; i++)
        if (c->tokens[i] >= c->vocab_size) {
            data_fail(err, "%s is damaged: token %llu has id %u, the vocabulary has %u", path,
                      (unsigned long long)i, c->tokens[i], c->vocab_size);
            return TG_ERR_FORMAT;
        }
    return TG_OK;
}

static tg_status index_splits(data_corpus *c)
{
    for (int s = 0; s < DATA_SPLITS; s++) {
        c->split_pieces[s] = malloc((c->n_pieces ? c->n_pieces : 1) * sizeof(uint64_t));
        if (!c->split_pieces[s]) return TG_ERR_NOMEM;
    }
    for (uint64_t i = 0; i < c->n_pieces; i++) {
        int s = c->pieces[i].split;
        c->split_pieces[s][c->split_count[s]++] = i;
        c->split_tokens[s] += c->pieces[i].length;
    }
    uint64_t nt = c->split_count[DATA_TRAIN];
    c->train_cumulative = malloc((nt ? nt : 1) * sizeof(uint64_t));
    if (!c->train_cumulative) return TG_ERR_NOMEM;
    uint64_t sum = 0;
    for (uint64_t k = 0; k < nt; k++) {
        sum += c->pieces[c->split_pieces[DATA_TRAIN][k]].length;
        c->train_cumulative[k] = sum;
    }
    return TG_OK;
}

tg_status data_corpus_open(const char *path, data_corpus **out, data_error *err)
{
    *out = NULL;
    if (err) err->what[0] = 0;
    if (!data_host_little_endian()) {
        data_fail(err, "corpus files are little-endian; this machine is not");
        return TG_ERR_UNSUPPORTED;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        data_fail(err, "cannot open corpus %s: %s", path, strerror(errno));
        return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        data_fail(err, "%s is not a regular file", path);
        close(fd);
        return TG_ERR_IO;
    }
    data_corpus *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return TG_ERR_NOMEM;
    }
    uint64_t size = (uint64_t)sb.st_size;
    tg_status st = TG_OK;
    if (size > 0) {
        void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            data_fail(err, "cannot map %s: %s", path, strerror(errno));
            st = TG_ERR_IO;
        } else {
            c->map = m;
            c->map_size = (size_t)size;
        }
    }
    close(fd);
    if (st == TG_OK) st = validate(path, c, c->map ? c->map : (const uint8_t *)"", size, err);
    if (st == TG_OK) st = index_splits(c);
    if (st != TG_OK) {
        data_corpus_close(c);
        return st;
    }
    *out = c;
    return TG_OK;
}

tg_status data_corpus_open_memory(const void *data, size_t size, const char *name, data_corpus **out,
                                  data_error *err)
{
    *out = NULL;
    if (err) err->what[0] = 0;
    if (!data_host_little_endian()) {
        data_fail(err, "corpus files are little-endian; this machine is not");
        return TG_ERR_UNSUPPORTED;
    }
    if ((uintptr_t)data % 8) {
        data_fail(err, "%s: the corpus in memory must start on a multiple of 8 bytes", name);
        return TG_ERR_ARG;
    }
    data_corpus *c = calloc(1, sizeof *c);
    if (!c) return TG_ERR_NOMEM;
    tg_status st = validate(name, c, size ? data : (const uint8_t *)"", size, err);
    if (st == TG_OK) st = index_splits(c);
    if (st != TG_OK) {
        data_corpus_close(c);
        return st;
    }
    *out = c;
    return TG_OK;
}

const char *data_corpus_path(const data_corpus *c, uint64_t i)
{
    if (i >= c->n_pieces) return "?";
    return c->paths + c->pieces[i].path_offset;
}
