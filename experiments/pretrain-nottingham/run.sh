#!/bin/sh
# Issue 5's experiment: the small preset trained by maximum likelihood on the
# Nottingham remi corpus, and Music Transformer's comparison of relative and
# absolute attention at equal steps. Run from the project root after `make build`:
#   sh experiments/pretrain-nottingham/run.sh [OUT_DIR]
# The logs and figures quoted in RESULTS.md came from exactly these commands
# (OUT_DIR=/tmp/exp); their log.jsonl files are copied beside this script.
set -eu
out=${1:-/tmp/exp}
bin=build/tunegan
data=../shared/data/nottingham
mkdir -p "$out"
"$bin" data build --tokenizer remi --split "$data/split.tsv" -o "$out/nott.corpus" "$data/full"
common="--corpus $out/nott.corpus --preset small --steps 2000 --warmup 100 --lr 5e-4 --eval-every 250 --seed 1 --threads 1"
# relative attention (the default), the full schedule
"$bin" pretrain $common --attention relative -o "$out/rel"
# absolute positions, same schedule, stopped at step 500 to compare at equal steps
"$bin" pretrain $common --attention absolute -o "$out/abs" --stop-at 500
"$bin" plot "$out/rel" -o "$out/rel-curves.png"
