#!/bin/sh
# Issue 20: bars 5-8 of every Nottingham test tune written again by a
# whole-tune model (left to right from bars 1-4, `tunegan infill` with a remi
# or remi-compact model: src/run/infill.c), with RERANK candidates chosen by
# the bars after; then the fresh critic, paired, on the first 8 bars (critic
# seeds 1-3) and phrase_return.py (bars 5-8 against 1-4), the measures of
# context.sh's infill half, so that the results compare with the any-track
# models'. From the project root:
#   sh experiments/any-track/infill_forward.sh NAME MODEL OUT [SEEDS ("1 2 3")] [TEMPS ("0.95")] [RERANK (8)]
# BIN (build/tunegan), THREADS (1), LIMIT (the first N test tunes: a smoke
# test). The real tunes are copied to OUT/real; a tune with fewer than 8 bars
# (xmas7) is refused by infill and left out of both sides by --paired.
set -eu
name=$1
model=$2
out=$3
seeds=${4:-1 2 3}
temps=${5:-0.95}
rerank=${6:-8}
here=$(dirname "$0")
. "$here/test_set.sh"
mkdir -p "$out/$name"
for t in $temps; do
    for s in $seeds; do
        inf=$out/$name/infill-T$t-s$s-r$rerank
        mkdir -p "$inf"
        start=$(date +%s)
        for f in $tests; do
            [ -f "$inf/$f" ] || "$bin" infill "$data/full/$f" --model "$model" --bars 5-8 -o "$inf/$f" -T "$t" \
                --seed "$s" --rerank "$rerank" --threads "$threads" >"$inf.log" 2>&1 ||
                echo "infill $f: $(tail -n 1 "$inf.log")" >&2
        done
        rm -f "$inf.log"
        secs=$(( $(date +%s) - start ))
        for c in 1 2 3; do
            "$bin" critic --real "$out/real" --fake "$inf" --bars 8 --paired --seed "$c" --json
        done >"$inf.critic.jsonl"
        /usr/bin/python3 "$here/phrase_return.py" "$inf" >"$inf.return.txt"
        acc=$(/usr/bin/python3 -c "import json,sys; a=[json.loads(l)['accuracy'] for l in open(sys.argv[1])]; print(' / '.join('%.3f' % x for x in a), '(mean %.3f)' % (sum(a)/len(a)))" "$inf.critic.jsonl")
        echo "$name T $t seed $s rerank $rerank: $(ls "$inf" | wc -l) infills in $secs s; critic $acc; $(cat "$inf.return.txt")"
    done
done
/usr/bin/python3 "$here/phrase_return.py" "$out/real" >"$out/real.return.txt"
