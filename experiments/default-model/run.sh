#!/bin/sh
# The recipe of models/mle (the bundled default model until 2026-12-06; the
# default is now the whole-tunes model, whose recipe is in its card,
# models/default/README.md): train it, evaluate it against the test split,
# and install it. Run from the
# project root after `make build`, with the Nottingham data beside the project:
#   sh experiments/default-model/run.sh [WORK_DIR]
# MODEL_RUN=DIR skips training and evaluates an existing pretrain run (the
# bundled model is experiments/pretrain-nottingham's relative run: the same
# command as below). INSTALL=1 copies the result to models/mle/.
# Figures quoted in models/mle/README.md come from this script's
# WORK_DIR/eval-*.txt and eval-samples.json.
set -eu
work=${1:-/tmp/tg-default-model}
bin=${BIN:-build/tunegan}
data=${DATA:-../shared/data/nottingham}
threads=${THREADS:-1}
mkdir -p "$work"
[ -f "$work/nott.corpus" ] || "$bin" data build --tokenizer remi --split "$data/split.tsv" \
    -o "$work/nott.corpus" "$data/full"
run=${MODEL_RUN:-$work/run}
# About 90 minutes on one thread of this 2-core machine (bit-identical for a
# fixed thread count and commit).
[ -f "$run/model.safetensors" ] || "$bin" pretrain --corpus "$work/nott.corpus" --preset small \
    --steps 2000 --warmup 100 --lr 5e-4 --eval-every 250 --seed 1 --threads 1 \
    --attention relative -o "$run"
# likelihood on the valid and test splits (every token once, full context)
for split in valid test; do
    "$bin" eval --model "$run" --corpus "$work/nott.corpus" --split $split --threads $threads \
        >"$work/eval-$split.txt"
    cat "$work/eval-$split.txt"
done
# 100 new pieces of 16 bars, compared with the test split; the valid split
# against the test split is real music measured the same way (the ceiling)
"$bin" generate --model "$run" -o "$work/samples" -n 100 --bars 16 --seed 1 --threads $threads >/dev/null
"$bin" eval --samples "$work/samples" --reference "$work/nott.corpus:test" --json >"$work/eval-samples.json"
"$bin" eval --samples "$work/nott.corpus:valid" --reference "$work/nott.corpus:test" --json \
    >"$work/eval-valid-vs-test.json"
"$bin" plot "$run" -o "$work/curves.png"
if [ "${INSTALL:-0}" = 1 ]; then
    cp "$run/model.safetensors" models/mle/model.safetensors
    cp "$work/curves.png" docs/mle-model-curves.png
    echo "installed: models/mle/model.safetensors"
fi
echo "results: $work/eval-{valid,test}.txt $work/eval-samples.json $work/eval-valid-vs-test.json"
