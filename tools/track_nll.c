/*
 * track_nll.c: the likelihood of one track's tokens under an any-track
 * (remi-tracks) model, for issue 20's measure "NLL of the chords given the
 * melody, against their unconditional NLL" (experiments/any-track). The
 * scored tokens are those a generated track consists of: inside each
 * segment of slot K (after its Track_K, up to the next Track, Bar, Fill or
 * EOS) and the token that closes the segment (the model's choice to end the
 * bar's part). Track_K itself, forced at generation, is not scored. With a
 * corpus of the melody-first task (`data mix --given 0`) and one of the
 * chords alone (`data mix --keep 1`), the same chord tokens are scored with
 * and without the melody before them. Windows as eval_nll's: the model's
 * context T, a new window every --stride tokens, each token scored once.
 *   build/tools/track_nll --model RUN --corpus C [--split test] --slot 1 [--stride 128]
 * prints one JSON line: tokens scored, NLL per token (nats), pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "model/model.h"
#include "run/run.h"
#include "tok/tok.h"

/* mask[i] = 1 when token i of the piece is scored. */
static void target_mask(const tok_tokenizer *tok, const uint16_t *ids, size_t n, int slot, uint8_t *mask)
{
    int in = 0; /* inside a segment of slot */
    bool header = true;
    for (size_t i = 0; i < n; i++) {
        tok_info t = tok_get_info(tok, ids[i]);
        mask[i] = 0;
        if (t.type == TOK_T_BAR) header = false;
        bool ends = t.type == TOK_T_TRACK || t.type == TOK_T_BAR || t.type == TOK_T_FILL || t.type == TOK_T_EOS;
        if (header) continue;
        if (ends) {
            if (in) mask[i] = 1;
            in = t.type == TOK_T_TRACK && t.value == slot;
        } else if (in) {
            mask[i] = 1;
        }
    }
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *corpus_path = NULL, *split_name = "test";
    int slot = -1, stride = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model_path = argv[i + 1];
        else if (!strcmp(argv[i], "--corpus")) corpus_path = argv[i + 1];
        else if (!strcmp(argv[i], "--split")) split_name = argv[i + 1];
        else if (!strcmp(argv[i], "--slot")) slot = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--stride")) stride = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "track_nll: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    if (!model_path || !corpus_path || slot < 0 || slot >= TOK_TRACKS_MAX) {
        fprintf(stderr, "usage: track_nll --model RUN --corpus C --slot K [--split test] [--stride N]\n");
        return 1;
    }
    int split = !strcmp(split_name, "train") ? DATA_TRAIN : !strcmp(split_name, "valid") ? DATA_VALID : DATA_TEST;
    char err[512];
    run_open_options ro = run_open_options_default();
    ro.max_batch = 8;
    tg_run *run = NULL;
    if (run_open(model_path, &ro, &run, err, sizeof err) != TG_OK) {
        fprintf(stderr, "track_nll: %s\n", err);
        return 1;
    }
    data_corpus *c = NULL;
    data_error derr;
    if (data_corpus_open(corpus_path, &c, &derr) != TG_OK) {
        fprintf(stderr, "track_nll: %s\n", derr.what);
        tg_run_free(run);
        return 1;
    }
    tg_model *m = run_generator(run);
    const tok_tokenizer *tok = run_tokenizer(run);
    const int T = model_get_config(m)->context, B = 8;
    if (stride <= 0 || stride > T) stride = T / 2;
    int *in = malloc(sizeof(int) * (size_t)B * T), *tg = malloc(sizeof(int) * (size_t)B * T);
    double sum = 0;
    uint64_t count = 0;
    int rows = 0;
    for (uint64_t k = 0; k < c->split_count[split]; k++) {
        const data_piece *p = &c->pieces[c->split_pieces[split][k]];
        const uint16_t *ids = c->tokens + p->offset;
        uint8_t *mask = malloc(p->length);
        target_mask(tok, ids, p->length, slot, mask);
        uint64_t L = p->length - 1, scored_to = 0;
        for (uint64_t b = 0; scored_to < L; b += (uint64_t)stride) {
            uint64_t end = b + (uint64_t)T < L ? b + (uint64_t)T : L;
            for (int t = 0; t < T; t++) {
                uint64_t pos = b + (uint64_t)t;
                in[rows * T + t] = pos < L ? ids[pos] : TOK_PAD;
                tg[rows * T + t] = pos >= scored_to && pos < end && mask[pos + 1] ? ids[pos + 1] : -1;
            }
            scored_to = end;
            if (++rows == B || (scored_to >= L && k + 1 == c->split_count[split])) {
                model_lm_forward(m, in, tg, rows, T, NULL);
                const float *loss = model_losses(m);
                for (int i = 0; i < rows * T; i++)
                    if (tg[i] >= 0) sum += loss[i], count++;
                rows = 0;
            }
        }
        free(mask);
    }
    printf("{\"corpus\":\"%s\",\"split\":\"%s\",\"slot\":%d,\"tokens\":%llu,\"nll\":%.4f,\"pieces\":%llu}\n",
           corpus_path, split_name, slot, (unsigned long long)count, count ? sum / (double)count : 0.0,
           (unsigned long long)c->split_count[split]);
    free(in);
    free(tg);
    data_corpus_close(c);
    tg_run_free(run);
    return 0;
}
