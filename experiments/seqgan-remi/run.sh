#!/bin/bash
# Issue 7, experiment 3: full music. Nottingham remi (full/), small preset:
# MLE alone against MLE then SeqGAN, and the constant-reward control at the
# same budget, over SEEDS seeds: validation NLL (the runs' eval lines and
# `tunegan eval --model`) and the music statistics of `tunegan eval` on
# samples against the test split.
#   bash experiments/seqgan-remi/run.sh [WORK_DIR]           (about 1.5 hours on one thread)
#   SMOKE=1 bash experiments/seqgan-remi/run.sh /tmp/smoke   (minutes)
# MLE_RUN=DIR reuses a finished pretrain run (e.g. experiments/pretrain-nottingham's).
set -eu
work=${1:-/tmp/tg-seqgan-remi}
build=${BUILD:-build}
bin=$build/tunegan
data=${DATA:-../shared/data/nottingham}
seeds=${SEEDS:-"1 2 3"}
threads=${THREADS:-1}
# the seeds that also run --reward dense (the causal discriminator)
dense_seeds=${DENSE_SEEDS:-1}
mkdir -p "$work"
if [ "${SMOKE:-0}" = 1 ]; then
    preset="--preset tiny --context 64"; pre_steps=40; rounds=1; d_pre=1; d_steps=1; d_samples=16
    rollouts=2; every=16; seq=64; num=8; bars=4; seeds=${SEEDS:-1}
else
    # The budget one thread affords in about 1.5 hours for the seven adversarial
    # runs (about 25 s a round): 15 rounds of one policy-gradient step on 8
    # sequences of 128 tokens, 4 rollouts every 32 tokens, 2 d-steps of 32
    # negatives (--reward dense on seed 1 only: DENSE_SEEDS). ROUNDS overrides
    # the round count.
    preset="--preset small"; pre_steps=2000; rounds=${ROUNDS:-15}; d_pre=4; d_steps=2; d_samples=32
    rollouts=4; every=32; seq=128; num=48; bars=8
fi
[ -f "$work/remi.corpus" ] || "$bin" data build --tokenizer remi --split "$data/split.tsv" \
    -o "$work/remi.corpus" "$data/full"
# measure a run: validation NLL (whole split, consecutive windows) and the
# statistics of samples against the test split
measure() { # RUN_DIR NAME SEED
    "$bin" eval --model "$1" --corpus "$work/remi.corpus" --split valid --stride 256 --threads $threads \
        >"$w/nll-$2.txt"
    "$bin" generate --model "$1" -o "$w/samples-$2" -n $num --bars $bars --seed $3 --threads $threads >/dev/null
    "$bin" eval --samples "$w/samples-$2" --reference "$work/remi.corpus:test" --json >"$w/eval-$2.json"
}
for seed in $seeds; do
    w=$work/seed$seed
    mkdir -p "$w"
    # MLE_RUN: one pretrained model shared by every seed (the seeds then vary
    # the adversarial phase and the sampling)
    mle=${MLE_RUN:-$w/mle}
    [ -f "$mle/model.safetensors" ] || "$bin" pretrain --corpus "$work/remi.corpus" $preset --steps $pre_steps \
        --warmup 100 --lr 5e-4 --eval-every 250 --seed $seed --threads $threads -o "$mle"
    adv="--corpus $work/remi.corpus --init $mle --seq-len $seq --batch 8 --rounds $rounds --g-steps 1
         --d-pretrain $d_pre --d-steps $d_steps --d-epochs 2 --d-samples $d_samples --rollouts $rollouts
         --rollout-every $every --kl 0.1 --mle-mix 1 --lr-g 1e-5 --lr-d 1e-4 --seed $seed --threads $threads"
    runs="seqgan control"
    case " $dense_seeds " in *" $seed "*) runs="seqgan dense control" ;; esac
    for run in $runs; do
        case $run in seqgan) reward=rollout ;; dense) reward=dense ;; control) reward=constant ;; esac
        [ -f "$w/$run/model.safetensors" ] || "$bin" train $adv --reward $reward -o "$w/$run"
        [ -f "$w/eval-$run.json" ] || measure "$w/$run" $run $seed
    done
    [ -f "$w/eval-mle.json" ] || measure "$mle" mle $seed
done
echo "results: $work/seed*/{nll,eval}-{mle,seqgan,dense,control}.*"
