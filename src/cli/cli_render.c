/*
 * cli_render.c: `tunegan render` (MIDI to WAV through FluidSynth) and
 * `tunegan roll` (MIDI to a piano-roll PNG through cairo).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render/render.h"

/* FILE.mid -> FILE.<ext> beside it (a name without .mid gets .<ext> appended). */
static char *sibling_path(const char *midi_path, const char *ext)
{
    size_t n = strlen(midi_path);
    const char *dot = strrchr(midi_path, '.');
    const char *slash = strrchr(midi_path, '/');
    if (dot && (!slash || dot > slash)) n = (size_t)(dot - midi_path);
    char *out = malloc(n + strlen(ext) + 2);
    if (out) sprintf(out, "%.*s.%s", (int)n, midi_path, ext);
    return out;
}

int cli_render(int argc, char **argv)
{
    tg_audio_options ao = tg_audio_options_default();
    const char *out = NULL;
    int rate = ao.sample_rate_hz;
    bool dry = false;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "FILE.wav", "where to write (default: beside the MIDI file)", 0, 0},
        {"soundfont", 's', CLI_STRING, &ao.soundfont, "SF2", "General MIDI SoundFont (default: fluid-soundfont-gm's)", 0, 0},
        {"sample-rate", 'r', CLI_INT, &rate, "HZ", "sample rate", 8000, 192000},
        {"gain", 'g', CLI_DOUBLE, &ao.gain, "G", "synthesizer gain", 0, 10},
        {"tail", 0, CLI_DOUBLE, &ao.tail_sec, "SEC", "seconds kept after the last note", 0, 60},
        {"dry", 0, CLI_FLAG, &dry, NULL, "no reverb or chorus", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"render", "[options] FILE.mid", "Renders a MIDI file to audio (WAV) with FluidSynth."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("render: expected one MIDI file (see 'tunegan render --help')");
        return 1;
    }
    ao.sample_rate_hz = rate;
    ao.reverb = !dry;
    tg_score *score;
    if (cli_read_midi(pos[0], &score, NULL) != TG_OK) return 1;
    char *path = out ? strdup(out) : sibling_path(pos[0], "wav");
    char err[512] = "";
    tg_status st = render_audio_wav(score, path, &ao, err, sizeof err);
    if (st != TG_OK)
        cli_error("%s: %s", pos[0], err);
    else
        printf("wrote %s (%.1f s of audio)\n", path,
               tg_score_ticks_to_sec(score, -1, tg_score_end_ticks(score)) + ao.tail_sec);
    free(path);
    tg_score_free(score);
    return st == TG_OK ? 0 : 1;
}

int cli_roll(int argc, char **argv)
{
    tg_roll_options ro = tg_roll_options_default();
    const char *out = NULL;
    double primer_quarters = 0;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "FILE.png", "where to write (default: beside the MIDI file)", 0, 0},
        {"px-per-quarter", 0, CLI_DOUBLE, &ro.px_per_quarter, "PX", "horizontal scale", 1, 1000},
        {"max-width", 0, CLI_INT, &ro.max_width_px, "PX", "widest picture; long pieces are compressed", 200, 30000},
        {"primer-quarters", 0, CLI_DOUBLE, &primer_quarters, "Q", "shade the first Q quarter notes as the primer", 0, 1e6},
        {"title", 't', CLI_STRING, &ro.title, "TEXT", "title drawn at the top", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"roll", "[options] FILE.mid", "Draws a piano roll of a MIDI file as a PNG picture."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("roll: expected one MIDI file");
        return 1;
    }
    tg_score *score;
    if (cli_read_midi(pos[0], &score, NULL) != TG_OK) return 1;
    int tpq = score->ticks_per_quarter > 0 ? score->ticks_per_quarter : 480;
    ro.primer_end_ticks = (int64_t)(primer_quarters * tpq);
    char *path = out ? strdup(out) : sibling_path(pos[0], "png");
    char err[512] = "";
    tg_status st = render_roll_png(score, path, &ro, err, sizeof err);
    if (st != TG_OK)
        cli_error("%s: %s", pos[0], err);
    else
        printf("wrote %s\n", path);
    free(path);
    tg_score_free(score);
    return st == TG_OK ? 0 : 1;
}
