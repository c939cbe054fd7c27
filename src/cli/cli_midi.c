/* cli_midi.c: reading a MIDI file for any subcommand, with warnings printed
 * and errors that name the file. */
#include <string.h>

#include "cli.h"

tg_status cli_read_midi(const char *path, tg_score **out, tg_midi_report *report)
{
    tg_midi_read_options ro = tg_midi_read_options_default();
    ro.logger = cli_logger();
    ro.name = path;
    tg_midi_error me;
    memset(&me, 0, sizeof me);
    tg_status st = tg_midi_read_file(path, &ro, out, report, &me);
    if (st != TG_OK) cli_error("%s: %s", path, me.what[0] ? me.what : tg_status_str(st));
    return st;
}
