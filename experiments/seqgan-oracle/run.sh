#!/bin/bash
# Issue 7, experiment 1: SeqGAN's synthetic-oracle experiment (vocabulary
# 5,000, length 20, 10,000 training sequences; oracle NLL of 10,000 samples of
# the generator: paper MLE 9.038, SeqGAN 8.736, random 10.310), with our
# Transformer (relative attention, N(0,1) weights as the paper's LSTM; see the
# top of tools/oracle.c) as the oracle, over 3 seeds, with the control that
# spends the same budget with a constant reward. RESULTS.md has the numbers.
#
# Run from the project root after building (build/tunegan, build/tools/oracle):
#   bash experiments/seqgan-oracle/run.sh [WORK_DIR]          (about an hour on one thread)
#   SMOKE=1 bash experiments/seqgan-oracle/run.sh /tmp/smoke  (a minute: tiny budgets)
# Environment: BUILD (build folder, default build), ORACLE (the oracle tool,
# default $BUILD/tools/oracle), SEEDS ("1 2 3"), THREADS (1). Steps whose
# output exists are skipped, so an interrupted run continues where it stopped.
# Results: WORK_DIR/seed*/nll.jsonl (one JSON line per scored generator) and
# the runs' log.jsonl; experiments/seqgan-oracle/summarize.py tabulates them.
set -eu
. experiments/seqgan-oracle/setup.sh
work=${1:-/tmp/tg-seqgan-oracle}
build=${BUILD:-build}
bin=$build/tunegan
oracle=${ORACLE:-$build/tools/oracle}
seeds=${SEEDS:-"1 2 3"}
threads=${THREADS:-1}
for exe in "$bin" "$oracle"; do
    [ -x "$exe" ] || { echo "seqgan-oracle: $exe is not built (cmake --build $build)" >&2; exit 77; }
done
if [ "${SMOKE:-0}" = 1 ]; then
    n=300; pre_steps=30; rounds=2; d_pre=1; d_samples=32; rollouts=2; nll_n=200; seeds=${SEEDS:-1}
else
    n=10000; pre_steps=3000; rounds=60; d_pre=10; d_samples=256; rollouts=8; nll_n=10000
fi
mkdir -p "$work"
for seed in $seeds; do
    w=$work/seed$seed
    oracle_setup "$w" $seed $n $pre_steps
    adv="--corpus $w/train.corpus --init $w/mle --seq-len 21 --batch 32 --rounds $rounds --g-steps 1
         --d-pretrain $d_pre --d-steps 1 --d-epochs 3 --d-samples $d_samples --rollouts $rollouts
         --rollout-update 0.8 --kl 0 --lr-g 1e-3 --lr-d 1e-4 --seed $seed --threads $threads"
    [ -f "$w/seqgan/model.safetensors" ] || "$bin" train $adv --reward rollout -o "$w/seqgan"
    [ -f "$w/control/model.safetensors" ] || "$bin" train $adv --reward constant -o "$w/control"
    # REMEDY=1: the remedies of the issue against a phase that hurts: a KL
    # penalty to the MLE model, a learning rate ten times smaller and one
    # teacher-forced step after each update (so the control moves as well)
    if [ "${REMEDY:-0}" = 1 ]; then
        rem="$adv --kl 0.1 --lr-g 1e-4 --mle-mix 1"
        [ -f "$w/seqgan-remedy/model.safetensors" ] || "$bin" train $rem --reward rollout -o "$w/seqgan-remedy"
        [ -f "$w/control-remedy/model.safetensors" ] || "$bin" train $rem --reward constant -o "$w/control-remedy"
        if [ ! -f "$w/nll-remedy.jsonl" ]; then
            for run in seqgan-remedy control-remedy; do
                "$oracle" nll "$w/oracle.safetensors" "$w/$run" -n $nll_n --length 20 --seed $seed \
                    --threads $threads --json
            done >"$w/nll-remedy.tmp"
            mv "$w/nll-remedy.tmp" "$w/nll-remedy.jsonl"
        fi
    fi
    if [ ! -f "$w/nll.jsonl" ]; then
        nll="-n $nll_n --length 20 --seed $seed --threads $threads --json"
        {
            "$oracle" nll "$w/oracle.safetensors" --uniform $nll
            for run in mle seqgan control; do "$oracle" nll "$w/oracle.safetensors" "$w/$run" $nll; done
            # sharpening alone, for comparison: the MLE generator at lower temperatures
            for t in 0.9 0.8; do "$oracle" nll "$w/oracle.safetensors" "$w/mle" $nll --temperature $t; done
        } >"$w/nll.tmp"
        mv "$w/nll.tmp" "$w/nll.jsonl"
    fi
done
echo "results: $work/seed*/nll.jsonl and the runs' log.jsonl (summarize.py $work)"
