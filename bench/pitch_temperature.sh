#!/bin/sh
# What a pitch temperature costs: one take of `accompany` on a 32-bar melody
# (the whole command, one thread) at each --pitch-temperature in the list,
# alternated in every round, against the first (the reference: 0, off). CPU
# time (user + system, /usr/bin/time), best of ROUNDS, its ratio to the
# reference, and the tokens the take sampled (a sharper choice of pitches
# can write more or fewer chord notes, which the time follows).
#   bench/pitch_temperature.sh [MODEL (models/accompany-nottingham)] [MELODY] [ROUNDS (5)] ["PT..." ("0 0.2 0.6")]
set -eu
bin=${TG_BIN:-build/tunegan}
model=${1:-models/accompany-nottingham}
mel=${2:-../shared/data/nottingham/melody/ashover13.mid}  # a test tune of 32 bars
rounds=${3:-5}
pts=${4:-0 0.2 0.6}
[ -f "$mel" ] || { echo "bench/pitch_temperature.sh: $mel is missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/pitch_temperature.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date '+%Y-%m-%d %H:%M'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" --version | grep precision || true
i=0
for p in $pts; do eval "cpu_$i=999"; i=$((i + 1)); done
for r in $(seq "$rounds"); do
    i=0
    for p in $pts; do
        /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin" accompany "$mel" --model "$model" -o "$tmp/a.mid" \
            --pitch-temperature "$p" --rerank 1 --seed "$r" --threads 1 >"$tmp/out" 2>"$tmp/err" \
            || { echo "bench/pitch_temperature.sh: accompany failed:" >&2; cat "$tmp/err" >&2; exit 1; }
        c=$(awk '{print $1 + $2}' "$tmp/time")
        n=$(sed -n 's/.* 1 take, \([0-9]*\) tokens sampled.*/\1/p' "$tmp/out")
        eval "cpu_$i=\$(awk -v a=\$cpu_$i -v b=$c 'BEGIN { print (a < b ? a : b) }') tok_${i}_$r=$n"
        i=$((i + 1))
    done
done
echo "accompany $mel, model $model, 1 thread, whole command, best of $rounds (load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
i=0
for p in $pts; do
    eval "c=\$cpu_$i ref=\$cpu_0"
    toks=""
    for r in $(seq "$rounds"); do eval "toks=\"\$toks \$tok_${i}_$r\""; done
    echo "pitch temperature $p: CPU $c s (x$(echo "$c $ref" | awk '{printf "%.2f", $1 / $2}') of $(echo $pts | cut -d' ' -f1)); tokens sampled, seeds 1-$rounds:$toks"
    i=$((i + 1))
done
