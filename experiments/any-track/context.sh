#!/bin/sh
# Issue 20: does a longer context help the any-track model? The same
# measures for any Nottingham any-track model (a run folder or a model file
# with tracks.tsv beside it), so that two models compare at matched settings:
#   sh experiments/any-track/context.sh NAME MODEL OUT [SEEDS ("1 2 3")] [TEMPS ("0.8 1.0")]
# For each seed and temperature, from the project root:
#   1. every Nottingham test melody accompanied (OUT/NAME/acc-T<T>-s<S>), then
#      the harmonic fit of `tunegan eval --melody-track 0` against the real
#      tunes (acc-T<T>-s<S>.json);
#   2. bars 5-8 of every test tune written again (OUT/NAME/infill-T<T>-s<S>),
#      with the bars around them the model saw (infill-T<T>-s<S>.seen), then
#      the fresh critic, paired, on the first 8 bars (critic seeds 1-3), and
#      phrase_return.py (bars 5-8 against 1-4).
# BIN (build/tunegan), THREADS (1), LIMIT (the first N test tunes only: a
# smoke test). The real tunes are copied to OUT/real.
set -eu
name=$1
model=$2
out=$3
seeds=${4:-1 2 3}
temps=${5:-0.8 1.0}
here=$(dirname "$0")
. "$here/test_set.sh"
mkdir -p "$out/$name"
for t in $temps; do
    for s in $seeds; do
        acc=$out/$name/acc-T$t-s$s
        inf=$out/$name/infill-T$t-s$s
        mkdir -p "$acc" "$inf"
        : >"$inf.seen"
        for f in $tests; do
            [ -f "$acc/$f" ] || "$bin" accompany "$data/melody/$f" --model "$model" -o "$acc/$f" -T "$t" \
                --seed "$s" --threads "$threads" >/dev/null 2>&1 || echo "accompany $f failed" >&2
            if "$bin" infill "$data/full/$f" --model "$model" --bars 5-8 --rerank 1 -o "$inf/$f" -T "$t" --seed "$s" \
                --threads "$threads" >"$inf.log" 2>&1; then
                sed -n "s/^infill: the model saw \([0-9]*\) bars\{0,1\} before bars 5-8 and \([0-9]*\) after.*/$f\t\1\t\2/p" \
                    "$inf.log" >>"$inf.seen"
            else
                echo "infill $f: $(tail -n 1 "$inf.log")" >&2
            fi
        done
        rm -f "$inf.log"
        "$bin" eval --samples "$acc" --reference "$out/real" --melody-track 0 --json >"$acc.json"
        for c in 1 2 3; do
            "$bin" critic --real "$out/real" --fake "$inf" --bars 8 --paired --seed "$c" --json
        done >"$inf.critic.jsonl"
        /usr/bin/python3 "$here/phrase_return.py" "$inf" >"$inf.return.txt"
        echo "$name T $t seed $s: $(ls "$acc" | wc -l) accompaniments, $(ls "$inf" | wc -l) infills"
    done
done
/usr/bin/python3 "$here/phrase_return.py" "$out/real" >"$out/real.return.txt"
