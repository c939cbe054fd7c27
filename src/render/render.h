/*
 * render.h: scores made audible and visible. Audio renders offline through
 * FluidSynth with a General MIDI SoundFont into a 16-bit stereo WAV; the
 * piano roll draws notes, bar lines and beats into a PNG through cairo.
 * Both write under a temporary name and rename when complete. Built without
 * FluidSynth or cairo, the functions return TG_ERR_UNSUPPORTED and say which
 * package to install.
 */
#ifndef TG_RENDER_H
#define TG_RENDER_H

#include "tunegan.h"

typedef struct {
    const char *soundfont;  /* path to an .sf2; NULL: the first default GM SoundFont found */
    int sample_rate_hz;     /* 44100 */
    double gain;            /* FluidSynth master gain, 0..10 (0.8) */
    double tail_sec;        /* audio kept after the last note ends, for releases (1.5) */
    bool reverb;            /* FluidSynth's reverb and chorus (on) */
} tg_audio_options;

tg_audio_options tg_audio_options_default(void);

/* The SoundFont that would be used: opt_path if given, else the first of the
 * usual Debian locations that exists; NULL when none does. */
const char *render_find_soundfont(const char *opt_path);

/* The SoundFont a render would use (as render_find_soundfont), checked before
 * any work: it exists, can be read, and starts as a SoundFont does. TG_OK
 * with *found set, or the status and a sentence naming the file and the cause
 * ("SoundFont x.sf2: Permission denied", "x.sf2 is not a SoundFont"); built
 * without FluidSynth, TG_ERR_UNSUPPORTED. */
tg_status render_check_soundfont(const char *opt_path, const char **found, char *err, size_t err_len);

/* Renders every note of the score (programs on their channels, channel 10 as
 * drums, times through the tempo map) to a WAV file. err (may be NULL) gets a
 * sentence for the user on failure. */
tg_status render_audio_wav(const tg_score *score, const char *wav_path, const tg_audio_options *opt,
                           char *err, size_t err_len);

/* A SoundFont loaded once, for programs that render many scores (the web
 * studio): each render_synth_wav lends it to a new synthesizer and writes the
 * same bytes render_audio_wav would with the same options. One render at a
 * time per render_synth, and (FluidSynth's log being process-wide) per
 * process, as for render_audio_wav. */
typedef struct render_synth render_synth;

tg_status render_synth_create(const tg_audio_options *opt, render_synth **out, char *err, size_t err_len);
void render_synth_free(render_synth *rs); /* accepts NULL */
tg_status render_synth_wav(render_synth *rs, const tg_score *score, const char *wav_path, char *err,
                           size_t err_len);

typedef struct {
    double px_per_quarter;      /* horizontal scale (16); reduced to keep the width under max_width_px */
    int max_width_px;           /* 4000 */
    int px_per_pitch;           /* row height (6) */
    int64_t primer_end_ticks;   /* > 0: shade [0, primer_end) as the given primer */
    const char *title;          /* drawn at the top; may be NULL */
} tg_roll_options;

tg_roll_options tg_roll_options_default(void);

/* Draws a piano roll of the score (a colour per track, bar lines, beat grid,
 * pitch names on the left axis) to a PNG file. */
tg_status render_roll_png(const tg_score *score, const char *png_path, const tg_roll_options *opt,
                          char *err, size_t err_len);

/* One line of a chart: points (x[i], y[i]) in order of x. Optional (NULL:
 * none): error bars from x_lo[i] to x_hi[i] and from y_lo[i] to y_hi[i], and
 * a text beside each point (labels[i], NULL for none). */
typedef struct {
    const char *name;
    const double *x;
    const double *y;
    size_t n;
    const double *x_lo, *x_hi, *y_lo, *y_hi;
    const char *const *labels;
} plot_series;

/* One panel: a title, a y-axis label, and up to 8 series. */
typedef struct {
    const char *title;
    const char *y_label;
    plot_series series[8];
    int n_series;
} plot_panel;

/* Draws panels stacked vertically with a shared x label into a PNG. */
tg_status render_plot_png(const plot_panel *panels, int n_panels, const char *x_label,
                          const char *png_path, char *err, size_t err_len);

/* Writes a cairo image surface (passed as void * so that this header needs no
 * cairo) to a PNG file under a temporary name, renamed when complete; err says
 * what failed (png.c, cairo builds only). */
tg_status render_save_png(void *cairo_surface, const char *png_path, char *err, size_t err_len);

/* ------------------------------------------------------------------------ */
/* Sheet music (notation.c lays a score out in bars and voices on the
 * notation grid; musicxml.c writes it as MusicXML; tg_musicxml_* in
 * tunegan.h are the entry points). Times are in steps of the grid
 * (steps_per_quarter, MusicXML's divisions); every time of the sheet is a
 * multiple of unit, the finest value written without tuplets. */

/* Notes of one voice that start and end together. */
typedef struct {
    int64_t start, end;   /* steps; end > start */
    size_t first, count;  /* their pitches: part's pitches[first .. first + count), rising */
} notation_chord;

typedef struct {
    notation_chord *chords;  /* in time order; one ends before (or as) the next starts */
    size_t n, cap;
    int staff;               /* 1-based */
} notation_voice;

/* One part per track with notes. Its voices are in staff order, at most
 * four on a staff; every staff has at least one (but the empty part). */
typedef struct {
    const tg_track *track;   /* borrowed from the score; NULL: the empty part of a score without notes */
    uint8_t *pitches;
    size_t n_pitches, cap_pitches;
    notation_voice *voices;
    int n_voices;
    char *clefs;             /* per staff: 'G' treble, 'F' bass, 'P' percussion */
    int n_staves;
} notation_part;

typedef struct {
    int64_t start, len;      /* steps */
    int beats, beat_type;    /* time signature in force */
    int fifths;              /* key in force: -7..7 */
    bool minor;
} notation_bar;

typedef struct {
    int steps_per_quarter;   /* the grid */
    int unit;                /* steps of the finest notated value */
    notation_part *parts;
    size_t n_parts;
    notation_bar *bars;      /* cover every note */
    size_t n_bars;
    bool key_estimated;      /* the score had no key signature: fifths/minor estimated */
    double bpm;              /* tempo at the start */
} notation_sheet;

/* Lays the score out (the rule is tunegan.h's, beside tg_musicxml_options).
 * TG_ERR_ARG for a grid outside 1..TG_MUSICXML_MAX_GRID, TG_ERR_UNSUPPORTED for
 * SMPTE time; err says why. Free with notation_free (accepts a zeroed sheet). */
tg_status notation_build(const tg_score *score, int steps_per_quarter, notation_sheet *out,
                         char *err, size_t err_len);
void notation_free(notation_sheet *sheet);

/* The steps of the finest value written without tuplets on a grid of
 * steps_per_quarter: steps_per_quarter over its largest power-of-two
 * divisor, the divisor kept at most 32 (a 128th note). 12 gives 3 (a 16th). */
int notation_unit(int steps_per_quarter);

/* The key (fifths -7..7, minor) whose Krumhansl-Kessler profile correlates
 * best with the duration-weighted pitch classes of the score's pitched
 * notes; C major for a score without them. */
void notation_estimate_key(const tg_score *score, int *fifths, bool *minor);

/* Spells a MIDI pitch in a key: step letter 'A'..'G', alter -1..1, octave. */
void notation_spell(int pitch, int fifths, bool minor, char *step, int *alter, int *octave);

/* The General MIDI name of a program 0..127 ("Acoustic Grand Piano"). */
const char *render_gm_program_name(int program);

#endif /* TG_RENDER_H */
