/*
 * tok_kind.c: the registry of tokenizer kinds (one table of functions each,
 * tok.h's tok_kind_ops), and everything that goes through it without
 * knowing a kind: config defaults, names, checks and the config string
 * (written and parsed from each kind's list of keys), and the questions
 * samplers and primers ask (bars, time units). What it leaves out: the
 * kinds themselves (tok_remi.c, tok_grid.c, tok_perf.c, tok_raw.c,
 * tok_remi_compact.c) and the
 * vocabulary and coding machinery (tok.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

/* ------------------------------------------------------------------------ */
/* The registry: a new tokenizer adds its table here, in tok_kind order. */

static const tok_kind_ops *const kinds[] = {
    &tok_remi_ops,
    &tok_grid_ops,
    &tok_perf_ops,
    &tok_raw_ops,
    &tok_remi_compact_ops,
    &tok_remi_tracks_ops,
};

size_t tok_kind_count(void) { return TG_ARRAY_LEN(kinds); }

const tok_kind_ops *tok_kind_at(size_t i) { return i < TG_ARRAY_LEN(kinds) ? kinds[i] : NULL; }

const tok_kind_ops *tok_kind_get(tok_kind kind)
{
    for (size_t i = 0; i < TG_ARRAY_LEN(kinds); i++)
        if (kinds[i]->kind == kind) return kinds[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Configs. */

tok_config tok_config_default(tok_kind kind)
{
    tok_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    for (size_t i = 0; i < TG_ARRAY_LEN(kinds); i++) kinds[i]->config_default(&c);
    return c;
}

const char *tok_kind_name(tok_kind kind)
{
    const tok_kind_ops *k = tok_kind_get(kind);
    return k ? k->name : NULL;
}

tg_status tok_kind_parse(const char *name, tok_kind *kind)
{
    for (size_t i = 0; i < TG_ARRAY_LEN(kinds); i++)
        if (strcmp(name, kinds[i]->name) == 0) {
            *kind = kinds[i]->kind;
            return TG_OK;
        }
    return TG_ERR_ARG;
}

tg_status tok_config_check(const tok_config *c, char *why, size_t n)
{
    const tok_kind_ops *k = tok_kind_get(c->kind);
    if (!k) return tg_fail(why, n, TG_ERR_ARG, "unknown tokenizer kind %d", (int)c->kind);
    return k->config_check(c, why, n);
}

/* The shortest of %.15g..%.17g that reads back as the same double. */
static void fmt_double(char *buf, size_t size, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

tg_status tok_config_to_string(const tok_config *c, char *buf, size_t size)
{
    const tok_kind_ops *k = tok_kind_get(c->kind);
    if (!k) return TG_ERR_ARG;
    char text[1024], value[32];
    size_t len = (size_t)snprintf(text, sizeof text, "%s:v=%d", k->name, TOK_VERSION);
    for (int i = 0; i < k->n_keys && len < sizeof text; i++) {
        const char *at = (const char *)c + k->keys[i].offset;
        if (k->keys[i].real)
            fmt_double(value, sizeof value, *(const double *)at);
        else
            snprintf(value, sizeof value, "%d", *(const int *)at);
        len += (size_t)snprintf(text + len, sizeof text - len, ",%s=%s", k->keys[i].key, value);
    }
    if (len >= sizeof text) return TG_ERR_TOO_LARGE;
    snprintf(buf, size, "%s", text);
    return len >= size ? TG_ERR_TOO_LARGE : TG_OK;
}

/* The key of kind k spelled by the kl bytes at p; NULL when it has none. */
static const tok_config_key *find_key(const tok_kind_ops *k, const char *p, size_t kl)
{
    for (int i = 0; i < k->n_keys; i++)
        if (strlen(k->keys[i].key) == kl && strncmp(k->keys[i].key, p, kl) == 0) return &k->keys[i];
    return NULL;
}

/* Reads val, the value of key, into *i (a whole number) or else *d. */
static tg_status parse_value(const char *key, const char *val, int *i, double *d, char *why,
                             size_t wn)
{
    char *end = NULL;
    errno = 0;
    if (i) {
        long v = strtol(val, &end, 10);
        if (errno || *end || v < -1000000 || v > 1000000)
            return tg_fail(why, wn, TG_ERR_FORMAT, "'%s' expects a whole number, got '%s'", key, val);
        *i = (int)v;
        return TG_OK;
    }
    double v = strtod(val, &end);
    if (errno || *end || !isfinite(v))
        return tg_fail(why, wn, TG_ERR_FORMAT, "'%s' expects a number, got '%s'", key, val);
    *d = v;
    return TG_OK;
}

/* Parses the key=value pairs at p into c (of kind k) and *version. */
static tg_status parse_pairs(const char *p, const tok_kind_ops *k, tok_config *c, int *version,
                             char *why, size_t wn)
{
    static const tok_config_key version_key = {"v", 0, false};
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq) return tg_fail(why, wn, TG_ERR_FORMAT, "expected key=value, got '%.*s'", (int)len, p);
        size_t kl = (size_t)(eq - p);
        const tok_config_key *key = kl == 1 && *p == 'v' ? &version_key : find_key(k, p, kl);
        if (!key) return tg_fail(why, wn, TG_ERR_FORMAT, "unknown %s key '%.*s'", k->name, (int)kl, p);
        char val[64];
        size_t vl = len - kl - 1;
        if (vl == 0 || vl >= sizeof val)
            return tg_fail(why, wn, TG_ERR_FORMAT, "bad value for '%.*s'", (int)kl, p);
        memcpy(val, eq + 1, vl);
        val[vl] = 0;
        char *at = (char *)c + key->offset;
        int *i = key == &version_key ? version : key->real ? NULL : (int *)at;
        tg_status st = parse_value(key->key, val, i, (double *)at, why, wn);
        if (st != TG_OK) return st;
        p += len;
        if (*p == ',') p++;
    }
    return TG_OK;
}

/* "remi, grid, perf, raw or remi-compact": the kinds' names, for messages. */
static void kind_list(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < TG_ARRAY_LEN(kinds) && len < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == TG_ARRAY_LEN(kinds) ? " or " : ", ";
        len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, kinds[i]->name);
    }
}

tg_status tok_config_parse(const char *text, tok_config *out, char *why, size_t wn)
{
    size_t klen = strcspn(text, ":");
    char kname[16];
    if (klen == 0 || klen >= sizeof kname)
        return tg_fail(why, wn, TG_ERR_FORMAT, "no tokenizer kind in '%.40s'", text);
    memcpy(kname, text, klen);
    kname[klen] = 0;
    tok_kind kind;
    if (tok_kind_parse(kname, &kind) != TG_OK) {
        char names[128];
        kind_list(names, sizeof names);
        return tg_fail(why, wn, TG_ERR_FORMAT, "unknown tokenizer '%s' (%s)", kname, names);
    }
    tok_config c = tok_config_default(kind);
    int version = TOK_VERSION;
    const char *p = text + klen;
    if (*p == ':') p++;
    tg_status st = parse_pairs(p, tok_kind_get(kind), &c, &version, why, wn);
    if (st != TG_OK) return st;
    if (version != TOK_VERSION)
        return tg_fail(why, wn, TG_ERR_VERSION, "tokenizer version %d, this build reads %d", version,
                    TOK_VERSION);
    st = tok_config_check(&c, why, wn);
    if (st != TG_OK) return st;
    *out = c;
    return TG_OK;
}

tg_status tok_config_set(tok_config *c, const char *key, double value)
{
    const tok_kind_ops *k = tok_kind_get(c->kind);
    const tok_config_key *ck = k ? find_key(k, key, strlen(key)) : NULL;
    if (!ck) return TG_ERR_ARG;
    char *at = (char *)c + ck->offset;
    if (ck->real)
        *(double *)at = value;
    else
        *(int *)at = (int)value;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* What samplers and primers ask. */

bool tok_is_music(const tok_tokenizer *tok) { return tok->ops->music; }
int tok_bar_id(const tok_tokenizer *tok) { return tok_id(tok, TOK_T_BAR, 0); }
bool tok_has_bars(const tok_tokenizer *tok) { return tok_bar_id(tok) >= 0; }
bool tok_drops_notes(const tok_tokenizer *tok) { return tok->ops->drops_notes; }
bool tok_merges_repeats(const tok_tokenizer *tok) { return tok->ops->merges_repeats; }

int tok_steps_per_quarter(const tok_tokenizer *tok)
{
    return tok->ops->steps_per_quarter(&tok->cfg);
}

double tok_time_sec(const tok_tokenizer *tok, const tg_score *score, int64_t time)
{
    int spq = tok_steps_per_quarter(tok);
    if (spq <= 0) return time * tok->ops->unit_sec(&tok->cfg);
    if (score->ticks_per_quarter > 0)
        return tg_score_ticks_to_sec(score, -1, time * score->ticks_per_quarter / spq);
    return time * 0.5 / spq; /* SMPTE: read at 120 bpm */
}

int tok_no_steps(const tok_config *c)
{
    (void)c;
    return 0;
}

double tok_no_unit(const tok_config *c)
{
    (void)c;
    return 0.0;
}
