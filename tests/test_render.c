/* test_render.c: audio through FluidSynth (not silent, as long as the score,
 * silent in rests) and the piano roll through cairo (size, note colours). */
#include <unistd.h>

#include "core/core.h"
#include "render/render.h"
#include "test.h"

#ifdef TG_HAVE_CAIRO
#include <cairo.h>
#endif

static char dir[64];

/* 480 ticks per quarter at 120 bpm: 960 ticks per second. Notes at 0-1 s and 4-5 s. */
static tg_score *two_notes(void)
{
    tg_score *sc;
    size_t t;
    if (tg_score_create(480, &sc) != TG_OK) return NULL;
    CHECK_OK(tg_score_add_track(sc, "piano", 0, 0, -1, &t));
    CHECK_OK(tg_score_add_note(sc, t, (tg_note){0, 960, 60, 100, 0}));
    CHECK_OK(tg_score_add_note(sc, t, (tg_note){3840, 4800, 67, 100, 0}));
    return sc;
}

static double rms(const int16_t *pcm, size_t frames, int rate, double from_sec, double to_sec)
{
    size_t a = (size_t)(from_sec * rate), b = (size_t)(to_sec * rate);
    if (b > frames) b = frames;
    double s = 0;
    for (size_t i = a; i < b; i++) s += (double)pcm[2 * i] * pcm[2 * i] + (double)pcm[2 * i + 1] * pcm[2 * i + 1];
    return b > a ? sqrt(s / (2.0 * (double)(b - a))) / 32768.0 : 0;
}

static int test_audio(void)
{
#ifndef TG_HAVE_FLUIDSYNTH
    printf("skipped audio: built without FluidSynth\n");
    return 0;
#else
    if (!render_find_soundfont(NULL)) {
        printf("skipped audio: no General MIDI SoundFont (install fluid-soundfont-gm)\n");
        return 0;
    }
    tg_score *sc = two_notes();
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/two.wav", dir);
    tg_audio_options o = tg_audio_options_default();
    o.reverb = false;
    o.tail_sec = 0.5;
    o.sample_rate_hz = 22050;
    CHECK_OK(render_audio_wav(sc, path, &o, err, sizeof err));
    uint8_t *wav;
    size_t n;
    CHECK_OK(tg_file_read_all(path, 64 << 20, &wav, &n));
    CHECK(n > 44 && memcmp(wav, "RIFF", 4) == 0 && memcmp(wav + 8, "WAVE", 4) == 0);
    size_t frames = (n - 44) / 4;
    CHECK_NEAR((double)frames / 22050, 5.5, 0.001); /* last note ends at 5 s, plus the tail */
    const int16_t *pcm = (const int16_t *)(wav + 44);
    double on1 = rms(pcm, frames, 22050, 0.1, 0.9), rest = rms(pcm, frames, 22050, 2.5, 3.8);
    double on2 = rms(pcm, frames, 22050, 4.1, 4.9);
    printf("rms: note %.4f, rest %.6f, note %.4f\n", on1, rest, on2);
    CHECK(on1 > 0.01);
    CHECK(on2 > 0.01);
    CHECK(rest < 1e-4);
    free(wav);

    o.soundfont = "/nonexistent.sf2";
    CHECK_STATUS(render_audio_wav(sc, path, &o, err, sizeof err), TG_ERR_NOT_FOUND);
    CHECK(strstr(err, "/nonexistent.sf2") != NULL);
    o.soundfont = NULL;
    o.sample_rate_hz = 10;
    CHECK_STATUS(render_audio_wav(sc, path, &o, err, sizeof err), TG_ERR_RANGE);
    tg_score_free(sc);
    return 1;
#endif
}

/* A kept SoundFont (render_synth) gives the bytes render_audio_wav writes,
 * also after rendering another score on another program with reverb on:
 * nothing of one render sounds in the next. */
static int test_synth_reuse(void)
{
#ifndef TG_HAVE_FLUIDSYNTH
    return 0;
#else
    if (!render_find_soundfont(NULL)) return 0;
    tg_score *a = two_notes(), *b;
    CHECK_OK(tg_score_clone(a, &b));
    b->tracks[0].program = 48; /* strings, whose release rings into the tail */
    tg_audio_options o = tg_audio_options_default();
    o.sample_rate_hz = 22050;
    o.tail_sec = 0.2;
    char ref[128], got[128], other[128], err[256] = "";
    snprintf(ref, sizeof ref, "%s/ref.wav", dir);
    snprintf(got, sizeof got, "%s/kept.wav", dir);
    snprintf(other, sizeof other, "%s/other.wav", dir);
    CHECK_OK(render_audio_wav(a, ref, &o, err, sizeof err));
    render_synth *rs = NULL;
    CHECK_OK(render_synth_create(&o, &rs, err, sizeof err));
    CHECK_OK(render_synth_wav(rs, b, other, err, sizeof err));
    CHECK_OK(render_synth_wav(rs, a, got, err, sizeof err));
    uint8_t *x, *y;
    size_t nx, ny;
    CHECK_OK(tg_file_read_all(ref, 64 << 20, &x, &nx));
    CHECK_OK(tg_file_read_all(got, 64 << 20, &y, &ny));
    CHECK_INT((long long)nx, (long long)ny);
    size_t differ = 0;
    for (size_t i = 0; i < nx && i < ny; i++) differ += x[i] != y[i];
    printf("kept SoundFont: %zu of %zu bytes differ from a fresh render's\n", differ, nx);
    CHECK(differ == 0);
    free(x);
    free(y);
    render_synth_free(rs);
    o.soundfont = "/nonexistent.sf2";
    CHECK_STATUS(render_synth_create(&o, &rs, err, sizeof err), TG_ERR_NOT_FOUND);
    tg_score_free(a);
    tg_score_free(b);
    return 1;
#endif
}

static int test_roll(void)
{
#ifndef TG_HAVE_CAIRO
    printf("skipped piano roll: built without cairo\n");
    return 0;
#else
    tg_score *sc = two_notes();
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/two.png", dir);
    tg_roll_options o = tg_roll_options_default();
    o.primer_end_ticks = 960;
    o.title = "two notes";
    CHECK_OK(render_roll_png(sc, path, &o, err, sizeof err));
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS);
    /* 10 quarters at 16 px plus margins; pitches 58..69 at 6 px plus margins */
    CHECK_INT(cairo_image_surface_get_width(img), 44 + 8 + 161);
    CHECK_INT(cairo_image_surface_get_height(img), 24 + 8 + 12 * 6);
    /* the middle of the second note (G4, ticks 3840..4800) is drawn in the first track's blue */
    cairo_surface_flush(img);
    const uint8_t *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    int x = 44 + (int)(4320 * 16.0 / 480), y = 24 + (69 - 67) * 6 + 3;
    uint32_t argb;
    memcpy(&argb, px + y * stride + x * 4, 4);
    int r = (argb >> 16) & 255, g = (argb >> 8) & 255, b = argb & 255;
    CHECK(b > 150 && r < 60 && g < 140);
    cairo_surface_destroy(img);
    tg_score_free(sc);
    return 1;
#endif
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tg_test_render_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    int ran = test_audio() + test_synth_reuse() + test_roll();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    if (!ran) return TEST_SKIP_CODE;
    return test_finish("test_render");
}
