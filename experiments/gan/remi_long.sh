#!/bin/bash
# Issue 19 on Nottingham remi at a budget that could show an effect: from
# the bundled MLE model, per-bar rewards from a causal discriminator (bar)
# against the control of the same variance (random), 400 rounds of 2 clipped
# PPO updates each (800 updates on 8 sequences of 128 tokens), three seeds;
# then every run and the MLE model through the protocol (protocol.py: 100
# pieces of 16 bars per set at T 0.8, 0.9, 1.0; the MLE model with generation
# seeds 1-3, each run with seed 1, its training seed being the replicate).
#   bash experiments/gan/remi_long.sh [WORK_DIR]
# Environment: BIN (a copy keeps a long run safe from rebuilds), SEEDS
# ("1 2 3"), ROUNDS (400), RECIPES ("bar random"), SETTINGS (T0.8,T0.9,T1.0),
# NUM (100), NICE (10), SHAPING (zero-mean; centered collapsed the random
# control: experiments/gan/RESULTS.md), D_SAMPLES (32: real openings and as
# many fresh samples a d-step; the critic recipes ran with 64), MLE (1; 0
# skips the MLE model's protocol, whose rows are in results/remi-long/).
# Training is resumable (recipes.sh); the protocol keeps
# the sample sets it has generated. The n-gram critic as D:
#   RECIPES="critic critic-random" D_SAMPLES=64 MLE=0 bash experiments/gan/remi_long.sh WORK
set -eu
work=${1:-/tmp/tg-gan-remi-long}
bin=${BIN:-build/tunegan}
seeds=${SEEDS:-"1 2 3"}
recipes=${RECIPES:-"bar random"}
settings=${SETTINGS:-T0.8,T0.9,T1.0}
num=${NUM:-100}
[ -x "$bin" ] || { echo "remi_long.sh: $bin is not built" >&2; exit 77; }
[ -d ../shared/data/nottingham/full ] || { echo "remi_long.sh: ../shared/data/nottingham not found" >&2; exit 77; }
SHAPING=${SHAPING:-zero-mean} BIN=$bin SEEDS=$seeds RECIPES=$recipes ROUNDS=${ROUNDS:-400} EXTRA="--ppo-epochs 2 --ppo-clip 0.2 --d-samples ${D_SAMPLES:-32}" \
    bash experiments/gan/recipes.sh "$work"
models=()
for s in $seeds; do
    for r in $recipes; do models+=(--model "$r-s$s=$work/$r-s$s"); done
done
[ "${MLE:-1}" = 0 ] || nice -n "${NICE:-10}" /usr/bin/python3 experiments/gan/protocol.py --bin "$bin" --model MLE=models/mle \
    --num "$num" --bars 16 --seeds 3 --settings "$settings" --work "$work/proto" --out "$work/proto-mle"
nice -n "${NICE:-10}" /usr/bin/python3 experiments/gan/protocol.py --bin "$bin" "${models[@]}" \
    --num "$num" --bars 16 --seeds 1 --settings "$settings" --work "$work/proto" --out "$work/proto-gan"
