#!/bin/bash
# Issue 7, experiment 1: SeqGAN's synthetic-oracle experiment (vocabulary
# 5,000, length 20, 10,000 training sequences; oracle NLL of 10,000 samples of
# the generator: paper MLE 9.038, SeqGAN 8.736, random 10.310), with our
# Transformer (relative attention, N(0,1) weights as the paper's LSTM) as the
# oracle, over 3 seeds, with the constant-reward control.
#
# NOT RUNNABLE YET: it needs a small tool, tools/oracle.c (not written), that
#   oracle make  --vocab 5000 --seed S -o ORACLE.safetensors
#   oracle sample ORACLE -n 10000 --length 20 -o TRAIN.corpus   (a corpus file
#                 in src/data's format with a "raw:v=1,vocab=5000" tokenizer)
#   oracle nll   ORACLE GEN_RUN -n 10000 --length 20            (mean NLL of the
#                 generator's samples under the oracle)
# `pretrain` and `train` below then work unchanged (they never decode tokens
# to music; `train` needs a corpus whose pieces are BOS, 20 tokens, EOS).
set -eu
work=${1:-/tmp/tg-seqgan-oracle}
build=${BUILD:-build}
bin=$build/tunegan
oracle=$build/tools/oracle
[ -x "$oracle" ] || { echo "seqgan-oracle: $oracle is not built (see the comment at the top)" >&2; exit 77; }
mkdir -p "$work"
for seed in 1 2 3; do
    w=$work/seed$seed
    mkdir -p "$w"
    "$oracle" make --vocab 5000 --seed $seed -o "$w/oracle.safetensors"
    "$oracle" sample "$w/oracle.safetensors" -n 10000 --length 20 --seed $seed -o "$w/train.corpus"
    "$bin" pretrain --corpus "$w/train.corpus" --preset tiny --context 32 --steps 5000 --lr 1e-3 --seed $seed -o "$w/mle"
    adv="--corpus $w/train.corpus --init $w/mle --seq-len 21 --batch 64 --rounds 200 --g-steps 1 --d-pretrain 50
         --d-steps 5 --d-epochs 3 --d-samples 640 --rollouts 16 --rollout-update 0.8 --kl 0 --lr-g 1e-4 --seed $seed"
    "$bin" train $adv --reward rollout -o "$w/seqgan"
    "$bin" train $adv --reward constant -o "$w/control"
    for run in mle seqgan control; do "$oracle" nll "$w/oracle.safetensors" "$w/$run" -n 10000 --length 20; done
done
