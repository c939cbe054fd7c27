#!/bin/sh
# Issue 20, a negative result (RESULTS.md, "Infilling: real bars from another
# tune ..."): bars 5-8 of every Nottingham test tune written by the default
# infill (the whole-tune model, 8 candidates), then their chords written
# again by the any-track model with the melody given
# (`infill --tracks chords --model models/accompany-nottingham`). From the
# project root:
#   sh experiments/any-track/infill_chords.sh OUT "SEEDS" (e.g. "1 2 3")
# BIN (build/tunegan), THREADS (1), LIMIT (the first N test tunes). Writes
# OUT/sS-stage1 (the default infill) and OUT/sS-stage2 (its chords again) and
# OUT/real; then the paired fresh critic (first 8 bars, critic seeds 1-3) on
# both, and gap_fit.py (the harmonic fit inside the gap).
set -eu
out=$1
seeds=$2
here=$(dirname "$0")
. "$here/test_set.sh"
for s in $seeds; do
    one=$out/s$s-stage1 two=$out/s$s-stage2
    mkdir -p "$one" "$two"
    for f in $tests; do
        [ -f "$one/$f" ] || "$bin" infill "$data/full/$f" --bars 5-8 -o "$one/$f" --seed "$s" \
            --threads "$threads" >/dev/null 2>"$out/err" || echo "infill $f: $(tail -n 1 "$out/err")" >&2
        [ ! -f "$one/$f" ] || [ -f "$two/$f" ] || "$bin" infill "$one/$f" --bars 5-8 --tracks chords \
            --model models/accompany-nottingham -o "$two/$f" --seed "$s" --threads "$threads" >/dev/null 2>"$out/err" ||
            echo "chords $f: $(tail -n 1 "$out/err")" >&2
    done
    for d in "$one" "$two"; do
        echo "$(basename "$d"): critic $(for c in 1 2 3; do
            "$bin" critic --real "$out/real" --fake "$d" --bars 8 --paired --seed "$c" 2>/dev/null |
                awk '/^accuracy/ { printf "%s ", $2 }'; done)"
    done
done
rm -f "$out/err"
/usr/bin/python3 "$here/gap_fit.py" "$out/real" "$out"/s*-stage*
