#!/bin/sh
# Voice-leading-aware sampling (issue 20's chorale goal): every test
# chorale's soprano harmonised (alto, tenor, bass written) with
# `--voice-leading off` and `strict`, per model, seed and temperature, then
# `tunegan eval --voices satb` against Bach's test chorales. Run from the
# project root:
#   sh experiments/any-track/voicelead.sh NAME MODEL OUT_DIR "SEEDS" "TEMPS" ["MODES" (off strict)]
# e.g. sh experiments/any-track/voicelead.sh shipped models/accompany-chorales out/vl "1 2 3" "1.0"
# EXTRA adds flags to every accompany (e.g. EXTRA="--quality" with TEMPS "0.6").
# Writes OUT_DIR/NAME-MODE-sSEED-tT/ (the takes), OUT_DIR/real/ (Bach), and
# per configuration OUT_DIR/NAME-MODE-sSEED-tT.eval (eval's report) and
# .draws (accompany's voice-leading summary lines, summed at the end).
set -eu
name=$1 model=$2 out=$3 seeds=$4 temps=$5 modes=${6:-off strict}
bin=${TUNEGAN_BIN:-build/tunegan}
data=../shared/data/jsb-chorales
mkdir -p "$out/real"
tests=$(awk -F'\t' '$2 == "test" { print $1 }' "$data/split.tsv")
for f in $tests; do cp "$data/midi/$f" "$out/real/$f"; done
for T in $temps; do
    for s in $seeds; do
        for mode in $modes; do
            c=$name-$mode-s$s-t$T
            mkdir -p "$out/$c"
            : >"$out/$c.draws"
            for f in $tests; do
                "$bin" accompany "$data/midi/$f" --model "$model" --tracks alto,tenor,bass -o "$out/$c/$f" \
                    --seed "$s" -T "$T" --threads 1 --voice-leading $mode ${EXTRA:-} 2>/dev/null |
                    grep 'voice leading strict' >>"$out/$c.draws" || true
            done
            "$bin" eval --samples "$out/$c" --reference "$out/real" --voices satb >"$out/$c.eval" 2>/dev/null
            sed -E 's/.*strict: ([0-9]+) pitches[^,]*, ([0-9]+) redrawn[^,]*, ([0-9]+) durations.*range ([0-9]+), crossing ([0-9]+), parallels ([0-9]+)/\1 \2 \3 \4 \5 \6/' "$out/$c.draws" |
                awk -v c="$c" '{ n += $1; r += $2; d += $3; g += $4; x += $5; p += $6 }
                END { if (n) printf "%s: pitches %d, redrawn %.2f %%, durations redrawn %.2f %%, relaxed range %d crossing %d parallels %d\n", c, n, 100 * r / n, 100 * d / n, g, x, p; else print c ": voice leading off" }'
            grep -E 'parallel fifths|parallel octaves|voice crossings|crossings begun|out of range' "$out/$c.eval" | sed "s/^/  /"
        done
    done
done
