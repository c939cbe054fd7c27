/* test_score.c: building a score, the tempo map, bar lines, quantisation. */
#include "core/core.h"
#include "score/score.h"
#include "test.h"

static tg_note note(int64_t s, int64_t e, int pitch)
{
    tg_note n = {s, e, (uint8_t)pitch, 100, 0};
    return n;
}

static void test_build_and_checks(void)
{
    tg_score *sc;
    CHECK_OK(tg_score_create(480, &sc));
    size_t t;
    CHECK_OK(tg_score_add_track(sc, "Melody", 0, 73, -1, &t));
    CHECK_STATUS(tg_score_add_track(sc, "x", 16, 0, -1, NULL), TG_ERR_RANGE);
    CHECK_STATUS(tg_score_add_track(sc, "x", 0, 128, -1, NULL), TG_ERR_RANGE);
    CHECK_OK(tg_score_add_note(sc, t, note(480, 960, 60)));
    CHECK_OK(tg_score_add_note(sc, t, note(0, 480, 64)));
    CHECK_STATUS(tg_score_add_note(sc, t, note(10, 10, 60)), TG_ERR_RANGE);
    CHECK_STATUS(tg_score_add_note(sc, t, note(0, 10, 128)), TG_ERR_RANGE);
    tg_note zero_vel = note(0, 10, 60);
    zero_vel.velocity = 0;
    CHECK_STATUS(tg_score_add_note(sc, t, zero_vel), TG_ERR_RANGE);
    CHECK_STATUS(tg_score_add_note(sc, 5, note(0, 10, 60)), TG_ERR_ARG);
    tg_score_sort(sc);
    CHECK_INT(sc->tracks[0].notes[0].pitch, 64);
    CHECK_INT(tg_score_note_count(sc), 2);
    CHECK_INT(tg_score_end_ticks(sc), 960);
    CHECK_STR(sc->tracks[0].name, "Melody");
    tg_score *copy;
    CHECK_OK(tg_score_clone(sc, &copy));
    CHECK_INT(copy->tracks[0].n_notes, 2);
    CHECK(copy->tracks[0].notes != sc->tracks[0].notes);
    tg_score_free(copy);
    tg_score_free(sc);
    tg_score_free(NULL);
}

static void test_tempo_map(void)
{
    tg_score *sc;
    CHECK_OK(tg_score_create(480, &sc));
    /* 120 bpm for 2 quarters (1 s), then 60 bpm */
    CHECK_OK(tg_score_add_tempo(sc, (tg_tempo){960, 1000000, -1}));
    CHECK_NEAR(tg_score_ticks_to_sec(sc, -1, 480), 0.5, 1e-12);
    CHECK_NEAR(tg_score_ticks_to_sec(sc, -1, 960), 1.0, 1e-12);
    CHECK_NEAR(tg_score_ticks_to_sec(sc, -1, 1440), 2.0, 1e-12);
    CHECK_INT(tg_score_tempo_at(sc, -1, 959), 500000);
    CHECK_INT(tg_score_tempo_at(sc, -1, 960), 1000000);
    CHECK_STATUS(tg_score_add_tempo(sc, (tg_tempo){0, 0, -1}), TG_ERR_RANGE);
    tg_score_free(sc);

    /* SMPTE: 25 fps, 40 ticks per frame = 1000 ticks per second, tempo ignored */
    CHECK_OK(tg_score_create(0, &sc));
    sc->smpte_fps = 25;
    sc->ticks_per_frame = 40;
    CHECK_OK(tg_score_add_tempo(sc, (tg_tempo){0, 1000000, -1}));
    CHECK_NEAR(tg_score_ticks_to_sec(sc, -1, 1500), 1.5, 1e-12);
    tg_score_free(sc);

    /* format 2: each chunk follows its own map */
    CHECK_OK(tg_score_create(100, &sc));
    sc->format = 2;
    CHECK_OK(tg_score_add_tempo(sc, (tg_tempo){0, 1000000, 1}));
    CHECK_NEAR(tg_score_ticks_to_sec(sc, 0, 100), 0.5, 1e-12);
    CHECK_NEAR(tg_score_ticks_to_sec(sc, 1, 100), 1.0, 1e-12);
    tg_score_free(sc);
}

static void test_bars(void)
{
    tg_score *sc;
    CHECK_OK(tg_score_create(480, &sc));
    /* one bar of 4/4, then 3/4 from tick 1920, then 6/8 placed mid-bar at 2400 */
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){1920, 3, 4, -1}));
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){2400, 6, 8, -1}));
    CHECK_STATUS(tg_score_add_timesig(sc, (tg_timesig){0, 3, 3, -1}), TG_ERR_RANGE);
    int64_t *bars;
    size_t n;
    CHECK_OK(tg_score_bar_lines(sc, 4000, &bars, &n));
    int64_t want[] = {0, 1920, 2400, 3840, 5280};
    CHECK_INT(n, 5);
    for (size_t i = 0; i < n && i < 5; i++) CHECK_INT(bars[i], want[i]);
    free(bars);
    tg_timesig ts = tg_score_timesig_at(sc, 2000);
    CHECK_INT(ts.numerator, 3);
    ts = tg_score_timesig_at(sc, 0);
    CHECK_INT(ts.numerator, 4);
    tg_score_free(sc);
}

static void test_quantize(void)
{
    tg_score *sc;
    CHECK_OK(tg_score_create(1024, &sc));
    size_t t;
    CHECK_OK(tg_score_add_track(sc, "", 0, 0, -1, &t));
    /* 12 steps per quarter at 1024 tpq: a step is 85.33 ticks */
    CHECK_OK(tg_score_add_note(sc, t, note(40, 1030, 60)));  /* -> steps 0..12 */
    CHECK_OK(tg_score_add_note(sc, t, note(2050, 2060, 62))); /* vanishes -> one step */
    CHECK_OK(tg_score_quantize(sc, 12));
    CHECK_INT(sc->tracks[0].notes[0].start_ticks, 0);
    CHECK_INT(sc->tracks[0].notes[0].end_ticks, 1024);
    CHECK_INT(sc->tracks[0].notes[1].start_ticks, 2048);
    CHECK_INT(sc->tracks[0].notes[1].end_ticks, 2048 + 85);
    CHECK_STATUS(tg_score_quantize(sc, 0), TG_ERR_ARG);
    tg_score_free(sc);
}

/* The maps are sorted by ticks keeping equal ticks in order, and fast on the
 * hostile case that made the insertion sort quadratic: two long runs, each in
 * order (here 400,000 tempo events; the insertion sort took minutes). */
static void test_sort_maps(void)
{
    tg_score *sc;
    CHECK_OK(tg_score_create(480, &sc));
    const int64_t half = 200000;
    for (int64_t k = 0; k < 2 * half; k++) {
        int64_t ticks = (k % half) * 10; /* runs 0, 10, .., then 0, 10, .. again */
        CHECK_OK(tg_score_add_tempo(sc, (tg_tempo){ticks, (uint32_t)(k + 1), -1}));
    }
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){960, 3, 4, -1}));
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){0, 4, 4, -1}));
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){960, 6, 8, -1}));
    double t0 = tg_now_sec();
    tg_score_sort(sc);
    CHECK(tg_now_sec() - t0 < 5.0);
    int ok = 1;
    for (int64_t k = 0; k < 2 * half; k++) {
        /* entry 2j and 2j+1 share ticks 10j: first the one of the first run */
        const tg_tempo *t = &sc->tempos[k];
        int64_t j = k / 2;
        uint32_t want = (uint32_t)(k % 2 ? half + j + 1 : j + 1);
        if (t->ticks != j * 10 || t->usec_per_quarter != want) ok = 0;
    }
    CHECK(ok);
    CHECK_INT(sc->timesigs[0].numerator, 4);
    CHECK_INT(sc->timesigs[1].numerator, 3); /* equal ticks: insertion order */
    CHECK_INT(sc->timesigs[2].numerator, 6);
    tg_score_free(sc);
}

int main(void)
{
    test_build_and_checks();
    test_tempo_map();
    test_bars();
    test_quantize();
    test_sort_maps();
    return test_finish("test_score");
}
