#!/bin/bash
# test_cli_export.sh: `tunegan export` end to end on the fixtures. Checks: it
# writes MusicXML where -o says (beside the MIDI file without -o) and says
# so; --grid sets the divisions, --title the work title (default: the file's
# name); the XML parses (Python's xml.etree, when /usr/bin/python3 is here);
# bad input is one clear error naming the file, exit status 1: a file that
# is not MIDI, a missing file, SMPTE time, --grid out of range, an output
# path that is a folder (its cause named), a full stdout; a failed write
# leaves no temporary file behind.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_export.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
has() { if grep -qF -- "$2" "$1"; then ok; else fail "$3: $1 lacks '$2'"; fi; }

run 0 "export format1" "$BIN" export "$DATA/format1.mid" -o "$tmp/a.musicxml"
has_out "wrote $tmp/a.musicxml" "export prints the path"
[ "$(head -c 5 "$tmp/a.musicxml")" = "<?xml" ] && ok || fail "a.musicxml is not XML"
has "$tmp/a.musicxml" '<score-partwise version="3.1">' "partwise 3.1"
has "$tmp/a.musicxml" "<divisions>12</divisions>" "default grid"
has "$tmp/a.musicxml" "<work-title>format1</work-title>" "default title"
if [ -x /usr/bin/python3 ]; then
    run 0 "the XML parses" /usr/bin/python3 -c \
        'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); assert r.tag == "score-partwise" and r.find("part/measure/note") is not None' \
        "$tmp/a.musicxml"
fi

cp "$DATA/format0.mid" "$tmp/tune.mid"
run 0 "export beside the MIDI file" "$BIN" export "$tmp/tune.mid" --grid 8 --title "A & B"
[ -f "$tmp/tune.musicxml" ] && ok || fail "no tune.musicxml beside tune.mid"
has "$tmp/tune.musicxml" "<divisions>8</divisions>" "--grid 8"
has "$tmp/tune.musicxml" "<work-title>A &amp; B</work-title>" "--title, escaped"

echo "not a MIDI file" >"$tmp/text.mid"
run 1 "a file that is not MIDI" "$BIN" export "$tmp/text.mid" -o "$tmp/b.musicxml"
has_err "text.mid" "not MIDI: the file is named"
[ -e "$tmp/b.musicxml" ] && fail "an output was written for a bad input" || ok
run 1 "a missing file" "$BIN" export "$tmp/missing.mid" -o "$tmp/b.musicxml"
has_err "missing.mid" "missing: the file is named"
if [ -f "$DATA/smpte.mid" ]; then
    run 1 "SMPTE time" "$BIN" export "$DATA/smpte.mid" -o "$tmp/b.musicxml"
    has_err "smpte.mid" "SMPTE: the file is named"
    has_err "SMPTE" "SMPTE: the cause"
fi
run 1 "--grid 0" "$BIN" export "$DATA/format1.mid" --grid 0 -o "$tmp/b.musicxml"
has_err "tunegan export --help" "--grid 0 points to the help"
mkdir -p "$tmp/dir.musicxml"
run 1 "onto a folder" "$BIN" export "$DATA/format1.mid" -o "$tmp/dir.musicxml"
has_err "Is a directory" "onto a folder: the cause"
has_err "dir.musicxml: Is a directory" "onto a folder: the output is named"
n=$(find "$tmp" -name '*.tmp.*' | wc -l)
[ "$n" -eq 0 ] && ok || fail "$n temporary files left behind"
"$BIN" export "$DATA/format1.mid" -o "$tmp/c.musicxml" >/dev/full 2>"$tmp/err"
[ $? -eq 1 ] && ok || fail "export > /dev/full: want exit 1"
has_err "standard output: No space left on device" "export > /dev/full"
run 0 "--help" "$BIN" export --help
has_out "--grid" "--help lists --grid"
finish test_cli_export
