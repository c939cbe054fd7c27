/*
 * core.h: internal helpers shared by every subsystem: logging through the
 * application's hook, whole-file reading with a size limit, and writing a
 * file under a temporary name that is renamed when complete.
 */
#ifndef TG_CORE_H
#define TG_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "tunegan.h"

#define TG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Programmer-error checks (a shape mismatch, an index out of its range), on
 * in every build: they print the condition (and both values) with file and
 * line, then abort. Bad input from users never reaches them: it gets a
 * status and a message. */
#define TG_ASSERT(cond)                                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define TG_ASSERT_OP(a, op, b)                                                 \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (!(a_ op b_)) {                                                     \
            fprintf(stderr, "%s:%d: assertion failed: %s %s %s (%lld vs %lld)\n", \
                    __FILE__, __LINE__, #a, #op, #b, a_, b_);                  \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Formats a message and hands it to the logger; does nothing when fn is NULL. */
void tg_log(const tg_logger *logger, tg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats a sentence for the user into err (when err is not NULL and err_len > 0)
 * and returns s: `return tg_fail(err, len, TG_ERR_IO, "cannot write %s", path);` */
tg_status tg_fail(char *err, size_t err_len, tg_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* What went wrong, for a message: after a file operation failed with
 * TG_ERR_IO or TG_ERR_NOT_FOUND, the cause errno holds ("No space left on
 * device", "Read-only file system", "Is a directory"); otherwise, or when
 * errno is 0, tg_status_str(s). Call it before anything else can change errno. */
const char *tg_status_cause(tg_status s);

/* Grows *buf (element size elem) so that it holds at least need elements. */
tg_status tg_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* Reads a whole file into a malloc'ed buffer. Files over max_bytes give ERR_TOO_LARGE
 * before anything is allocated; a missing file gives ERR_NOT_FOUND. */
tg_status tg_file_read_all(const char *path, size_t max_bytes, uint8_t **data, size_t *size);

/* Copies a JSON line made by printf from floats into out (cap bytes, always
 * terminated): every value printed as nan, -nan, inf or -inf (JSON has no
 * such numbers) becomes null, so that the log line of a failing step still
 * parses. Text inside strings is left alone. */
void tg_json_null_nonfinite(const char *line, char *out, size_t cap);

/* Whether path names something (any kind) / a folder. */
bool tg_file_exists(const char *path);
bool tg_is_dir(const char *path);

/* Makes the folder path and any missing parents (as `mkdir -p`); a path that
 * exists as a folder is fine. TG_ERR_IO otherwise, with errno set. */
tg_status tg_make_dirs(const char *path);

/* Atomic file output: opens "<path>.tmp.<pid>" for writing; commit flushes, fsyncs,
 * closes and renames it to path; abort closes and removes it. The cause of a
 * failure travels in errno: after TG_ERR_IO (or TG_ERR_NOT_FOUND) from open,
 * commit or tg_file_write_all, errno holds it (ENOSPC, EROFS, EISDIR when a
 * folder has the name...), and abort leaves errno as it found it, so a writer
 * can say `strerror(errno)` after cleaning up. */
typedef struct {
    FILE *fp;
    char *final_path;
    char *tmp_path;
} tg_atomic_file;

tg_status tg_atomic_open(tg_atomic_file *f, const char *path);
tg_status tg_atomic_commit(tg_atomic_file *f);
void tg_atomic_abort(tg_atomic_file *f);
/* Writes a whole buffer to path atomically. */
tg_status tg_file_write_all(const char *path, const void *data, size_t size);

/* Monotonic seconds, for rates and progress. */
double tg_now_sec(void);

/* The logistic function 1 / (1 + e^-z), computed without overflow for
 * either sign of z. */
double tg_sigmoid(double z);

/* ------------------------------------------------------------------------ */
/* Bump arena (arena.c): one zeroed block allocated at creation; alloc hands
 * out TG_ARENA_ALIGN-aligned pieces in order and returns NULL when the block
 * is full; reset (or rewind to a mark) takes pieces back. Activations and
 * scratch live here so that forward and backward passes never call malloc.
 * Not thread-safe: one arena belongs to one thread of control at a time. */

#define TG_ARENA_ALIGN 64
/* Bytes an allocation of n bytes takes from an arena: sum these to size one. */
#define TG_ARENA_BYTES(n) (((size_t)(n) + TG_ARENA_ALIGN - 1) / TG_ARENA_ALIGN * TG_ARENA_ALIGN)

typedef struct tg_arena tg_arena;

tg_status tg_arena_create(size_t size_bytes, tg_arena **out);
void tg_arena_free(tg_arena *a); /* accepts NULL */
void *tg_arena_alloc(tg_arena *a, size_t bytes);
float *tg_arena_alloc_floats(tg_arena *a, size_t n);
void tg_arena_reset(tg_arena *a);
size_t tg_arena_mark(const tg_arena *a);            /* the current fill, to rewind to */
void tg_arena_rewind(tg_arena *a, size_t mark);
size_t tg_arena_used(const tg_arena *a);            /* bytes handed out now */
size_t tg_arena_size(const tg_arena *a);            /* bytes in the block */
size_t tg_arena_high_water(const tg_arena *a);      /* most bytes ever handed out at once */

#endif /* TG_CORE_H */
