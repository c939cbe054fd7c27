/*
 * fuzz_corpus.c: libFuzzer entry point for the corpus reader
 * (data_corpus_open_memory, the checks data_corpus_open runs on a file).
 *
 * The input is opened as it is; then, when it is long enough for a header,
 * once more with its file-size field and checksum set to what they must be,
 * so that mutations reach the checks behind them (a fuzzer cannot forge an
 * FNV-1a checksum). A refusal must come with a message. An opened corpus is
 * then used as training and evaluation use it: every piece's path, the
 * statistics (with the tokenizer its config names), evaluation windows over
 * every split (each target once, ids inside the vocabulary) and a few
 * training batches. Any broken expectation aborts, which libFuzzer reports
 * as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "fuzz.h"

enum { B = 3, T = 5 };

static void check_window(const data_corpus *c, const int32_t *in, const int32_t *tg, uint64_t *targets)
{
    for (int t = 0; t < T; t++) {
        EXPECT(in[t] >= 0 && (uint32_t)in[t] < c->vocab_size, "input id %d", in[t]);
        EXPECT(tg[t] == DATA_IGNORE || (tg[t] >= 0 && (uint32_t)tg[t] < c->vocab_size), "target %d", tg[t]);
        if (tg[t] != DATA_IGNORE) (*targets)++;
    }
}

static void use_corpus(const data_corpus *c)
{
    for (uint64_t i = 0; i < c->n_pieces; i++)
        EXPECT(strlen(data_corpus_path(c, i)) == c->pieces[i].path_length, "piece %llu's path",
               (unsigned long long)i);

    tok_config cfg;
    tok_tokenizer *tok = NULL;
    EXPECT(tok_config_parse(c->config, &cfg, NULL, 0) == TG_OK, "config '%s' accepted by open", c->config);
    EXPECT(tok_create(&cfg, &tok) == TG_OK, "tokenizer '%s'", c->config);
    data_stats stats;
    EXPECT(data_compute_stats(c, tok, &stats) == TG_OK, "statistics");
    tok_free(tok);

    int32_t in[B * T], tg[B * T];
    for (int s = 0; s < DATA_SPLITS; s++) {
        uint64_t want = 0, targets = 0, windows = 0;
        for (uint64_t k = 0; k < c->split_count[s]; k++) want += c->pieces[c->split_pieces[s][k]].length - 1;
        data_eval_iter it = data_eval_begin(c, s, T);
        int rows;
        for (;;) {
            data_eval_next(&it, B, in, tg, &rows);
            if (rows == 0) break;
            for (int r = 0; r < rows; r++) check_window(c, in + r * T, tg + r * T, &targets);
            windows += (uint64_t)rows;
        }
        EXPECT(targets == want, "split %d: %llu targets, %llu tokens after the first of each piece", s,
               (unsigned long long)targets, (unsigned long long)want);
        EXPECT(windows == data_eval_window_count(c, s, T), "split %d: window count", s);
    }
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_status st = data_train_batch(c, &rng, B, T, in, tg);
    EXPECT(st == (c->split_count[DATA_TRAIN] ? TG_OK : TG_ERR_ARG), "training batch: %s", tg_status_name(st));
    uint64_t targets = 0;
    for (int r = 0; st == TG_OK && r < B; r++) check_window(c, in + r * T, tg + r * T, &targets);
}

static void open_and_use(const uint8_t *bytes, size_t size)
{
    data_corpus *c = NULL;
    data_error err;
    tg_status st = data_corpus_open_memory(bytes, size, "fuzz.corpus", &c, &err);
    if (st != TG_OK) {
        EXPECT(c == NULL, "a corpus after a failure");
        EXPECT(err.what[0] != 0, "a failure (%s) without a message", tg_status_name(st));
        return;
    }
    use_corpus(c);
    data_corpus_close(c);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly the input's size (malloc aligns it for the index and tokens) */
    uint8_t *bytes = calloc(size ? size : 1, 1);
    EXPECT(bytes != NULL, "out of memory");
    if (size) memcpy(bytes, data, size);
    open_and_use(bytes, size);
    if (size >= DATA_HEADER_SIZE) {
        uint8_t fixed[16];
        put64(fixed, size);
        put64(fixed + 8, data_checksum(DATA_CHECKSUM_INIT, bytes + DATA_HEADER_SIZE, size - DATA_HEADER_SIZE));
        if (memcmp(bytes + 80, fixed, 16) != 0) {
            memcpy(bytes + 80, fixed, 16);
            open_and_use(bytes, size);
        }
    }
    free(bytes);
    return 0;
}
