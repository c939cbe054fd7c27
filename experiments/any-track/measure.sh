#!/bin/sh
# Issue 20's measures of the two any-track models (run after train.sh, from
# the project root):
#   sh experiments/any-track/measure.sh nottingham|chorales [OUT_DIR (out/any-track)]
# 1. NLL of one track's tokens with the other tracks given vs the same
#    tokens with them withheld (the model's own unconditional task), on the
#    test split (tools/track_nll): Nottingham's chords (slot 1) with and
#    without the melody; the chorales' alto, tenor and bass (slots 1-3) with
#    and without the soprano.
# 2. Takes for the measures of `tunegan eval` (harmonic fit, voice leading):
#    every Nottingham test melody accompanied (OUT/takes/nott-acc), every test
#    chorale's soprano harmonised (OUT/takes/jsb-acc), bars 5-8 of every
#    Nottingham test tune infilled (OUT/takes/nott-infill), seed 1, with the
#    real pieces beside them (OUT/takes/*-real).
set -eu
which=$1
out=${2:-out/any-track}
bin=${TUNEGAN_BIN:-build/tunegan}
nll=${TRACK_NLL:-build/tools/track_nll}
nm=${NOTT_MODEL:-models/accompany-nottingham}
jm=${JSB_MODEL:-models/accompany-chorales}
t=$out/takes
if [ "$which" = nottingham ]; then
"$bin" data mix --given 0 -o "$out/nott-given.corpus" "$out/nott-canon.corpus"
"$bin" data mix --keep 1 -o "$out/nott-alone.corpus" "$out/nott-canon.corpus"
"$nll" --model "$nm" --corpus "$out/nott-given.corpus" --slot 1 --split test
"$nll" --model "$nm" --corpus "$out/nott-alone.corpus" --slot 1 --split test
mkdir -p "$t/nott-acc" "$t/nott-real" "$t/nott-infill"
awk -F'\t' '$2 == "test" { print $1 }' ../shared/data/nottingham/split.tsv | while read -r f; do
    cp "../shared/data/nottingham/full/$f" "$t/nott-real/$f"
    "$bin" accompany "../shared/data/nottingham/melody/$f" --model "$nm" -o "$t/nott-acc/$f" --seed 1 --threads 1 >/dev/null 2>&1 ||
        echo "accompany $f failed" >&2
    "$bin" infill "../shared/data/nottingham/full/$f" --model "$nm" --bars 5-8 --rerank 1 -o "$t/nott-infill/$f" --seed 1 --threads 1 >/dev/null 2>&1 ||
        echo "infill $f failed" >&2
done
for d in nott-acc nott-infill; do echo "$d: $(ls "$t/$d" | wc -l) files"; done
else
"$bin" data mix --given 0 -o "$out/jsb-given.corpus" "$out/jsb-canon.corpus"
"$bin" data mix --keep 1,2,3 -o "$out/jsb-alone.corpus" "$out/jsb-canon.corpus"
for s in 1 2 3; do
    "$nll" --model "$jm" --corpus "$out/jsb-given.corpus" --slot $s --split test
    "$nll" --model "$jm" --corpus "$out/jsb-alone.corpus" --slot $s --split test
done
mkdir -p "$t/jsb-acc" "$t/jsb-real"
awk -F'\t' '$2 == "test" { print $1 }' ../shared/data/jsb-chorales/split.tsv | while read -r f; do
    cp "../shared/data/jsb-chorales/midi/$f" "$t/jsb-real/$f"
    "$bin" accompany "../shared/data/jsb-chorales/midi/$f" --model "$jm" --tracks alto,tenor,bass -o "$t/jsb-acc/$f" --seed 1 --threads 1 >/dev/null 2>&1 ||
        echo "accompany $f failed" >&2
done
echo "jsb-acc: $(ls "$t/jsb-acc" | wc -l) files"
fi
