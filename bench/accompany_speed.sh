#!/bin/sh
# Issue 20's speed goal: `tunegan accompany` of a 32-bar melody on one core in
# under 2 s (model loading, encoding, decoding and writing: the whole command).
# The reference run in the same script: `tunegan generate` with the same model
# and thread writing as many tokens as the accompaniment's sequence holds
# (every token of a plan, forced or sampled, is one step of the sampling
# loop), so the ratio shows what forcing the given tokens costs beside plain
# sampling. Each command's wall time and CPU time (user + system, from
# /usr/bin/time: on a shared machine the CPU time is what one free core would
# take), best of ROUNDS, the two alternated.
#   bench/accompany_speed.sh [MODEL (models/accompany-nottingham)] [MELODY] [ROUNDS (3)]
set -eu
bin=${TG_BIN:-build/tunegan}
model=${1:-models/accompany-nottingham}
mel=${2:-../shared/data/nottingham/melody/ashover13.mid}  # a test tune of 32 bars
rounds=${3:-3}
[ -f "$mel" ] || { echo "bench/accompany_speed.sh: $mel is missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/accompany_speed.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date '+%Y-%m-%d %H:%M'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
bars=$("$bin" tokenize -t remi "$mel" | grep -c '^Bar$')
timed() { /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >"$tmp/out" 2>/dev/null; awk '{print $1, $2 + $3}' "$tmp/time"; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
aw=999 ac=999 gw=999 gc=999
for r in $(seq "$rounds"); do
    set -- $(timed "$bin" accompany "$mel" --model "$model" -o "$tmp/a.mid" --seed "$r" --threads 1)
    aw=$(min "$aw" "$1"); ac=$(min "$ac" "$2")
    tokens=$(sed -n 's/.*, \([0-9]*\) tokens (.*/\1/p' "$tmp/out")
    set -- $(timed "$bin" generate --model "$model" -o "$tmp/g" --seed "$r" --threads 1 --length "$tokens")
    gw=$(min "$gw" "$1"); gc=$(min "$gc" "$2")
    gen=$(sed -n 's/^generated 1 sample: \([0-9]*\) new tokens.*/\1/p' "$tmp/out")
done
echo "melody $mel: $bars bars; the accompaniment's sequence: $tokens tokens"
echo "accompany, 1 thread, best of $rounds: wall $aw s, CPU $ac s"
echo "generate --length $tokens (wrote $gen), same model, 1 thread, best of $rounds: wall $gw s, CPU $gc s"
echo "CPU per token: accompany $(echo "$ac $tokens" | awk '{printf "%.3f", 1000 * $1 / $2}') ms, generate $(echo "$gc ${gen:-1}" | awk '{printf "%.3f", 1000 * $1 / $2}') ms"
echo "ratio accompany / generate (whole commands): wall $(min "$aw" "$aw" | awk -v g="$gw" '{printf "%.2f", $1 / g}'), CPU $(echo "$ac" | awk -v g="$gc" '{printf "%.2f", $1 / g}')"
