/*
 * fuzz_safetensors.c: libFuzzer entry point for the safetensors reader
 * (st_open_memory: the checks st_open runs on a mapped file) and for
 * model_load, which opens a checkpoint by path: the input is written to a
 * temporary file (one per process, rewritten each time).
 *
 * Expectations (a broken one aborts, which libFuzzer reports as a crash): a
 * refusal comes with a message; an opened file's tensors are found by their
 * names and lie inside the input, and the first and last byte of each are
 * read so that the sanitizers see a tensor reaching past it. model_load
 * refuses what st_open_memory refused; otherwise it either refuses with a
 * message or gives a model whose parameters match the file's tensors byte
 * for byte, and loading the weights again into that model succeeds.
 * Models whose config asks for more than a small size are not created (the
 * limits of model_config_check allow gigabytes, which is no finding).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors/safetensors.h"
#include "model/model.h"
#include "fuzz.h"

/* The input as a file at a path of this process's own. */
static const char *write_temp(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fuzz_st_%ld.safetensors", dir && strlen(dir) < 32 ? dir : "/tmp",
                 (long)getpid());
    }
    FILE *fp = fopen(path, "wb");
    EXPECT(fp != NULL, "cannot write %s", path);
    EXPECT(fwrite(data, 1, size, fp) == size && fclose(fp) == 0, "cannot write %s", path);
    return path;
}

static void check_file(const st_file *f, const uint8_t *bytes, size_t size)
{
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        EXPECT(st_find(f, t->name) == t, "tensor '%s' not found by its name", t->name);
        EXPECT(t->ndim >= 0 && t->ndim <= ST_MAX_DIMS && t->dtype < ST_DTYPE_COUNT, "tensor '%s'", t->name);
        size_t n = st_tensor_bytes(t);
        const uint8_t *p = t->data;
        EXPECT(p >= bytes && p <= bytes + size && n <= (size_t)(bytes + size - p),
               "tensor '%s' lies outside the file", t->name);
        if (n) {
            volatile uint8_t first = p[0], last = p[n - 1];
            (void)first;
            (void)last;
        }
    }
    const char *fmt = st_meta_get(f, "format");
    if (fmt) (void)strlen(fmt);
}

/* Would the model of this config be small? (It is created with batch 1.) */
static bool small_config(const char *json)
{
    model_config c;
    if (!json || model_config_from_json(json, &c, NULL, 0) != TG_OK) return true; /* refused early */
    return c.vocab_size <= 1024 && c.d_model <= 64 && c.n_layers <= 2 && c.context <= 64 && c.ff_mult <= 8;
}

static void check_model(const char *path, const st_file *f)
{
    if (!small_config(st_meta_get(f, "config"))) return;
    tg_model *m = NULL;
    model_meta *meta = NULL;
    char err[512] = "";
    tg_status st = model_load(path, 1, &m, &meta, err, sizeof err);
    if (st != TG_OK) {
        EXPECT(m == NULL && meta == NULL, "a model after a failure");
        EXPECT(err[0] != 0, "a failure (%s) without a message", tg_status_name(st));
        return;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->table[i];
        const st_tensor *s = st_find(f, t->name);
        EXPECT(s && st_tensor_bytes(s) == t->numel * sizeof(float), "tensor '%s'", t->name);
        EXPECT(memcmp(s->data, m->param_data + t->offset, t->numel * sizeof(float)) == 0,
               "tensor '%s' differs from the file", t->name);
    }
    for (size_t i = 0; i < model_meta_count(meta); i++) {
        const char *key = model_meta_key(meta, i);
        EXPECT(key && model_meta_get(meta, key) != NULL, "metadata %zu", i);
    }
    EXPECT(model_load_weights(m, path, err, sizeof err) == TG_OK, "loading the weights again: %s", err);
    model_meta_free(meta);
    model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *bytes = calloc(size ? size : 1, 1); /* exactly the input's size */
    EXPECT(bytes != NULL, "out of memory");
    if (size) memcpy(bytes, data, size);
    st_file *f = NULL;
    char err[256] = "";
    tg_status st = st_open_memory(bytes, size, &f, err, sizeof err);
    const char *path = write_temp(data, size);
    if (st != TG_OK) {
        EXPECT(f == NULL, "a file after a failure");
        EXPECT(err[0] != 0, "a failure (%s) without a message", tg_status_name(st));
        tg_model *m = NULL;
        EXPECT(model_load(path, 1, &m, NULL, err, sizeof err) == st && m == NULL,
               "model_load accepts a file st_open_memory refused (%s)", tg_status_name(st));
    } else {
        check_file(f, bytes, size);
        check_model(path, f);
        st_close(f);
    }
    unlink(path);
    free(bytes);
    return 0;
}
