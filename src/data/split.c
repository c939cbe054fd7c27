/*
 * split.c: which split (train, valid, test) each file of a corpus goes to:
 * from a TSV of relative paths, or from crc32 of the relative path (data.h
 * gives both rules and what happens when a TSV and the folders disagree).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "data.h"

uint32_t data_crc32(const void *data, size_t size)
{
    /* bitwise CRC-32 (reflected polynomial 0xEDB88320, as zlib and PNG) */
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

int data_hash_split(const char *relative_path)
{
    uint32_t r = data_crc32(relative_path, strlen(relative_path)) % 10;
    return r == 0 ? DATA_TEST : r == 1 ? DATA_VALID : DATA_TRAIN;
}

typedef struct {
    const char *key;
    int split;
    size_t line;
    bool matched;
} tsv_entry;

static int cmp_entry(const void *pa, const void *pb)
{
    const tsv_entry *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (c) return c;
    return (a->line > b->line) - (a->line < b->line);
}

static tsv_entry *find(tsv_entry *v, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid].key, key);
        if (c == 0) return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

/* Parses the TSV in place (text is modified and must outlive the entries). */
static tg_status parse_tsv(const char *path, char *text, tsv_entry **out, size_t *n_out,
                           data_error *err)
{
    tsv_entry *v = NULL;
    size_t n = 0, cap = 0;
    size_t line = 0;
    char *p = text;
    while (*p) {
        line++;
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *l = trim(p);
        p = nl ? nl + 1 : p + strlen(p);
        if (!l[0] || l[0] == '#') continue;
        char *tab = strchr(l, '\t');
        if (!tab) {
            data_fail(err, "%s:%zu: expected 'relative/path<TAB>train|valid|test', got '%.80s'",
                      path, line, l);
            free(v);
            return TG_ERR_FORMAT;
        }
        *tab = 0;
        char *key = trim(l), *val = trim(tab + 1);
        if (strncmp(key, "./", 2) == 0) key += 2;
        int split = strcmp(val, "train") == 0 ? DATA_TRAIN
                    : strcmp(val, "valid") == 0 ? DATA_VALID
                    : strcmp(val, "test") == 0 ? DATA_TEST
                                                : -1;
        if (split < 0 || !key[0]) {
            data_fail(err, "%s:%zu: %s '%.80s' (train, valid or test)", path, line,
                      key[0] ? "unknown split" : "no path before the split", val);
            free(v);
            return TG_ERR_FORMAT;
        }
        tg_status st = tg_grow((void **)&v, &cap, n + 1, sizeof *v);
        if (st != TG_OK) {
            free(v);
            return st;
        }
        v[n++] = (tsv_entry){key, split, line, false};
    }
    if (n == 0) {
        data_fail(err, "%s: no 'path<TAB>split' lines", path);
        free(v);
        return TG_ERR_FORMAT;
    }
    qsort(v, n, sizeof *v, cmp_entry);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i].key, v[i - 1].key) == 0) {
            data_fail(err, "%s:%zu: %s is already named on line %zu", path, v[i].line, v[i].key,
                      v[i - 1].line);
            free(v);
            return TG_ERR_FORMAT;
        }
    *out = v;
    *n_out = n;
    return TG_OK;
}

/* Appends up to three names to a message. */
static void first_names(char *buf, size_t size, const char *const *names, size_t n)
{
    size_t at = strlen(buf);
    for (size_t i = 0; i < n && i < 3 && at < size; i++) {
        int w = snprintf(buf + at, size - at, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        at += (size_t)w;
    }
    if (n > 3 && at < size) snprintf(buf + at, size - at, ", ...");
}

tg_status data_assign_splits(data_file *files, size_t n, const data_build_options *opt,
                             data_build_report *rep, data_error *err)
{
    if (!opt->split_path) {
        for (size_t i = 0; i < n; i++) files[i].split = data_hash_split(files[i].rel);
        return TG_OK;
    }
    uint8_t *text = NULL;
    size_t size = 0;
    tg_status st = tg_file_read_all(opt->split_path, 256u << 20, &text, &size);
    if (st != TG_OK) {
        data_fail(err, "cannot read split file %s: %s", opt->split_path, tg_status_str(st));
        return st;
    }
    char *s = malloc(size + 1);
    if (!s) {
        free(text);
        return TG_ERR_NOMEM;
    }
    memcpy(s, text, size);
    s[size] = 0;
    free(text);
    if (strlen(s) != size) {
        data_fail(err, "%s: not a text file (it holds a NUL byte)", opt->split_path);
        free(s);
        return TG_ERR_FORMAT;
    }
    tsv_entry *v = NULL;
    size_t nv = 0;
    st = parse_tsv(opt->split_path, s, &v, &nv, err);
    if (st != TG_OK) {
        free(s);
        return st;
    }
    bool bare = true;
    for (size_t i = 0; i < nv; i++)
        if (strchr(v[i].key, '/')) bare = false;

    const char **unlisted = malloc((n ? n : 1) * sizeof *unlisted);
    const char **missing = malloc(nv * sizeof *missing);
    if (!unlisted || !missing) {
        free(unlisted);
        free(missing);
        free(v);
        free(s);
        return TG_ERR_NOMEM;
    }
    size_t n_unlisted = 0, n_missing = 0;
    for (size_t i = 0; i < n; i++) {
        tsv_entry *e = find(v, nv, files[i].rel);
        if (!e && bare) {
            const char *slash = strrchr(files[i].rel, '/');
            e = find(v, nv, slash ? slash + 1 : files[i].rel);
        }
        if (e) {
            e->matched = true;
            files[i].split = e->split;
        } else {
            unlisted[n_unlisted++] = files[i].rel;
            files[i].split = data_hash_split(files[i].rel);
        }
    }
    for (size_t i = 0; i < nv; i++)
        if (!v[i].matched) missing[n_missing++] = v[i].key;
    rep->unlisted = n_unlisted;
    rep->missing = n_missing;

    if (n_missing || n_unlisted) {
        char msg[480] = "";
        if (n_missing) {
            snprintf(msg, sizeof msg, "%s names %zu file%s not found under the folders given (",
                     opt->split_path, n_missing, n_missing == 1 ? "" : "s");
            first_names(msg, sizeof msg, missing, n_missing);
            strncat(msg, ")", sizeof msg - strlen(msg) - 1);
        }
        if (n_unlisted) {
            size_t at = strlen(msg);
            snprintf(msg + at, sizeof msg - at, "%s%zu file%s found %s not named in %s (", at ? "; " : "",
                     n_unlisted, n_unlisted == 1 ? "" : "s", n_unlisted == 1 ? "is" : "are",
                     opt->split_path);
            first_names(msg, sizeof msg, unlisted, n_unlisted);
            strncat(msg, ")", sizeof msg - strlen(msg) - 1);
        }
        if (!opt->allow_missing) {
            data_fail(err, "%s", msg);
            st = TG_ERR_NOT_FOUND;
        } else {
            tg_log(&opt->logger, TG_LOG_WARN, "%s%s", msg,
                   n_unlisted ? "; files not named take the hash split" : "");
        }
    }
    free(unlisted);
    free(missing);
    free(v);
    free(s);
    return st;
}
