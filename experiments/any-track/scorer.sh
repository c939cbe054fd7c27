#!/bin/sh
# Issue 20: accompaniment candidates chosen by a whole-tune model. Every
# Nottingham test melody accompanied by the any-track model with RERANK
# candidates, chosen by SCORER (`accompany --scorer`: how likely the
# whole-tune model finds the melody's notes in each take) or, with SCORER
# "-", by the any-track model's own channel; then the harmonic fit of
# `tunegan eval --melody-track 0` against the real tunes. From the project root:
#   sh experiments/any-track/scorer.sh NAME SCORER|- OUT [SEEDS ("1 2")] [T (0.8)] [RERANK (8)]
# BIN (build/tunegan), THREADS (1), LIMIT (the first N test tunes: a smoke test).
set -eu
name=$1
scorer=$2
out=$3
seeds=${4:-1 2}
t=${5:-0.8}
rerank=${6:-8}
bin=${BIN:-build/tunegan}
threads=${THREADS:-1}
data=../shared/data/nottingham
mkdir -p "$out/real"
tests=$(awk -F'\t' '$2 == "test" { print $1 }' "$data/split.tsv" | head -n "${LIMIT:-100000}")
for f in $tests; do [ -f "$out/real/$f" ] || cp "$data/full/$f" "$out/real/$f"; done
with=""
[ "$scorer" = - ] || with="--scorer $scorer"
for s in $seeds; do
    acc=$out/$name/acc-T$t-s$s-r$rerank
    mkdir -p "$acc"
    start=$(date +%s)
    for f in $tests; do
        [ -f "$acc/$f" ] || "$bin" accompany "$data/melody/$f" -o "$acc/$f" -T "$t" --seed "$s" --rerank "$rerank" \
            $with --threads "$threads" >/dev/null 2>"$acc.err" || echo "accompany $f: $(tail -n 1 "$acc.err")" >&2
    done
    rm -f "$acc.err"
    secs=$(( $(date +%s) - start ))
    "$bin" eval --samples "$acc" --reference "$out/real" --melody-track 0 --json >"$acc.json"
    fit=$(/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('fit %.3f (real %.3f)' % (d['harmony']['samples']['fit'], d['harmony']['reference']['fit']))" "$acc.json")
    echo "$name seed $s T $t rerank $rerank: $(ls "$acc" | wc -l) accompaniments in $secs s; $fit"
done
