#!/bin/sh
# The table of RESULTS.md's voice-leading section from voicelead.sh's output:
#   sh experiments/any-track/voicelead-table.sh OUT_DIR
# One row per configuration (NAME-MODE-sSEED-tT) and one for Bach (the
# reference column of any .eval): per 100 beats, parallel fifths, octaves,
# voice crossings (crossings begun), notes out of range; the harmonic
# statistics (scale consistency, pitch-class entropy, pitch classes used:
# MusPy, mean over pieces; harmonic fit of the top line); the share of the
# voices' pitches drawn again, of durations drawn again, and the relaxations.
set -eu
out=$1
row() { # $1 eval file, $2 column (samples 1, reference 2), $3 label, $4 draws file or ""
    awk -v col="$2" -v label="$3" '
        function v(k,   n, w) { n = split(k, w, " "); return n }
        index($0, "  parallel fifths") == 1 { f = $(2 + col) }
        index($0, "  parallel octaves") == 1 { o = $(2 + col) }
        index($0, "  voice crossings") == 1 { c = $(2 + col) }
        index($0, "  crossings begun") == 1 { b = $(2 + col) }
        index($0, "  notes out of range") == 1 { r = $(4 + col) }
        index($0, "  scale_consistency") == 1 { s = col == 1 ? $2 " +- " $4 : $5 " +- " $7 }
        index($0, "  pitch_class_entropy") == 1 { e = col == 1 ? $2 : $5 }
        index($0, "  n_pitch_classes_used") == 1 { n = col == 1 ? $2 : $5 }
        index($0, "  harmonic fit ") == 1 { h = $(2 + col) }
        END { printf "| %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s |", label, f, o, c, b, r, s, e, n, h }' "$1"
    if [ -n "$4" ] && [ -s "$4" ]; then
        sed -E 's/.*strict: ([0-9]+) pitches[^,]*, ([0-9]+) redrawn[^,]*, ([0-9]+) durations.*range ([0-9]+), crossing ([0-9]+), parallels ([0-9]+)/\1 \2 \3 \4 \5 \6/' "$4" |
            awk '{ n += $1; r += $2; d += $3; g += $4; x += $5; p += $6 }
                 END { printf " %.1f %% | %.1f %% | %d / %d / %d |\n", 100 * r / n, 100 * d / n, g, x, p }'
    else
        echo " | | |"
    fi
}
echo "| takes | fifths | octaves | crossings (begun) | out of range | scale consistency | pitch-class entropy | pitch classes | harmonic fit | pitches redrawn | durations redrawn | relaxed range / crossing / parallels |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
first=
for e in "$out"/*.eval; do
    c=$(basename "$e" .eval)
    row "$e" 1 "$c" "$out/$c.draws"
    first=${first:-$e}
done
[ -n "$first" ] && row "$first" 2 "Bach (77 test chorales)" ""
