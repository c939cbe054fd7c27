/*
 * cli_export.c: `tunegan export FILE.mid -o FILE.musicxml`: sheet music
 * (MusicXML 3.1) of a MIDI file, quantised to a grid by the rule written in
 * include/tunegan.h (tg_musicxml_options) and the README.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* FILE.mid -> FILE.musicxml beside it; *title (when not given) the base name. */
static char *default_output(const char *midi_path)
{
    size_t n = strlen(midi_path);
    const char *dot = strrchr(midi_path, '.'), *slash = strrchr(midi_path, '/');
    if (dot && (!slash || dot > slash)) n = (size_t)(dot - midi_path);
    char *out = malloc(n + sizeof ".musicxml");
    if (out) sprintf(out, "%.*s.musicxml", (int)n, midi_path);
    return out;
}

static char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/'), *b = slash ? slash + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot > b ? (size_t)(dot - b) : strlen(b);
    char *out = malloc(n + 1);
    if (out) sprintf(out, "%.*s", (int)n, b);
    return out;
}

int cli_export(int argc, char **argv)
{
    tg_musicxml_options mo = tg_musicxml_options_default();
    const char *out = NULL, *title = NULL;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "FILE.musicxml", "where to write (default: beside the MIDI file)", 0, 0},
        {"grid", 'g', CLI_INT, &mo.steps_per_quarter, "N",
         "steps per quarter of the grid (MusicXML divisions; notes land on its finest binary subdivision)", 1,
         TG_MUSICXML_MAX_GRID},
        {"title", 't', CLI_STRING, &title, "TEXT", "the work's title (default: the file's name)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"export", "[options] FILE.mid",
                                   "Writes a MIDI file as sheet music (MusicXML 3.1, as MuseScore reads it)."};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1) {
        cli_error("export: expected one MIDI file");
        return 1;
    }
    tg_score *score;
    if (cli_read_midi(pos[0], &score, NULL) != TG_OK) return 1;
    char *path = out ? strdup(out) : default_output(pos[0]);
    char *name = title ? strdup(title) : base_name(pos[0]);
    mo.title = name;
    char err[512] = "";
    tg_status st = path && name ? tg_musicxml_write_file(path, score, &mo, err, sizeof err) : TG_ERR_NOMEM;
    bool writing = st == TG_ERR_IO || st == TG_ERR_NOT_FOUND; /* err names the output and the cause */
    if (st != TG_OK && writing && err[0])
        cli_error("%s", err);
    else if (st != TG_OK)
        cli_error("%s: %s", pos[0], err[0] ? err : tg_status_str(st));
    else
        printf("wrote %s\n", path);
    free(path);
    free(name);
    tg_score_free(score);
    return st == TG_OK ? 0 : 1;
}
