#!/bin/bash
# bench/musicxml_musescore.sh: how long MuseScore 3 takes to read back what
# `tunegan export` writes of the Nottingham test split (99 files) to MIDI, in
# one process with a JSON job file (`mscore3 -j`, what
# tests/test_musicxml_musescore.py uses) against one process per file, and
# how long the export itself takes. Prints the times and the ratio.
# Usage: bench/musicxml_musescore.sh [BUILD_DIR]   (from the source tree)
set -eu
build=${1:-build}
data=../shared/data/nottingham
command -v mscore3 >/dev/null || { echo "mscore3 (Debian musescore3) is not installed"; exit 1; }
[ -f "$data/split.tsv" ] || { echo "no $data/split.tsv"; exit 1; }
tmp=$(mktemp -d /tmp/tg_bench_mx.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export QT_QPA_PLATFORM=offscreen
names=$(awk '$2 == "test" { print $1 }' "$data/split.tsv")
now() { date +%s.%N; }

t0=$(now)
for n in $names; do "$build/tunegan" export "$data/full/$n" -o "$tmp/${n%.mid}.musicxml" >/dev/null; done
t1=$(now)
{
    echo "["
    sep=""
    for n in $names; do printf '%s{"in": "%s", "out": "%s"}\n' "$sep" "$tmp/${n%.mid}.musicxml" "$tmp/${n%.mid}.j.mid"; sep=","; done
    echo "]"
} >"$tmp/jobs.json"
t2=$(now)
mscore3 -j "$tmp/jobs.json" >/dev/null 2>&1
t3=$(now)
for n in $names; do mscore3 -o "$tmp/${n%.mid}.p.mid" "$tmp/${n%.mid}.musicxml" >/dev/null 2>&1; done
t4=$(now)
files=$(echo "$names" | wc -w)
awk -v f="$files" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" 'BEGIN {
    e = t1 - t0; j = t3 - t2; p = t4 - t3
    printf "files: %d\n", f
    printf "tunegan export, one process per file: %.2f s (%.1f ms a file)\n", e, 1000 * e / f
    printf "mscore3 -j (one process, a job file): %.1f s (%.2f s a file)\n", j, j / f
    printf "mscore3 -o, one process per file:     %.1f s (%.2f s a file)\n", p, p / f
    printf "one process per file / job file: %.2fx\n", p / j
}'
uptime
