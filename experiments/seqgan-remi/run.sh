#!/bin/bash
# Issue 7, experiment 3: full music. Nottingham remi (full/), small preset:
# MLE alone against MLE then SeqGAN, and the constant-reward control at the
# same budget, over SEEDS seeds: validation NLL (the runs' eval lines and
# `tunegan eval --model`) and the music statistics of `tunegan eval` on
# samples against the test split.
#   bash experiments/seqgan-remi/run.sh [WORK_DIR]           (days of CPU at this size)
#   SMOKE=1 bash experiments/seqgan-remi/run.sh /tmp/smoke   (minutes)
# MLE_RUN=DIR reuses a finished pretrain run (e.g. experiments/pretrain-nottingham's).
set -eu
work=${1:-/tmp/tg-seqgan-remi}
build=${BUILD:-build}
bin=$build/tunegan
data=${DATA:-../shared/data/nottingham}
seeds=${SEEDS:-"1 2 3"}
threads=${THREADS:-1}
mkdir -p "$work"
if [ "${SMOKE:-0}" = 1 ]; then
    preset="--preset tiny --context 64"; pre_steps=40; rounds=1; d_pre=1; d_steps=1; d_samples=16
    rollouts=2; every=16; seq=64; num=8; seeds=${SEEDS:-1}
else
    preset="--preset small"; pre_steps=2000; rounds=20; d_pre=20; d_steps=3; d_samples=64
    rollouts=8; every=16; seq=256; num=100
fi
[ -f "$work/remi.corpus" ] || "$bin" data build --tokenizer remi --split "$data/split.tsv" \
    -o "$work/remi.corpus" "$data/full"
for seed in $seeds; do
    w=$work/seed$seed
    mkdir -p "$w"
    mle=${MLE_RUN:-$w/mle}
    [ -f "$mle/model.safetensors" ] || "$bin" pretrain --corpus "$work/remi.corpus" $preset --steps $pre_steps \
        --warmup 100 --lr 5e-4 --eval-every 250 --seed $seed --threads $threads -o "$mle"
    adv="--corpus $work/remi.corpus --init $mle --seq-len $seq --batch 8 --rounds $rounds --g-steps 1
         --d-pretrain $d_pre --d-steps $d_steps --d-epochs 2 --d-samples $d_samples --rollouts $rollouts
         --rollout-every $every --kl 0.1 --mle-mix 1 --lr-g 1e-5 --lr-d 1e-4 --seed $seed --threads $threads"
    [ -f "$w/seqgan/model.safetensors" ] || "$bin" train $adv --reward rollout -o "$w/seqgan"
    [ -f "$w/dense/model.safetensors" ] || "$bin" train $adv --reward dense -o "$w/dense"
    [ -f "$w/control/model.safetensors" ] || "$bin" train $adv --reward constant -o "$w/control"
    for run in seqgan dense control; do
        r=$w/$run; [ "$run" = mle ] && r=$mle
        "$bin" eval --model "$r" --corpus "$work/remi.corpus" --split valid >"$w/nll-$run.txt"
        "$bin" generate --model "$r" -o "$w/samples-$run" -n $num --bars 16 --seed $seed --threads $threads >/dev/null
        "$bin" eval --samples "$w/samples-$run" --reference "$work/remi.corpus:test" --json >"$w/eval-$run.json"
    done
    "$bin" eval --model "$mle" --corpus "$work/remi.corpus" --split valid >"$w/nll-mle.txt"
    "$bin" generate --model "$mle" -o "$w/samples-mle" -n $num --bars 16 --seed $seed --threads $threads >/dev/null
    "$bin" eval --samples "$w/samples-mle" --reference "$work/remi.corpus:test" --json >"$w/eval-mle.json"
done
echo "results: $work/seed*/{nll,eval}-{mle,seqgan,dense,control}.*"
