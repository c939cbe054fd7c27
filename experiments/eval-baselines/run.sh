#!/bin/bash
# Issue 8's baselines: what `tunegan eval` prints for real music and for
# n-gram noise on Nottingham, so that every later figure has a scale.
#   ceiling: the test split against the train split, and the valid split
#            against the test split (real, held-out music; the second pair has
#            the sizes of a model's samples against the test split)
#   floors:  100 samples of a unigram and of a bigram model of the training
#            split's tokens (tools/ngram_samples.c), against the test split
#            (as a model's samples will be) and against the train split
# with remi (whole pieces) and grid (SeqGAN's setting: melody every 0.4 s,
# BLEU over segments of 32 tokens). Run from the project root after building
# (cmake -S . -B build && cmake --build build, tests on: ngram_samples is built
# beside them):
#   bash experiments/eval-baselines/run.sh [WORK_DIR]
# The JSON and tables in results/ and the figures in RESULTS.md came from
# exactly these commands. One thread throughout (eval has no threads at all).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/tmp/tg-eval-baselines}
build=${BUILD:-build}
bin=$build/tunegan
ngram=$build/tests/ngram_samples
data=${DATA:-../shared/data/nottingham}
out=$here/results
mkdir -p "$work" "$out"
: >"$out/times.tsv"

evaluate() { # NAME SAMPLES REFERENCE [FLAGS...]: JSON and table, timed
    local name=$1 samples=$2 reference=$3 t0 t1
    shift 3
    t0=$(date +%s.%N)
    "$bin" eval --samples "$samples" --reference "$reference" "$@" --json >"$out/$name.json" 2>"$out/$name.err"
    t1=$(date +%s.%N)
    "$bin" eval --samples "$samples" --reference "$reference" "$@" >"$out/$name.txt" 2>/dev/null
    awk -v n="$name" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s\t%.2f\n", n, b - a }' >>"$out/times.tsv"
}

for tok in remi grid; do
    corpus=$work/$tok.corpus
    seg=0
    [ "$tok" = grid ] && seg=32
    "$bin" data build --tokenizer $tok --split "$data/split.tsv" -j 1 -o "$corpus" "$data/full" 2>"$out/$tok-build.err"
    for order in 1 2; do
        name=$([ $order = 1 ] && echo unigram || echo bigram)
        rm -rf "$work/$tok-$name"
        "$ngram" --corpus "$corpus" --order $order --count 100 --seed 1 -o "$work/$tok-$name" 2>"$out/$tok-$name-samples.err"
    done
    evaluate "$tok-test-vs-train" "$corpus:test" "$corpus:train" --segment $seg
    evaluate "$tok-valid-vs-test" "$corpus:valid" "$corpus:test" --segment $seg
    for name in unigram bigram; do
        evaluate "$tok-$name-vs-test" "$work/$tok-$name" "$corpus:test" --segment $seg
        evaluate "$tok-$name-vs-train" "$work/$tok-$name" "$corpus:train" --segment $seg
    done
done
find "$out" -name '*.err' -empty -delete
/usr/bin/python3 "$here/summarize.py" "$out" >"$out/summary.md"
cat "$out/summary.md"
