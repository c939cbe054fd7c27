/*
 * audio.c: offline rendering of a score with FluidSynth. The score's notes are
 * turned into timed events (program changes, note-ons, note-offs, in seconds
 * through the tempo map) and the synthesizer is run block by block between
 * them, so timing is sample-exact and needs no MIDI player or audio driver.
 * Follows FluidSynth's lifecycle: every new_fluid_* is checked, and objects
 * are deleted in reverse order of creation. FluidSynth's own log lines do not
 * reach the terminal: its errors are caught and end our message instead
 * ("FluidSynth could not load the SoundFont x.sf2: Not a RIFF file").
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "render.h"

#ifdef TG_HAVE_FLUIDSYNTH
#include <fluidsynth.h>
#endif

tg_audio_options tg_audio_options_default(void)
{
    tg_audio_options o = {NULL, 44100, 0.8, 1.5, true};
    return o;
}

const char *render_find_soundfont(const char *opt_path)
{
    static const char *const defaults[] = {
        "/usr/share/sounds/sf2/FluidR3_GM.sf2",
        "/usr/share/sounds/sf2/default-GM.sf2",
        "/usr/share/soundfonts/default.sf2",
    };
    if (opt_path) return access(opt_path, R_OK) == 0 ? opt_path : NULL;
    for (size_t i = 0; i < TG_ARRAY_LEN(defaults); i++)
        if (access(defaults[i], R_OK) == 0) return defaults[i];
    return NULL;
}

tg_status render_check_soundfont(const char *opt_path, const char **found, char *err, size_t err_len)
{
    *found = NULL;
#ifndef TG_HAVE_FLUIDSYNTH
    (void)opt_path;
    return tg_fail(err, err_len, TG_ERR_UNSUPPORTED,
                   "built without FluidSynth: install libfluidsynth-dev and rebuild to render audio");
#else
    const char *sf = render_find_soundfont(opt_path);
    if (!sf && !opt_path)
        return tg_fail(err, err_len, TG_ERR_NOT_FOUND,
                       "no General MIDI SoundFont found: install fluid-soundfont-gm or pass --soundfont");
    if (!sf) {
        tg_status st = errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO;
        return tg_fail(err, err_len, st, "SoundFont %s: %s", opt_path, strerror(errno));
    }
    FILE *fp = fopen(sf, "rb");
    if (!fp) return tg_fail(err, err_len, TG_ERR_IO, "SoundFont %s: %s", sf, strerror(errno));
    uint8_t head[12];
    size_t got = fread(head, 1, sizeof head, fp);
    int cause = ferror(fp) ? errno : 0;
    struct stat st;
    if (!cause && fstat(fileno(fp), &st) != 0) cause = errno;
    fclose(fp);
    if (cause) return tg_fail(err, err_len, TG_ERR_IO, "SoundFont %s: %s", sf, strerror(cause));
    /* an SF2 file is a RIFF form of type sfbk (FluidSynth also reads DLS) */
    if (got < sizeof head || memcmp(head, "RIFF", 4) != 0 ||
        (memcmp(head + 8, "sfbk", 4) != 0 && memcmp(head + 8, "DLS ", 4) != 0))
        return tg_fail(err, err_len, TG_ERR_FORMAT, "%s is not a SoundFont (no RIFF sfbk header)", sf);
    /* a cut file would fail in FluidSynth's loader, then in libinstpatch's,
     * which prints its own complaint through GLib: say it first */
    uint64_t riff = 8 + ((uint64_t)head[4] | (uint64_t)head[5] << 8 | (uint64_t)head[6] << 16 | (uint64_t)head[7] << 24);
    if ((uint64_t)st.st_size < riff)
        return tg_fail(err, err_len, TG_ERR_FORMAT, "SoundFont %s is cut short: %llu bytes, its header says %llu", sf,
                       (unsigned long long)st.st_size, (unsigned long long)riff);
    *found = sf;
    return TG_OK;
#endif
}

#ifdef TG_HAVE_FLUIDSYNTH

/* ------------------------------------------------------------------------ */
/* FluidSynth's log: its handlers are process-wide. During a render, errors
 * are kept (the first one ends our message) and the rest is dropped; between
 * renders the handlers stay set with no place to keep anything, so nothing
 * FluidSynth says is printed. Two renders at once in one process would share
 * the place: render from one thread at a time. */

static void on_fluid_log(int level, const char *message, void *data)
{
    char *last = data;
    /* the first error says most ("EOF while attempting to read"), the last only "Failed to load" */
    if (last && !last[0] && (level == FLUID_PANIC || level == FLUID_ERR) && message)
        snprintf(last, 256, "%s", message);
}

static void fluid_log_into(char *last /* 256 bytes, or NULL */)
{
    fluid_set_log_function(FLUID_PANIC, on_fluid_log, last);
    fluid_set_log_function(FLUID_ERR, on_fluid_log, last);
    fluid_set_log_function(FLUID_WARN, NULL, NULL);
    fluid_set_log_function(FLUID_INFO, NULL, NULL);
    fluid_set_log_function(FLUID_DBG, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Events. */

enum { EV_OFF = 0, EV_PROGRAM = 1, EV_ON = 2 }; /* order at equal times */

typedef struct {
    int64_t frame;
    int kind;
    int channel, key, value;
} audio_event;

static int cmp_event(const void *pa, const void *pb)
{
    const audio_event *a = pa, *b = pb;
    if (a->frame != b->frame) return a->frame < b->frame ? -1 : 1;
    return a->kind - b->kind;
}

static tg_status collect_events(const tg_score *score, int rate, audio_event **out, size_t *n_out,
                                int64_t *end_frame)
{
    size_t n = 0, cap = tg_score_note_count(score) * 2 + score->n_tracks;
    audio_event *ev = malloc((cap ? cap : 1) * sizeof *ev);
    if (!ev) return TG_ERR_NOMEM;
    *end_frame = 0;
    for (size_t i = 0; i < score->n_tracks; i++) {
        const tg_track *t = &score->tracks[i];
        int chunk = score->format == 2 ? t->chunk : -1;
        if (!t->is_drum) ev[n++] = (audio_event){0, EV_PROGRAM, t->channel, 0, t->program};
        for (size_t j = 0; j < t->n_notes; j++) {
            const tg_note *nt = &t->notes[j];
            int64_t on = llround(tg_score_ticks_to_sec(score, chunk, nt->start_ticks) * rate);
            int64_t off = llround(tg_score_ticks_to_sec(score, chunk, nt->end_ticks) * rate);
            ev[n++] = (audio_event){on, EV_ON, nt->channel, nt->pitch, nt->velocity};
            ev[n++] = (audio_event){off, EV_OFF, nt->channel, nt->pitch, 0};
            if (off > *end_frame) *end_frame = off;
        }
    }
    qsort(ev, n, sizeof *ev, cmp_event);
    *out = ev;
    *n_out = n;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* WAV output: 16-bit PCM stereo; sizes patched in when the data is done. */

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static bool wav_header(FILE *fp, int rate, uint32_t data_bytes)
{
    uint8_t h[44];
    memcpy(h, "RIFF", 4);
    put_le(h + 4, 36 + data_bytes, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le(h + 16, 16, 4);
    put_le(h + 20, 1, 2);              /* PCM */
    put_le(h + 22, 2, 2);              /* channels */
    put_le(h + 24, (uint32_t)rate, 4);
    put_le(h + 28, (uint32_t)rate * 4, 4);
    put_le(h + 32, 4, 2);              /* block align */
    put_le(h + 34, 16, 2);             /* bits */
    memcpy(h + 36, "data", 4);
    put_le(h + 40, data_bytes, 4);
    return fwrite(h, 1, 44, fp) == 44;
}

#define BLOCK_FRAMES 1024

static bool render_frames(fluid_synth_t *synth, FILE *fp, int64_t frames, uint64_t *written)
{
    int16_t buf[2 * BLOCK_FRAMES];
    while (frames > 0) {
        int n = frames > BLOCK_FRAMES ? BLOCK_FRAMES : (int)frames;
        if (fluid_synth_write_s16(synth, n, buf, 0, 2, buf, 1, 2) != FLUID_OK) return false;
        if (fwrite(buf, 4, (size_t)n, fp) != (size_t)n) return false;
        frames -= n;
        *written += (uint64_t)n;
    }
    return true;
}

static void apply_event(fluid_synth_t *synth, const audio_event *e)
{
    if (e->kind == EV_PROGRAM) fluid_synth_program_change(synth, e->channel, e->value);
    else if (e->kind == EV_ON) fluid_synth_noteon(synth, e->channel, e->key, e->value);
    else fluid_synth_noteoff(synth, e->channel, e->key);
}

static tg_status play_events(fluid_synth_t *synth, FILE *fp, const audio_event *ev, size_t n,
                             int64_t end_frame, uint64_t *written)
{
    int64_t now = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].frame > now) {
            if (!render_frames(synth, fp, ev[i].frame - now, written)) return TG_ERR_IO;
            now = ev[i].frame;
        }
        apply_event(synth, &ev[i]);
    }
    return render_frames(synth, fp, end_frame - now, written) ? TG_OK : TG_ERR_IO;
}

static fluid_settings_t *make_settings(const tg_audio_options *o)
{
    fluid_settings_t *s = new_fluid_settings();
    if (!s) return NULL;
    fluid_settings_setnum(s, "synth.sample-rate", (double)o->sample_rate_hz);
    fluid_settings_setnum(s, "synth.gain", o->gain);
    fluid_settings_setint(s, "synth.reverb.active", o->reverb ? 1 : 0);
    fluid_settings_setint(s, "synth.chorus.active", o->reverb ? 1 : 0);
    fluid_settings_setint(s, "synth.verbose", 0);
    fluid_settings_setint(s, "synth.lock-memory", 0);
    return s;
}

static tg_status synth_to_file(fluid_synth_t *synth, const tg_score *score, const tg_audio_options *o,
                               FILE *fp, uint64_t *frames)
{
    audio_event *ev;
    size_t n;
    int64_t end_frame;
    tg_status st = collect_events(score, o->sample_rate_hz, &ev, &n, &end_frame);
    if (st != TG_OK) return st;
    end_frame += llround(o->tail_sec * o->sample_rate_hz);
    uint64_t written = 0;
    if (end_frame * 4 > (int64_t)UINT32_MAX - 64) st = TG_ERR_TOO_LARGE;
    if (st == TG_OK && !wav_header(fp, o->sample_rate_hz, 0)) st = TG_ERR_IO;
    if (st == TG_OK) st = play_events(synth, fp, ev, n, end_frame, &written);
    free(ev);
    if (st == TG_OK && (fseek(fp, 0, SEEK_SET) != 0 || !wav_header(fp, o->sample_rate_hz, (uint32_t)(written * 4))))
        st = TG_ERR_IO;
    *frames = written;
    return st;
}

tg_status render_audio_wav(const tg_score *score, const char *wav_path, const tg_audio_options *opt,
                           char *err, size_t err_len)
{
    tg_audio_options o = opt ? *opt : tg_audio_options_default();
    if (o.sample_rate_hz < 8000 || o.sample_rate_hz > 192000)
        return tg_fail(err, err_len, TG_ERR_RANGE, "sample rate %d Hz is outside 8000..192000", o.sample_rate_hz);
    if (!(o.gain >= 0 && o.gain <= 10) || !(o.tail_sec >= 0 && o.tail_sec <= 60))
        return tg_fail(err, err_len, TG_ERR_RANGE, "gain must be within 0..10 and the tail within 0..60 s");
    const char *sf;
    tg_status st = render_check_soundfont(o.soundfont, &sf, err, err_len);
    if (st != TG_OK) return st;
    char fluid_said[256] = "";
    fluid_log_into(fluid_said);
    fluid_settings_t *settings = make_settings(&o);
    if (!settings) {
        fluid_log_into(NULL);
        return tg_fail(err, err_len, TG_ERR_NOMEM, "FluidSynth could not create its settings");
    }
    fluid_synth_t *synth = new_fluid_synth(settings);
    if (!synth) st = tg_fail(err, err_len, TG_ERR_NOMEM, "FluidSynth could not create a synthesizer");
    if (st == TG_OK && fluid_synth_sfload(synth, sf, 1) == FLUID_FAILED)
        st = tg_fail(err, err_len, TG_ERR_FORMAT, "FluidSynth could not load the SoundFont %s%s%s", sf,
                     fluid_said[0] ? ": " : "", fluid_said);
    tg_atomic_file f;
    if (st == TG_OK) {
        st = tg_atomic_open(&f, wav_path);
        if (st != TG_OK) tg_fail(err, err_len, st, "cannot write %s: %s", wav_path, tg_status_cause(st));
        else {
            errno = 0;
            uint64_t frames;
            st = synth_to_file(synth, score, &o, f.fp, &frames);
            if (st == TG_OK) st = tg_atomic_commit(&f);
            else tg_atomic_abort(&f); /* keeps errno */
            if (st != TG_OK) tg_fail(err, err_len, st, "cannot write %s: %s", wav_path, tg_status_cause(st));
        }
    }
    if (synth) delete_fluid_synth(synth);
    delete_fluid_settings(settings);
    fluid_log_into(NULL);
    return st;
}

/* ------------------------------------------------------------------------ */
/* A SoundFont kept for many renders (the web studio's): loading the General
 * MIDI SoundFont is most of a short render's time (0.2 of 0.3 CPU seconds for
 * 28 s of audio on this project's machine), so one synthesizer loads it and
 * keeps it, and each render lends it to a new synthesizer. A new one each
 * time, because a reset synthesizer is not a fresh one: released voices ring
 * on, audio comes in blocks of 64 frames whose rest the next call hands out,
 * and the dither goes on where it was (measured: the same score came out
 * within 1668 of 32768 of a fresh render after a reset, byte for byte with a
 * new synthesizer). */

struct render_synth {
    tg_audio_options opt;
    fluid_settings_t *settings;
    fluid_synth_t *keeper;  /* owns the loaded SoundFont */
    fluid_sfont_t *sfont;
};

tg_status render_synth_create(const tg_audio_options *opt, render_synth **out, char *err, size_t err_len)
{
    tg_audio_options o = opt ? *opt : tg_audio_options_default();
    if (o.sample_rate_hz < 8000 || o.sample_rate_hz > 192000 || !(o.gain >= 0 && o.gain <= 10) ||
        !(o.tail_sec >= 0 && o.tail_sec <= 60))
        return tg_fail(err, err_len, TG_ERR_RANGE, "sample rate, gain or tail out of range");
    const char *sf;
    tg_status st = render_check_soundfont(o.soundfont, &sf, err, err_len);
    if (st != TG_OK) return st;
    render_synth *rs = calloc(1, sizeof *rs);
    if (!rs) return TG_ERR_NOMEM;
    rs->opt = o;
    char fluid_said[256] = "";
    fluid_log_into(fluid_said);
    rs->settings = make_settings(&o);
    /* the samples of the programs a score uses, read when it selects them
     * (FluidSynth >= 2.2), rather than all of a 148 MB SoundFont kept in memory */
    if (rs->settings) fluid_settings_setint(rs->settings, "synth.dynamic-sample-loading", 1);
    rs->keeper = rs->settings ? new_fluid_synth(rs->settings) : NULL;
    int id = rs->keeper ? fluid_synth_sfload(rs->keeper, sf, 1) : FLUID_FAILED;
    if (!rs->keeper) st = tg_fail(err, err_len, TG_ERR_NOMEM, "FluidSynth could not create a synthesizer");
    else if (id == FLUID_FAILED || !(rs->sfont = fluid_synth_get_sfont_by_id(rs->keeper, id)))
        st = tg_fail(err, err_len, TG_ERR_FORMAT, "FluidSynth could not load the SoundFont %s%s%s", sf,
                     fluid_said[0] ? ": " : "", fluid_said);
    fluid_log_into(NULL);
    if (st != TG_OK) {
        render_synth_free(rs);
        return st;
    }
    *out = rs;
    return TG_OK;
}

void render_synth_free(render_synth *rs)
{
    if (!rs) return;
    if (rs->keeper) delete_fluid_synth(rs->keeper);
    if (rs->settings) delete_fluid_settings(rs->settings);
    free(rs);
}

tg_status render_synth_wav(render_synth *rs, const tg_score *score, const char *wav_path, char *err,
                           size_t err_len)
{
    fluid_log_into(NULL);
    fluid_synth_t *synth = new_fluid_synth(rs->settings);
    if (!synth) return tg_fail(err, err_len, TG_ERR_NOMEM, "FluidSynth could not create a synthesizer");
    tg_status st = TG_OK;
    if (fluid_synth_add_sfont(synth, rs->sfont) == FLUID_FAILED)
        st = tg_fail(err, err_len, TG_ERR_NOMEM, "FluidSynth could not lend the SoundFont to a synthesizer");
    tg_atomic_file f;
    if (st == TG_OK && (st = tg_atomic_open(&f, wav_path)) != TG_OK)
        tg_fail(err, err_len, st, "cannot write %s: %s", wav_path, tg_status_cause(st));
    else if (st == TG_OK) {
        errno = 0;
        uint64_t frames;
        st = synth_to_file(synth, score, &rs->opt, f.fp, &frames);
        if (st == TG_OK) st = tg_atomic_commit(&f);
        else tg_atomic_abort(&f); /* keeps errno */
        if (st != TG_OK) tg_fail(err, err_len, st, "cannot write %s: %s", wav_path, tg_status_cause(st));
    }
    fluid_synth_remove_sfont(synth, rs->sfont); /* the keeper's: not freed with this synthesizer */
    delete_fluid_synth(synth);
    return st;
}

#else /* !TG_HAVE_FLUIDSYNTH */

tg_status render_synth_create(const tg_audio_options *opt, render_synth **out, char *err, size_t err_len)
{
    (void)opt, (void)out;
    return tg_fail(err, err_len, TG_ERR_UNSUPPORTED,
                   "built without FluidSynth: install libfluidsynth-dev and rebuild to render audio");
}
void render_synth_free(render_synth *rs) { (void)rs; }
tg_status render_synth_wav(render_synth *rs, const tg_score *score, const char *wav_path, char *err,
                           size_t err_len)
{
    (void)rs, (void)score, (void)wav_path;
    return tg_fail(err, err_len, TG_ERR_UNSUPPORTED, "built without FluidSynth");
}

tg_status render_audio_wav(const tg_score *score, const char *wav_path, const tg_audio_options *opt,
                           char *err, size_t err_len)
{
    (void)score, (void)wav_path, (void)opt;
    return tg_fail(err, err_len, TG_ERR_UNSUPPORTED,
                "built without FluidSynth: install libfluidsynth-dev and rebuild to render audio");
}

#endif
