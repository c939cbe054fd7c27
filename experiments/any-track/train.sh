#!/bin/sh
# Issue 20's two models: the any-track training mix (tunegan data mix) of
# Nottingham (melody <-> chords) and of the JSB chorales (any voices from any
# voices), each trained by maximum likelihood on one thread. Run from the
# project root after building:
#   sh experiments/any-track/train.sh nottingham|nottingham-d160|nottingham-long|chorales [OUT_DIR]
# The shipped models (models/accompany-*) came from exactly these commands
# (OUT_DIR=out/any-track); their logs are copied beside this script
# (nott-d256-log.jsonl: the Nottingham model; nott-log.jsonl: its d160
# predecessor; jsb-log.jsonl: the chorales).
set -eu
which=$1
out=${2:-out/any-track}
bin=${TUNEGAN_BIN:-build/tunegan}
mkdir -p "$out"
case $which in
nottingham)
    # the shipped model since 2026-12-07: the small preset (d_model 256), dropout 0.2
    data=../shared/data/nottingham
    "$bin" data build --tokenizer remi-tracks --threads 1 --split "$data/split.tsv" \
        -o "$out/nott-canon.corpus" "$data/full"
    "$bin" data mix --copies 4 --seed 1 --context 256 -o "$out/nott-mix.corpus" "$out/nott-canon.corpus"
    "$bin" pretrain --corpus "$out/nott-mix.corpus" --preset small --dropout 0.2 --steps 4000 --warmup 100 \
        --lr 8e-4 --eval-every 250 --eval-windows 128 --seed 1 --threads 1 -o "$out/nott-d256-dr2"
    cp models/accompany-nottingham/tracks.tsv "$out/nott-d256-dr2/"
    ;;
nottingham-d160)
    # the model shipped until 2026-12-07 (d_model 160, 4,800 steps in two schedules)
    data=../shared/data/nottingham
    [ -f "$out/nott-canon.corpus" ] || "$bin" data build --tokenizer remi-tracks --threads 1 \
        --split "$data/split.tsv" -o "$out/nott-canon.corpus" "$data/full"
    [ -f "$out/nott-mix.corpus" ] || "$bin" data mix --copies 4 --seed 1 --context 256 \
        -o "$out/nott-mix.corpus" "$out/nott-canon.corpus"
    "$bin" pretrain --corpus "$out/nott-mix.corpus" --preset small --d-model 160 --steps 2400 \
        --warmup 60 --lr 1e-3 --eval-every 200 --eval-windows 128 --seed 1 --threads 1 -o "$out/nott-run"
    # 2,400 steps more (the cosine schedule restarts at half its peak)
    "$bin" pretrain --corpus "$out/nott-mix.corpus" --preset small --d-model 160 --steps 4800 \
        --warmup 60 --lr 1e-3 --eval-every 200 --eval-windows 128 --seed 1 --threads 1 -o "$out/nott-run" --resume
    ;;
nottingham-long)
    # the same mix and shape with a context of 1,024 tokens (4 windows a step:
    # the same 4,096 tokens), one schedule of 4,800 steps: infilling hears the
    # bars before and after the gap (issue 20, RESULTS "A longer context")
    data=../shared/data/nottingham
    [ -f "$out/nott-canon.corpus" ] || "$bin" data build --tokenizer remi-tracks --threads 1 \
        --split "$data/split.tsv" -o "$out/nott-canon.corpus" "$data/full"
    "$bin" data mix --copies 4 --seed 1 --context 1024 -o "$out/nott-mix-1024.corpus" "$out/nott-canon.corpus"
    "$bin" pretrain --corpus "$out/nott-mix-1024.corpus" --preset small --d-model 160 --context 1024 --batch 4 \
        --steps 4800 --warmup 60 --lr 1e-3 --eval-every 400 --eval-windows 64 --seed 1 --threads 1 \
        -o "$out/nott-run-1024"
    cp models/accompany-nottingham/tracks.tsv "$out/nott-run-1024/"
    ;;
chorales)
    data=../shared/data/jsb-chorales
    "$bin" data build --tokenizer remi-tracks --threads 1 --transpose -3..3 --split "$data/split.tsv" \
        -o "$out/jsb-canon.corpus" "$data/midi"
    "$bin" data mix --copies 6 --seed 1 --context 256 -o "$out/jsb-mix.corpus" "$out/jsb-canon.corpus"
    "$bin" pretrain --corpus "$out/jsb-mix.corpus" --preset small --d-model 192 --steps 2400 \
        --warmup 60 --lr 1e-3 --eval-every 200 --eval-windows 128 --seed 1 --threads 1 \
        -o "$out/jsb-run"
    ;;
*)
    echo "usage: sh experiments/any-track/train.sh nottingham|nottingham-d160|nottingham-long|chorales [OUT_DIR]" >&2
    exit 2
    ;;
esac
