#!/bin/sh
# Issue 20's speed goal: `tunegan accompany` of a 32-bar melody on one core in
# under 2 s (model loading, encoding, decoding and writing: the whole command),
# at the model's defaults (accompany-nottingham's sampling.tsv: 4 candidates
# ranked bar by bar), and one plain take (--rerank 1) beside it.
# The reference run in the same script: `tunegan generate` with the same model
# and thread asked for as many tokens as the accompaniment's sequence holds
# (every token of a plan, forced or sampled, is one step of the sampling
# loop); it may stop earlier at EOS, so the two are compared per token of
# the whole command (loading and writing included, which favours the longer
# run): the ratio shows what forcing the given tokens costs beside plain
# sampling. Times are CPU time (user + system, from /usr/bin/time: on a
# shared machine, what one free core would take) and, for accompany, wall
# time too; best of ROUNDS, the two alternated.
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
aw=999 ac=999 ap=999 gp=999 ow=999 oc=999
for r in $(seq "$rounds"); do
    set -- $(timed "$bin" accompany "$mel" --model "$model" -o "$tmp/o.mid" --seed "$r" --threads 1 --rerank 1)
    ow=$(min "$ow" "$1"); oc=$(min "$oc" "$2")
    set -- $(timed "$bin" accompany "$mel" --model "$model" -o "$tmp/a.mid" --seed "$r" --threads 1)
    aw=$(min "$aw" "$1"); ac=$(min "$ac" "$2")
    tokens=$(sed -n 's/.*, \([0-9]*\) tokens (.*/\1/p' "$tmp/out")
    ap=$(min "$ap" "$(echo "$2 $tokens" | awk '{print 1000 * $1 / $2}')")
    # the reference may end at EOS before --length: compared per token
    set -- $(timed "$bin" generate --model "$model" -o "$tmp/g" --seed "$r" --threads 1 --length "$tokens")
    gen=$(sed -n 's/^generated 1 sample: \([0-9]*\) new tokens.*/\1/p' "$tmp/out")
    gp=$(min "$gp" "$(echo "$2 $gen" | awk '{print 1000 * $1 / $2}')")
done
echo "melody $mel: $bars bars; the accompaniment's sequence: $tokens tokens"
echo "accompany (the model's defaults), 1 thread, whole command, best of $rounds: wall $aw s, CPU $ac s"
echo "accompany --rerank 1 (one plain take): wall $ow s, CPU $oc s; the defaults cost $(echo "$ac $oc" | awk '{printf "%.2f", $1 / $2}')x its CPU"
echo "CPU per token of the whole command, best of $rounds: accompany $ap ms, generate (same model, 1 thread, --length $tokens) $gp ms"
echo "ratio accompany / generate per token: $(echo "$ap $gp" | awk '{printf "%.2f", $1 / $2}')"
