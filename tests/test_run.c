/*
 * test_run.c: the run object as a program embedding tunegan sees it: this
 * file includes only the public header. Opens the bundled model, generates
 * new pieces and continuations of a primer, writes MIDI, and checks what a
 * user relies on: the same seed gives the same bytes, a continuation keeps
 * the primer's notes, every take has notes, errors name the path and say
 * what is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tunegan.h"

#define MODEL TG_SOURCE_DIR "/models/default"

/* The MIDI bytes of a take. */
static uint8_t *midi_of(const tg_take *t, size_t *n)
{
    uint8_t *data = NULL;
    tg_midi_write_options wo = tg_midi_write_options_default();
    CHECK_OK(tg_midi_write_memory(t->score, &wo, &data, n));
    return data;
}

static void test_same_seed_same_bytes(tg_run *run)
{
    tg_generate_options go = tg_generate_options_default();
    go.num = 2;
    go.bars = 4;
    go.length = 4096;
    go.seed = 11;
    tg_take a[2], b[2];
    char err[512] = "";
    CHECK_OK(tg_run_generate(run, &go, a, NULL, err, sizeof err));
    go.batch = 1; /* another batching: each sample has its own stream */
    CHECK_OK(tg_run_generate(run, &go, b, NULL, err, sizeof err));
    for (int i = 0; i < 2; i++) {
        size_t na, nb;
        uint8_t *ma = midi_of(&a[i], &na), *mb = midi_of(&b[i], &nb);
        CHECK(tg_score_note_count(a[i].score) > 0);
        CHECK(a[i].new_tokens > 0 && a[i].tokens > a[i].new_tokens);
        CHECK_INT((long)na, (long)nb);
        CHECK(na == nb && memcmp(ma, mb, na) == 0);
        CHECK(a[i].realism < 0);
        free(ma), free(mb);
        tg_take_free(&a[i]);
        tg_take_free(&b[i]);
    }
}

/* A primer made in code, as an embedding program would: four bars of 4/4 at
 * 480 ticks a quarter, a C major scale in quarter notes over a held bass. */
static tg_score *scale_primer(void)
{
    tg_score *s = NULL;
    CHECK_OK(tg_score_create(480, &s));
    if (!s) return NULL;
    CHECK_OK(tg_score_add_track(s, "melody", 0, 0, -1, NULL));
    CHECK_OK(tg_score_add_timesig(s, (tg_timesig){0, 4, 4, -1}));
    CHECK_OK(tg_score_add_tempo(s, (tg_tempo){0, 500000, -1}));
    static const int scale[] = {60, 62, 64, 65, 67, 69, 71, 72};
    for (int i = 0; i < 16; i++) {
        tg_note n = {i * 480, i * 480 + 450, (uint8_t)scale[i % 8], 80, 0};
        CHECK_OK(tg_score_add_note(s, 0, n));
    }
    for (int bar = 0; bar < 4; bar++) {
        tg_note n = {bar * 1920, bar * 1920 + 1900, 48, 70, 0};
        CHECK_OK(tg_score_add_note(s, 0, n));
    }
    tg_score_sort(s);
    return s;
}

/* Every note of the primer's kept bars is in the continuation, unchanged. */
static void test_continuation_keeps_primer(tg_run *run)
{
    tg_score *primer = scale_primer();
    if (!primer) return;
    tg_generate_options go = tg_generate_options_default();
    go.primer = primer;
    go.primer_bars = 2;
    go.bars = 2;
    go.length = 4096;
    go.seed = 5;
    tg_take t;
    tg_generate_stats st = {0};
    char err[512] = "";
    CHECK_OK(tg_run_generate(run, &go, &t, &st, err, sizeof err));
    CHECK_INT(st.primer_bars, 2);
    CHECK(t.primer_end_ticks > 0);
    size_t kept = 0, found = 0;
    for (size_t k = 0; k < primer->n_tracks; k++)
        for (size_t i = 0; i < primer->tracks[k].n_notes; i++) {
            const tg_note *p = &primer->tracks[k].notes[i];
            if (p->start_ticks >= t.primer_end_ticks) continue;
            kept++;
            for (size_t q = 0; q < t.score->n_tracks; q++)
                for (size_t j = 0; j < t.score->tracks[q].n_notes; j++) {
                    const tg_note *n = &t.score->tracks[q].notes[j];
                    if (n->start_ticks == p->start_ticks && n->pitch == p->pitch) {
                        found++;
                        q = t.score->n_tracks - 1;
                        break;
                    }
                }
        }
    CHECK(kept > 0);
    CHECK_INT((long)found, (long)kept);
    CHECK(tg_score_end_ticks(t.score) > t.primer_end_ticks);
    tg_take_free(&t);
    tg_score_free(primer);
}

static void test_errors(tg_run *run)
{
    tg_run *r = NULL;
    char err[512] = "";
    CHECK_STATUS(tg_run_open("/nonexistent/run", &r, err, sizeof err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err, "/nonexistent/run") != NULL);
    CHECK(r == NULL);
    tg_generate_options go = tg_generate_options_default();
    go.temperature = -1;
    tg_take t;
    CHECK_STATUS(tg_run_generate(run, &go, &t, NULL, err, sizeof err), TG_ERR_RANGE);
    CHECK(strstr(err, "temperature") != NULL);
    go = tg_generate_options_default();
    go.rerank = 2; /* the bundled model is a pretrain run: no discriminator */
    CHECK_STATUS(tg_run_generate(run, &go, &t, NULL, err, sizeof err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err, "no discriminator") != NULL);
    tg_run_free(NULL);
    tg_take_free(NULL);
}

int main(void)
{
    tg_run *run = NULL;
    char err[512] = "";
    CHECK_OK(tg_run_open(MODEL, &run, err, sizeof err));
    if (!run) {
        fprintf(stderr, "%s\n", err);
        return test_finish("test_run");
    }
    CHECK(strstr(tg_run_checkpoint(run), "model.safetensors") != NULL);
    test_same_seed_same_bytes(run);
    test_continuation_keeps_primer(run);
    test_errors(run);
    tg_run_free(run);
    return test_finish("test_run");
}
