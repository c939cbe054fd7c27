/*
 * safetensors.c: writer and validating reader of safetensors files (io.h).
 * Little-endian hosts only (x86-64, aarch64): the raw bytes are copied as they
 * are in memory; the reader refuses to run on a big-endian host.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "safetensors.h"

static const char *const dtype_names[ST_DTYPE_COUNT] = {"F32", "F64", "I32", "I64", "U8", "U16"};
static const size_t dtype_sizes[ST_DTYPE_COUNT] = {4, 8, 4, 8, 1, 2};

/* Headers beyond this are refused: real checkpoints need a few KiB. */
#define ST_MAX_HEADER (64u << 20)

size_t st_dtype_size(st_dtype d) { return d < ST_DTYPE_COUNT ? dtype_sizes[d] : 0; }
const char *st_dtype_name(st_dtype d) { return d < ST_DTYPE_COUNT ? dtype_names[d] : "?"; }

int64_t st_tensor_numel(const st_tensor *t)
{
    /* a zero first: the other dimensions of an empty tensor may multiply past int64 */
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t st_tensor_bytes(const st_tensor *t) { return (size_t)st_tensor_numel(t) * st_dtype_size(t->dtype); }

/* ------------------------------------------------------------------------ */
/* Writing. */

static cJSON *tensor_json(const st_tensor *t, size_t begin, size_t end)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *shape = cJSON_CreateArray();
    cJSON *offs = cJSON_CreateArray();
    if (!o || !shape || !offs) {
        cJSON_Delete(o);
        cJSON_Delete(shape);
        cJSON_Delete(offs);
        return NULL;
    }
    cJSON_AddItemToObject(o, "dtype", cJSON_CreateString(st_dtype_name(t->dtype)));
    for (int i = 0; i < t->ndim; i++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[i]));
    cJSON_AddItemToObject(o, "shape", shape);
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)begin));
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
    cJSON_AddItemToObject(o, "data_offsets", offs);
    return o;
}

static char *build_header(const st_tensor *tensors, size_t n, const st_meta *meta, size_t n_meta)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    if (n_meta) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (size_t i = 0; m && i < n_meta; i++) cJSON_AddStringToObject(m, meta[i].key, meta[i].value);
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bytes = st_tensor_bytes(&tensors[i]);
        cJSON *t = tensor_json(&tensors[i], off, off + bytes);
        if (!t) {
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddItemToObject(root, tensors[i].name, t);
        off += bytes;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

tg_status st_write(const char *path, const st_tensor *tensors, size_t n_tensors,
                   const st_meta *meta, size_t n_meta)
{
    for (size_t i = 0; i < n_tensors; i++)
        if (tensors[i].dtype >= ST_DTYPE_COUNT || tensors[i].ndim < 0 || tensors[i].ndim > ST_MAX_DIMS)
            return TG_ERR_ARG;
    char *header = build_header(tensors, n_tensors, meta, n_meta);
    if (!header) return TG_ERR_NOMEM;
    size_t hlen = strlen(header);
    size_t padded = (hlen + 7) & ~(size_t)7; /* data starts 8-aligned; pad with spaces */
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    tg_atomic_file f;
    tg_status s = tg_atomic_open(&f, path);
    if (s != TG_OK) {
        free(header);
        return s;
    }
    bool ok = fwrite(len_le, 1, 8, f.fp) == 8 && fwrite(header, 1, hlen, f.fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f.fp) != EOF;
    for (size_t i = 0; ok && i < n_tensors; i++) {
        size_t bytes = st_tensor_bytes(&tensors[i]);
        ok = bytes == 0 || fwrite(tensors[i].data, 1, bytes, f.fp) == bytes;
    }
    free(header);
    if (!ok) {
        tg_atomic_abort(&f);
        return TG_ERR_IO;
    }
    return tg_atomic_commit(&f);
}

/* ------------------------------------------------------------------------ */
/* Reading. */

typedef struct {
    char *key;
    char *value;
} meta_entry;

struct st_file {
    uint8_t *map;
    size_t map_size;
    const uint8_t *borrowed;  /* st_open_memory: the caller's bytes (map points at them, not mapped) */
    st_tensor *tensors;
    char **names;
    size_t n;
    meta_entry *meta;
    size_t n_meta;
};

static bool dtype_from_name(const char *s, st_dtype *d)
{
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (strcmp(s, dtype_names[i]) == 0) {
            *d = (st_dtype)i;
            return true;
        }
    return false;
}

static bool whole_number(const cJSON *j, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (v < 0 || v > (double)max || v != (double)(int64_t)v) return false;
    *out = (int64_t)v;
    return true;
}

static tg_status parse_meta(st_file *f, const cJSON *m, char *err, size_t err_len)
{
    if (!cJSON_IsObject(m)) return tg_fail(err, err_len, TG_ERR_FORMAT, "__metadata__ is not an object");
    /* a second __metadata__ would count on from the first's entries (found by fuzz_safetensors) */
    if (f->meta) return tg_fail(err, err_len, TG_ERR_FORMAT, "__metadata__ appears twice");
    size_t n = (size_t)cJSON_GetArraySize(m);
    f->meta = calloc(n ? n : 1, sizeof *f->meta);
    if (!f->meta) return TG_ERR_NOMEM;
    for (const cJSON *e = m->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return tg_fail(err, err_len, TG_ERR_FORMAT, "metadata value of '%s' is not a string", e->string);
        meta_entry *me = &f->meta[f->n_meta++];
        me->key = strdup(e->string);
        me->value = strdup(e->valuestring);
        if (!me->key || !me->value) return TG_ERR_NOMEM;
    }
    return TG_OK;
}

static tg_status parse_tensor(st_file *f, const cJSON *e, size_t data_size, char *err, size_t err_len)
{
    st_tensor *t = &f->tensors[f->n];
    const char *name = e->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !dtype_from_name(dt->valuestring, &t->dtype))
        return tg_fail(err, err_len, TG_ERR_FORMAT, "tensor '%s': missing or unsupported dtype", name);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > ST_MAX_DIMS)
        return tg_fail(err, err_len, TG_ERR_FORMAT, "tensor '%s': bad shape", name);
    t->ndim = 0;
    double numel = 1;
    for (const cJSON *d = shape->child; d; d = d->next) {
        if (!whole_number(d, INT32_MAX, &t->shape[t->ndim]))
            return tg_fail(err, err_len, TG_ERR_FORMAT, "tensor '%s': bad dimension in shape", name);
        numel *= (double)t->shape[t->ndim++];
    }
    int64_t b, e2;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !whole_number(cJSON_GetArrayItem(offs, 0), (int64_t)data_size, &b) ||
        !whole_number(cJSON_GetArrayItem(offs, 1), (int64_t)data_size, &e2) || e2 < b)
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                    "tensor '%s': data offsets missing or outside the file's %zu data bytes", name,
                    data_size);
    if (numel * (double)st_dtype_size(t->dtype) != (double)(e2 - b))
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                    "tensor '%s': shape needs %.0f bytes but its offsets span %lld", name,
                    numel * (double)st_dtype_size(t->dtype), (long long)(e2 - b));
    f->names[f->n] = strdup(name);
    if (!f->names[f->n]) return TG_ERR_NOMEM;
    t->name = f->names[f->n];
    t->data = (const void *)(uintptr_t)b; /* an offset until every tensor is checked */
    f->n++;
    return TG_OK;
}

static int cmp_offset(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(const st_tensor *const *)a)->data;
    uintptr_t y = (uintptr_t)(*(const st_tensor *const *)b)->data;
    return (x > y) - (x < y);
}

/* The data must be covered exactly: sorted by offset, each tensor starts where the last ended. */
static tg_status check_coverage(st_file *f, size_t data_size, char *err, size_t err_len)
{
    st_tensor **order = malloc((f->n ? f->n : 1) * sizeof *order);
    if (!order) return TG_ERR_NOMEM;
    for (size_t i = 0; i < f->n; i++) order[i] = &f->tensors[i];
    qsort(order, f->n, sizeof *order, cmp_offset);
    size_t at = 0;
    tg_status s = TG_OK;
    for (size_t i = 0; i < f->n && s == TG_OK; i++) {
        size_t b = (size_t)(uintptr_t)order[i]->data;
        if (b != at)
            s = tg_fail(err, err_len, TG_ERR_FORMAT, "tensor '%s' %s at data byte %zu", order[i]->name,
                     b < at ? "overlaps another" : "leaves a hole", at);
        at = b + st_tensor_bytes(order[i]);
    }
    if (s == TG_OK && at != data_size)
        s = tg_fail(err, err_len, TG_ERR_FORMAT, "tensors cover %zu of the file's %zu data bytes%s", at,
                 data_size, at < data_size ? " (trailing data)" : "");
    free(order);
    return s;
}

static tg_status parse_header(st_file *f, const char *text, size_t len, size_t data_size,
                              char *err, size_t err_len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tg_fail(err, err_len, TG_ERR_FORMAT, "header is not a JSON object");
    }
    size_t n = (size_t)cJSON_GetArraySize(root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    f->names = calloc(n ? n : 1, sizeof *f->names);
    tg_status s = (f->tensors && f->names) ? TG_OK : TG_ERR_NOMEM;
    for (const cJSON *e = root->child; e && s == TG_OK; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0)
            s = parse_meta(f, e, err, err_len);
        else if (st_find(f, e->string))
            s = tg_fail(err, err_len, TG_ERR_FORMAT, "tensor '%s' appears twice", e->string);
        else
            s = parse_tensor(f, e, data_size, err, err_len);
    }
    cJSON_Delete(root);
    if (s == TG_OK) s = check_coverage(f, data_size, err, err_len);
    return s;
}

static tg_status map_file(const char *path, st_file *f, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return tg_fail(err, err_len, errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO, "%s",
                    errno == ENOENT ? "no such file" : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tg_fail(err, err_len, TG_ERR_IO, "not a regular file");
    }
    f->map_size = (size_t)st.st_size;
    if (f->map_size < 8) { /* too short (mmap refuses 0 bytes): parse_bytes says so */
        close(fd);
        return TG_OK;
    }
    void *p = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return tg_fail(err, err_len, TG_ERR_IO, "cannot map the file: %s", strerror(errno));
    f->map = p;
    return TG_OK;
}

/* Validates the header of the bytes f holds and points the tensors at their data. */
static tg_status parse_bytes(st_file *f, char *err, size_t err_len)
{
    if (f->map_size < 8)
        return tg_fail(err, err_len, TG_ERR_FORMAT, "file has %zu bytes, too short for a safetensors header",
                       f->map_size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)f->map[i] << (8 * i);
    if (hlen > ST_MAX_HEADER || hlen > f->map_size - 8)
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                       "header length %llu exceeds the file (%zu bytes): not a safetensors file, or truncated",
                       (unsigned long long)hlen, f->map_size);
    tg_status s = parse_header(f, (const char *)f->map + 8, (size_t)hlen, f->map_size - 8 - (size_t)hlen,
                               err, err_len);
    if (s != TG_OK) return s;
    const uint8_t *data = f->map + 8 + hlen;
    for (size_t i = 0; i < f->n; i++) f->tensors[i].data = data + (uintptr_t)f->tensors[i].data;
    return TG_OK;
}

static bool little_endian(void)
{
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

tg_status st_open(const char *path, st_file **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!little_endian()) return tg_fail(err, err_len, TG_ERR_UNSUPPORTED, "big-endian host");
    st_file *f = calloc(1, sizeof *f);
    if (!f) return TG_ERR_NOMEM;
    tg_status s = map_file(path, f, err, err_len);
    if (s == TG_OK) s = parse_bytes(f, err, err_len);
    if (s != TG_OK) {
        st_close(f);
        return s;
    }
    *out = f;
    return TG_OK;
}

tg_status st_open_memory(const void *data, size_t size, st_file **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!little_endian()) return tg_fail(err, err_len, TG_ERR_UNSUPPORTED, "big-endian host");
    st_file *f = calloc(1, sizeof *f);
    if (!f) return TG_ERR_NOMEM;
    f->borrowed = (const uint8_t *)data;
    f->map = (uint8_t *)(uintptr_t)data;
    f->map_size = size;
    tg_status s = parse_bytes(f, err, err_len);
    if (s != TG_OK) {
        st_close(f);
        return s;
    }
    *out = f;
    return TG_OK;
}

void st_close(st_file *f)
{
    if (!f) return;
    if (f->map && !f->borrowed) munmap(f->map, f->map_size);
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->names);
    free(f->tensors);
    free(f->meta);
    free(f);
}

size_t st_count(const st_file *f) { return f->n; }
const st_tensor *st_tensor_at(const st_file *f, size_t i) { return i < f->n ? &f->tensors[i] : NULL; }

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *st_meta_get(const st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}
