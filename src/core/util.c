/*
 * util.c: logging through the application's hook, growable arrays, whole-file
 * reads with a size limit, atomic writes (temporary name, then rename), and a
 * monotonic clock. Nothing here prints or exits.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

void tg_log(const tg_logger *logger, tg_log_level level, const char *fmt, ...)
{
    if (!logger || !logger->fn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    logger->fn(logger->user, level, msg);
}

tg_status tg_fail(char *err, size_t err_len, tg_status s, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return s;
}

const char *tg_status_cause(tg_status s)
{
    if ((s == TG_ERR_IO || s == TG_ERR_NOT_FOUND) && errno != 0) return strerror(errno);
    return tg_status_str(s);
}

tg_status tg_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return TG_OK;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2) return TG_ERR_NOMEM;
        n *= 2;
    }
    if (n > SIZE_MAX / elem) return TG_ERR_NOMEM;
    void *p = realloc(*buf, n * elem);
    if (!p) return TG_ERR_NOMEM;
    *buf = p;
    *cap = n;
    return TG_OK;
}

tg_status tg_file_read_all(const char *path, size_t max_bytes, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        fclose(fp);
        return TG_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(fp);
        errno = EISDIR;
        return TG_ERR_IO;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes) {
        fclose(fp);
        return TG_ERR_TOO_LARGE;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(fp);
        return TG_ERR_NOMEM;
    }
    errno = 0;
    size_t got = fread(buf, 1, n, fp);
    int bad = ferror(fp), cause = errno;
    fclose(fp);
    if (bad || got != n) {
        free(buf);
        errno = bad ? cause : 0; /* a short read without an error: the file shrank */
        return TG_ERR_IO;
    }
    *data = buf;
    *size = n;
    return TG_OK;
}

tg_status tg_atomic_open(tg_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    size_t len = strlen(path) + 32;
    f->final_path = strdup(path);
    f->tmp_path = malloc(len);
    if (!f->final_path || !f->tmp_path) {
        tg_atomic_abort(f);
        return TG_ERR_NOMEM;
    }
    snprintf(f->tmp_path, len, "%s.tmp.%ld", path, (long)getpid());
    /* a folder in the way: say so (rename would fail later with EISDIR) */
    if (tg_is_dir(path)) {
        tg_atomic_abort(f);
        errno = EISDIR;
        return TG_ERR_IO;
    }
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        tg_status s = errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO;
        tg_atomic_abort(f);
        return s;
    }
    return TG_OK;
}

tg_status tg_atomic_commit(tg_atomic_file *f)
{
    /* errno of the first call that fails, handed back to the caller */
    int cause = 0;
    errno = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0) cause = errno ? errno : EIO;
    errno = 0;
    if (fclose(f->fp) != 0 && !cause) cause = errno ? errno : EIO;
    f->fp = NULL;
    errno = 0;
    if (!cause && rename(f->tmp_path, f->final_path) != 0) cause = errno ? errno : EIO;
    if (cause) remove(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    f->tmp_path = f->final_path = NULL;
    errno = cause;
    return cause ? TG_ERR_IO : TG_OK;
}

void tg_atomic_abort(tg_atomic_file *f)
{
    int saved = errno; /* the caller's cause, not that of the cleanup */
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) remove(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    memset(f, 0, sizeof *f);
    errno = saved;
}

tg_status tg_file_write_all(const char *path, const void *data, size_t size)
{
    tg_atomic_file f;
    tg_status s = tg_atomic_open(&f, path);
    if (s != TG_OK) return s;
    errno = 0;
    if (size && fwrite(data, 1, size, f.fp) != size) {
        if (!errno) errno = EIO;
        tg_atomic_abort(&f);
        return TG_ERR_IO;
    }
    return tg_atomic_commit(&f);
}

bool tg_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool tg_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

tg_status tg_make_dirs(const char *path)
{
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p) return TG_ERR_NOMEM;
    memcpy(p, path, n + 1);
    tg_status s = TG_OK;
    for (size_t i = 1; i <= n && s == TG_OK; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) != 0 && !tg_is_dir(p)) s = TG_ERR_IO;
        p[i] = c;
    }
    int saved = errno;
    free(p);
    errno = saved;
    return s;
}

double tg_sigmoid(double z)
{
    return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

double tg_now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether v starts a printf'ed non-finite number (nan, -nan, inf, -inf)
 * that ends a JSON value; its length, else 0. */
static size_t nonfinite_len(const char *v)
{
    static const char *const words[] = {"-nan", "nan", "-inf", "inf"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
        size_t n = strlen(words[k]);
        if (strncmp(v, words[k], n) == 0 && (v[n] == ',' || v[n] == '}' || v[n] == ']' || v[n] == '\0'))
            return n;
    }
    return 0;
}

void tg_json_null_nonfinite(const char *line, char *out, size_t cap)
{
    if (cap == 0) return;
    size_t w = 0;
    bool in_string = false;
    char prev = '\0';
    for (const char *r = line; *r && w + 1 < cap;) {
        bool value_start = prev == ':' || prev == '[' || prev == ',';
        size_t n = !in_string && value_start ? nonfinite_len(r) : 0;
        if (n && w + 4 < cap) {
            memcpy(out + w, "null", 4);
            w += 4;
            r += n;
            prev = 'l';
            continue;
        }
        if (*r == '"' && prev != '\\') in_string = !in_string;
        prev = *r;
        out[w++] = *r++;
    }
    out[w] = '\0';
}
