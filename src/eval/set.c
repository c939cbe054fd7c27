/*
 * set.c: the sets `tunegan eval` compares. A set is a folder of MIDI files
 * (found recursively, in path order) or one split of a corpus; every piece is
 * kept as its tokens and as the score those tokens decode to. Files pass
 * through the tokenizer even when they are MIDI already, so that generated
 * pieces (decoded from tokens) and real ones are measured at the same
 * resolution: remi's 12 steps per quarter and velocity bins, or grid's
 * melody every 0.4 s. Corpus pieces that are transposed copies (training
 * augmentation) are left out: a set holds each tune once.
 *
 * A piece read from a file also keeps the score as read (`source`), its
 * tracks apart: harmony.c measures melody and voices there.
 *
 * Skipped files (unreadable, damaged beyond recovery, no note, too long for
 * the tokenizer) are named through the logger, as the corpus builder does.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"
#include "eval/eval.h"

void eval_set_free(eval_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->pieces[i].name);
        free(set->pieces[i].ids);
        tg_score_free(set->pieces[i].score);
        tg_score_free(set->pieces[i].source);
    }
    free(set->pieces);
    memset(set, 0, sizeof *set);
}

tg_status eval_set_add_tokens(eval_set *set, const char *name, const uint16_t *ids, size_t n,
                              const tok_tokenizer *tok, const tg_logger *logger)
{
    tg_status st = tg_grow((void **)&set->pieces, &set->cap, set->n + 1, sizeof *set->pieces);
    if (st != TG_OK) return st;
    eval_piece p = {0};
    p.name = strdup(name);
    p.ids = malloc((n ? n : 1) * sizeof *p.ids);
    if (!p.name || !p.ids) {
        free(p.name);
        free(p.ids);
        return TG_ERR_NOMEM;
    }
    if (n) memcpy(p.ids, ids, n * sizeof *ids);
    p.n_ids = n;
    tok_decode_options o = tok_decode_options_default();
    o.lenient = true;
    o.name = name;
    /* repairs are counted, not printed one by one: a floor sample has hundreds */
    size_t repairs = 0;
    st = tok_decode(tok, ids, n, &o, &p.score, NULL, &repairs);
    if (st != TG_OK) {
        tg_log(logger, TG_LOG_WARN, "skipped %s: cannot decode its tokens: %s", name, tg_status_str(st));
        free(p.name);
        free(p.ids);
        set->skipped++;
        return st == TG_ERR_NOMEM ? st : TG_OK;
    }
    set->repairs += repairs;
    set->pieces[set->n++] = p;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Folders. */

typedef struct {
    char **v;
    size_t n, cap;
} path_list;

static bool is_midi_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0);
}

/* Adds the MIDI files under dir; names starting with '.' are ignored. */
static tg_status walk(path_list *pl, const char *dir, int depth)
{
    if (depth > 32) return TG_OK;
    DIR *dp = opendir(dir);
    if (!dp) return depth == 0 ? (errno == ENOENT || errno == ENOTDIR ? TG_ERR_NOT_FOUND : TG_ERR_IO) : TG_OK;
    tg_status st = TG_OK;
    struct dirent *e;
    while (st == TG_OK && (e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            st = TG_ERR_NOMEM;
            break;
        }
        snprintf(full, len, "%s/%s", dir, e->d_name);
        struct stat sb;
        bool keep = false;
        if (stat(full, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                st = walk(pl, full, depth + 1);
            } else if (S_ISREG(sb.st_mode) && is_midi_name(e->d_name)) {
                st = tg_grow((void **)&pl->v, &pl->cap, pl->n + 1, sizeof *pl->v);
                if (st == TG_OK) {
                    pl->v[pl->n++] = full;
                    keep = true;
                }
            }
        }
        if (!keep) free(full);
    }
    closedir(dp);
    return st;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads and tokenizes one file; a problem skips it with a message. */
static tg_status add_file(eval_set *set, const char *path, const tok_tokenizer *tok,
                          const tg_logger *logger)
{
    tg_midi_read_options ro = tg_midi_read_options_default();
    ro.name = path; /* recovered damage is not reported file by file: the corpus builder's policy */
    tg_midi_error me;
    memset(&me, 0, sizeof me);
    tg_score *score = NULL;
    tg_status st = tg_midi_read_file(path, &ro, &score, NULL, &me);
    if (st != TG_OK) {
        tg_log(logger, TG_LOG_WARN, "skipped %s: %s", path, me.what[0] ? me.what : tg_status_str(st));
        set->skipped++;
        return st == TG_ERR_NOMEM ? st : TG_OK;
    }
    tok_seq seq = {0};
    if (tg_score_note_count(score) == 0) {
        tg_log(logger, TG_LOG_WARN, "skipped %s: holds no note", path);
        set->skipped++;
        tg_score_free(score);
        return TG_OK;
    }
    st = tok_encode(tok, score, &seq);
    if (st != TG_OK) {
        tg_log(logger, TG_LOG_WARN, "skipped %s: cannot tokenize: %s", path, tg_status_str(st));
        set->skipped++;
        tok_seq_free(&seq);
        tg_score_free(score);
        return st == TG_ERR_NOMEM ? st : TG_OK;
    }
    size_t before = set->n;
    st = eval_set_add_tokens(set, path, seq.ids, seq.n, tok, logger);
    tok_seq_free(&seq);
    /* the piece keeps its source: remi merges tracks of one program, and
     * harmony.c needs them apart */
    if (set->n > before) set->pieces[before].source = score;
    else tg_score_free(score);
    return st;
}

tg_status eval_set_from_dir(const char *dir, const tok_tokenizer *tok, const tg_logger *logger,
                            eval_set *set)
{
    memset(set, 0, sizeof *set);
    path_list pl = {0};
    tg_status st = walk(&pl, dir, 0);
    if (st == TG_OK) {
        if (pl.n > 1) qsort(pl.v, pl.n, sizeof *pl.v, cmp_path);
        set->files_found = pl.n;
        for (size_t i = 0; i < pl.n && st == TG_OK; i++) st = add_file(set, pl.v[i], tok, logger);
    }
    for (size_t i = 0; i < pl.n; i++) free(pl.v[i]);
    free(pl.v);
    if (st != TG_OK) eval_set_free(set);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Corpora. */

tg_status eval_set_from_corpus(const data_corpus *c, const char *corpus_name, int split,
                               const tok_tokenizer *tok, const tg_logger *logger, eval_set *set)
{
    memset(set, 0, sizeof *set);
    if (split < 0 || split >= DATA_SPLITS) return TG_ERR_ARG;
    set->files_found = c->split_count[split];
    tg_status st = TG_OK;
    for (uint64_t k = 0; k < c->split_count[split] && st == TG_OK; k++) {
        uint64_t i = c->split_pieces[split][k];
        const data_piece *p = &c->pieces[i];
        if (p->transpose != 0) {
            set->transposed++;
            continue;
        }
        char name[1024];
        snprintf(name, sizeof name, "%s:%s/%s", corpus_name, data_split_name(split), data_corpus_path(c, i));
        st = eval_set_add_tokens(set, name, c->tokens + p->offset, p->length, tok, logger);
    }
    if (st != TG_OK) eval_set_free(set);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Sequences for BLEU. */

tg_status eval_set_sequences(const eval_set *set, int segment, eval_seq **seqs, size_t *n)
{
    *seqs = NULL;
    *n = 0;
    eval_seq *v = NULL;
    size_t cnt = 0, cap = 0;
    for (size_t i = 0; i < set->n; i++) {
        const uint16_t *ids = set->pieces[i].ids;
        size_t a = 0, b = set->pieces[i].n_ids;
        /* content only: drop a leading BOS, cut at EOS, drop trailing PAD */
        if (a < b && ids[a] == TOK_BOS) a++;
        for (size_t j = a; j < b; j++)
            if (ids[j] == TOK_EOS) {
                b = j;
                break;
            }
        while (b > a && ids[b - 1] == TOK_PAD) b--;
        size_t len = b - a, step = segment > 0 ? (size_t)segment : (len ? len : 1);
        for (size_t s = 0; s < len || (s == 0 && len == 0); s += step) {
            tg_status st = tg_grow((void **)&v, &cap, cnt + 1, sizeof *v);
            if (st != TG_OK) {
                free(v);
                return st;
            }
            size_t m = len - s < step ? len - s : step;
            v[cnt++] = (eval_seq){ids + a + s, m};
            if (len == 0) break;
        }
    }
    *seqs = v;
    *n = cnt;
    return TG_OK;
}
