/*
 * safetensors.h: safetensors files (https://github.com/huggingface/safetensors): an
 * 8-byte little-endian header length, a JSON header naming every tensor
 * (dtype, shape, byte offsets into the data) plus "__metadata__" (string to
 * string), then the raw little-endian tensor bytes, contiguous and without
 * holes. tunegan's checkpoints are such files: a model opens in Python with
 * the safetensors package or a few lines of json + numpy.
 *
 * Writing goes through a temporary name and a rename. Reading maps the file
 * and validates the whole header (offsets in bounds, sizes matching shapes,
 * no overlaps or holes) before anything is handed out.
 */
#ifndef TG_SAFETENSORS_H
#define TG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "tunegan.h"

typedef enum { ST_F32, ST_F64, ST_I32, ST_I64, ST_U8, ST_U16, ST_DTYPE_COUNT } st_dtype;

#define ST_MAX_DIMS 8

typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;  /* writing: the bytes to write; reading: points into the mapped file */
} st_tensor;

typedef struct {
    const char *key;
    const char *value;
} st_meta;

/* Writes tensors (in the given order) and metadata to path atomically. */
tg_status st_write(const char *path, const st_tensor *tensors, size_t n_tensors,
                   const st_meta *meta, size_t n_meta);

typedef struct st_file st_file;

/* Maps and validates a safetensors file. On failure err (may be NULL) says what
 * is wrong, e.g. "header length 9999999 exceeds the file (1234 bytes)". */
tg_status st_open(const char *path, st_file **out, char *err, size_t err_len);
/* The same on bytes the caller holds (they must outlive the file; tensors
 * point into them). The fuzz entry point uses it (fuzz/fuzz_safetensors.c). */
tg_status st_open_memory(const void *data, size_t size, st_file **out, char *err, size_t err_len);
void st_close(st_file *f);
size_t st_count(const st_file *f);
const st_tensor *st_tensor_at(const st_file *f, size_t i);
/* NULL when absent. Pointers stay valid until st_close. */
const st_tensor *st_find(const st_file *f, const char *name);
const char *st_meta_get(const st_file *f, const char *key);
size_t st_tensor_bytes(const st_tensor *t);
size_t st_dtype_size(st_dtype d);
const char *st_dtype_name(st_dtype d);
/* Number of elements (product of the shape; 1 for a scalar). */
int64_t st_tensor_numel(const st_tensor *t);

#endif /* TG_SAFETENSORS_H */
