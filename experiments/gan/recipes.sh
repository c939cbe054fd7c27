#!/bin/bash
# Issue 19, recipes: --reward bar against dense, constant and random (the
# controls) from one MLE model, with the ScratchGAN-like recipe of returns.c
# (r = 2p - 1, discount, moving-average baseline) at the same budget. A short
# run: far too short to show an effect; it checks that each recipe runs and
# gives the numbers to compare.
#   bash experiments/gan/recipes.sh [WORK_DIR]
# INIT: the MLE model (default models/mle); SEEDS, ROUNDS, RECIPES
# (default "bar dense random constant"), EXTRA (more flags for every run, e.g.
# "--ppo-epochs 2 --ppo-clip 0.2"), SHAPING (centered: r = 2p - 1; zero-mean:
# p less the batch's mean, which leaves no reward for a sequence's length), BIN (the binary; a copy keeps a long run
# safe from rebuilds), NICE (10: a long run of the lead's may take 0). Runs are
# resumable: a finished one is skipped, an interrupted one goes on (--resume).
set -eu
work=${1:-/tmp/tg-gan-recipes}
bin=${BIN:-${BUILD:-build}/tunegan}
data=${DATA:-../shared/data/nottingham}
init=${INIT:-models/mle}
seeds=${SEEDS:-"1"}
rounds=${ROUNDS:-12}
recipes=${RECIPES:-"bar dense random constant"}
mkdir -p "$work"
[ -f "$work/remi.corpus" ] || "$bin" data build -t remi --split "$data/split.tsv" -j 1 -o "$work/remi.corpus" "$data/full"
for seed in $seeds; do
    for reward in $recipes; do
        run=$work/$reward-s$seed
        [ -f "$run/done" ] && continue
        resume=""
        [ -f "$run/log.jsonl" ] && resume=--resume
        nice -n "${NICE:-10}" "$bin" train --corpus "$work/remi.corpus" --init "$init" -o "$run" $resume --reward $reward \
            --reward-shaping "${SHAPING:-centered}" --discount 0.9 --baseline ema --baseline-decay 0.9 \
            --seq-len 128 --batch 8 --rounds $rounds --g-steps 2 --d-pretrain 4 --d-steps 1 --d-epochs 2 \
            --d-samples 32 --kl 0.1 --lr-g 1e-5 --lr-d 1e-4 --eval-windows 64 --seed $seed --threads 1 ${EXTRA:-} \
            >>"$run.out" 2>&1
        touch "$run/done"
    done
done
# one line per run: the last adv and disc lines and the validation NLL before and after
for f in "$work"/*-s*/log.jsonl; do
    /usr/bin/python3 - "$f" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ev = [l["val_nll"] for l in lines if l["phase"] == "eval"]
adv = [l for l in lines if l["phase"] == "adv"]
disc = [l for l in lines if l["phase"] == "disc"]
r = sum(a["reward_mean"] for a in adv[-6:]) / len(adv[-6:])
print("%-28s updates %3d  val_nll %.4f -> %.4f  reward(last 6) %.4f  kl %.5f  entropy %.4f  d_acc %.3f" % (
    sys.argv[1].split("/")[-2], len(adv), ev[0], ev[-1], r, adv[-1]["kl"], adv[-1]["entropy"], disc[-1]["d_acc"]))
PY
done
