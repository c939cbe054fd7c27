/*
 * ngram_samples.c: the floors of experiments/eval-baselines: pieces sampled
 * from a unigram or a bigram model of a corpus's training split, written as
 * MIDI files, so that `tunegan eval` has something worse than any trained
 * model to put beside it.
 *
 *   ngram_samples --corpus CORPUS --order 1|2 --count N --seed S -o DIR
 *
 * The model: counts of every training piece's content tokens (BOS, EOS and
 * PAD left out), for order 2 counts of (previous, next) pairs with BOS as the
 * previous token of a piece's first one. A sample takes the content length
 * of a training piece drawn uniformly, then draws that many tokens: order 1
 * from the unigram frequencies, order 2 from the row of the previous token
 * (the unigram frequencies when that token was never followed by content),
 * and ends with EOS. Nothing forces the grammar (remi's Bar/Position/...
 * order), so the tokens are decoded leniently: tokens that break it are
 * dropped or the broken note repaired; the repairs are counted and printed.
 *
 * A program of its own rather than a hidden `tunegan eval` mode: it is an
 * experiment's tool, not something users need, and keeping it out of the
 * command keeps `tunegan eval --help` about evaluation. It is built beside
 * the tests (tests/eval.cmake) as build/ngram_samples.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data.h"
#include "tok/tok.h"
#include "tunegan.h"

#include "tool_args.h"

static int usage(void)
{
    fprintf(stderr, "usage: ngram_samples --corpus CORPUS --order 1|2 --count N --seed S -o DIR\n");
    return 1;
}

/* Draws an index from counts (total > 0). */
static int draw(tg_rng *rng, const uint64_t *counts, int n, uint64_t total)
{
    uint64_t r = tg_rng_u64(rng) % total, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += counts[i];
        if (r < acc) return i;
    }
    return n - 1;
}

static bool content(int id)
{
    return id != TOK_PAD && id != TOK_BOS && id != TOK_EOS;
}

int main(int argc, char **argv)
{
    const char *corpus_path = NULL, *out_dir = NULL;
    long order = 1, count = 100, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (strcmp(a, "--corpus") == 0)
            corpus_path = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            out_dir = v;
        else if (strcmp(a, "--order") == 0) {
            if (tool_parse_long("ngram_samples", a, v, 1, 2, &order)) return 1;
        } else if (strcmp(a, "--count") == 0) {
            if (tool_parse_long("ngram_samples", a, v, 1, 1000000, &count)) return 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (tool_parse_long("ngram_samples", a, v, 0, 2147483647L, &seed)) return 1;
        } else
            return usage();
        i++;
    }
    if (!corpus_path || !out_dir) return usage();

    data_corpus *c = NULL;
    data_error derr = {{0}};
    tg_status st = data_corpus_open(corpus_path, &c, &derr);
    if (st != TG_OK) {
        fprintf(stderr, "ngram_samples: %s: %s\n", corpus_path, derr.what[0] ? derr.what : tg_status_str(st));
        return 1;
    }
    tok_config cfg;
    char why[160];
    tok_tokenizer *tok = NULL;
    if (tok_config_parse(c->config, &cfg, why, sizeof why) != TG_OK || tok_create(&cfg, &tok) != TG_OK) {
        fprintf(stderr, "ngram_samples: %s: tokenizer '%s' unusable\n", corpus_path, c->config);
        data_corpus_close(c);
        return 1;
    }
    int V = (int)c->vocab_size;
    uint64_t n_train = c->split_count[DATA_TRAIN];
    uint64_t *uni = calloc((size_t)V, sizeof *uni);
    uint64_t *bi = order == 2 ? calloc((size_t)V * V, sizeof *bi) : NULL;
    uint64_t *row_total = calloc((size_t)V, sizeof *row_total);
    uint16_t *ids = NULL;
    int rc = 1;
    if (!uni || !row_total || (order == 2 && !bi)) {
        fprintf(stderr, "ngram_samples: out of memory\n");
        goto done;
    }
    if (n_train == 0) {
        fprintf(stderr, "ngram_samples: %s has no training piece\n", corpus_path);
        goto done;
    }
    uint64_t uni_total = 0, longest = 0;
    for (uint64_t k = 0; k < n_train; k++) {
        const data_piece *p = &c->pieces[c->split_pieces[DATA_TRAIN][k]];
        const uint16_t *t = c->tokens + p->offset;
        int prev = TOK_BOS;
        for (uint32_t i = 0; i < p->length; i++) {
            if (!content(t[i])) continue;
            uni[t[i]]++;
            uni_total++;
            if (bi) {
                bi[(size_t)prev * V + t[i]]++;
                row_total[prev]++;
            }
            prev = t[i];
        }
        if (p->length > longest) longest = p->length;
    }
    if (uni_total == 0) {
        fprintf(stderr, "ngram_samples: the training split holds no content token\n");
        goto done;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ngram_samples: cannot create %s: %s\n", out_dir, strerror(errno));
        goto done;
    }
    ids = malloc((longest + 2) * sizeof *ids);
    if (!ids) goto done;
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)seed);
    size_t repairs_total = 0, notes_total = 0, empty = 0;
    for (long s = 0; s < count; s++) {
        const data_piece *p = &c->pieces[c->split_pieces[DATA_TRAIN][tg_rng_u64(&rng) % n_train]];
        size_t len = 0;
        for (uint32_t i = 0; i < p->length; i++) len += content(c->tokens[p->offset + i]);
        size_t n = 0;
        ids[n++] = TOK_BOS;
        int prev = TOK_BOS;
        for (size_t i = 0; i < len; i++) {
            int id = bi && row_total[prev] ? draw(&rng, bi + (size_t)prev * V, V, row_total[prev])
                                           : draw(&rng, uni, V, uni_total);
            ids[n++] = (uint16_t)id;
            prev = id;
        }
        ids[n++] = TOK_EOS;
        tok_decode_options o = tok_decode_options_default();
        o.lenient = true;
        tg_score *score = NULL;
        size_t repairs = 0;
        st = tok_decode(tok, ids, n, &o, &score, NULL, &repairs);
        if (st != TG_OK) {
            fprintf(stderr, "ngram_samples: sample %ld: cannot decode: %s\n", s, tg_status_str(st));
            goto done;
        }
        repairs_total += repairs;
        size_t notes = tg_score_note_count(score);
        notes_total += notes;
        empty += notes == 0;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s_%04ld.mid", out_dir, order == 1 ? "unigram" : "bigram", s);
        tg_midi_write_options wo = tg_midi_write_options_default();
        st = tg_midi_write_file(path, score, &wo);
        tg_score_free(score);
        if (st != TG_OK) {
            fprintf(stderr, "ngram_samples: %s: %s\n", path, tg_status_str(st));
            goto done;
        }
    }
    fprintf(stderr,
            "ngram_samples: %ld %s samples of %s (tokenizer %s, seed %ld) in %s: %zu notes, %zu decoding repairs "
            "(tokens dropped or notes mended by lenient decoding), %zu samples without a note\n",
            count, order == 1 ? "unigram" : "bigram", corpus_path, tok_kind_name(cfg.kind), seed, out_dir, notes_total,
            repairs_total, empty);
    rc = 0;
done:
    free(ids);
    free(uni);
    free(bi);
    free(row_total);
    tok_free(tok);
    data_corpus_close(c);
    return rc;
}
