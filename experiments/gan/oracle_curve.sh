#!/bin/bash
# Issue 19 on the synthetic oracle: where do the adversarial recipes land
# against the MLE model's temperature curve (NLL_oracle of the samples:
# quality, against NLL_test of held-out oracle sequences under the tempered
# generator: coverage; Caccia et al., ICLR 2020)? Same oracle, data and MLE
# generator as experiments/seqgan-oracle/run.sh (a finished run.sh or
# temperature.sh work folder is reused), then from that MLE model, at one
# budget:
#   dense     causal D read at every token, r = 2p - 1, discount 0.9, an EMA
#             baseline, 2 clipped PPO epochs a batch, KL 0.1 (ScratchGAN-like)
#   random    the control with the same flags: dense values shuffled over the batch
#   constant  the control without any reward (only the KL term moves it)
#   rollout   SeqGAN's Monte-Carlo reference (8 rollouts, every token)
#   cold      dense's flags with ColdGANs' cold exploration: the g-step's batch
#             drawn at --explore-temperature COLD_T, each token weighed by
#             p / p_T truncated at --is-clip IS_CLIP (Scialom et al. 2020)
#   cold-random  the random control with the same cold sampling
# each scored by `oracle nll --temperature T --test` at every temperature.
#   bash experiments/gan/oracle_curve.sh [WORK_DIR]
# Environment: BUILD (build), SEEDS ("1"), THREADS (1), TEMPS, ROUNDS (60),
# RECIPES ("dense random constant rollout"; also cold, cold-random), COLD_T
# (0.8), IS_CLIP (5).
# Results: WORK_DIR/curve.tsv (series, seed, T, oracle_nll, test_nll) and the
# plot WORK_DIR/curve.png.
set -eu
. experiments/seqgan-oracle/setup.sh
work=${1:-/tmp/tg-gan-oracle}
build=${BUILD:-build}
bin=$build/tunegan
oracle=${ORACLE:-$build/tools/oracle}
seeds=${SEEDS:-1}
threads=${THREADS:-1}
temps=${TEMPS:-"0.7 0.8 0.9 1.0 1.1"}
rounds=${ROUNDS:-60}
recipes=${RECIPES:-"dense random constant rollout"}
cold_t=${COLD_T:-0.8}
is_clip=${IS_CLIP:-5}
for exe in "$bin" "$oracle"; do
    [ -x "$exe" ] || { echo "oracle_curve.sh: $exe is not built (cmake --build $build)" >&2; exit 77; }
done
mkdir -p "$work"
printf 'series\tseed\ttemperature\toracle_nll\ttest_nll\n' >"$work/curve.tsv"
for seed in $seeds; do
    w=$work/seed$seed
    oracle_setup "$w" $seed 10000 3000
    common="--corpus $w/train.corpus --init $w/mle --seq-len 21 --batch 32 --rounds $rounds --g-steps 1
            --d-pretrain 10 --d-steps 1 --d-epochs 3 --d-samples 256 --lr-d 1e-4 --seed $seed --threads $threads"
    dense="--reward-shaping centered --discount 0.9 --baseline ema --baseline-decay 0.9 --ppo-epochs 2
           --ppo-clip 0.2 --kl 0.1 --lr-g 1e-4"
    for r in $recipes; do
        case $r in
        dense | random | constant) flags="$common $dense --reward $r" ;;
        cold) flags="$common $dense --reward dense --explore-temperature $cold_t --is-clip $is_clip" ;;
        cold-random) flags="$common $dense --reward random --explore-temperature $cold_t --is-clip $is_clip" ;;
        rollout) flags="$common --reward rollout --rollouts 8 --rollout-update 0.8 --kl 0.1 --lr-g 1e-4" ;;
        *) echo "oracle_curve.sh: unknown recipe $r" >&2; exit 2 ;;
        esac
        [ -f "$w/$r/model.safetensors" ] || "$bin" train $flags -o "$w/$r" >"$w/$r.out" 2>&1
    done
    for run in mle $recipes; do
        [ -f "$w/$run-curve.jsonl" ] && continue
        for t in $temps; do
            "$oracle" nll "$w/oracle.safetensors" "$w/$run" -n 10000 --length 20 --seed $seed \
                --threads $threads --temperature $t --test "$w/train.corpus" --json
        done >"$w/$run-curve.tmp"
        mv "$w/$run-curve.tmp" "$w/$run-curve.jsonl"
    done
    for run in mle $recipes; do
        /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("%s\t%s\t%g\t%.6f\t%.6f" % (sys.argv[2], sys.argv[3], r["temperature"], r["oracle_nll"], r["test_nll"]))' \
            "$w/$run-curve.jsonl" "$run" $seed >>"$work/curve.tsv"
    done
done
"$bin" plot --table "$work/curve.tsv" --x test_nll --y oracle_nll -o "$work/curve.png" || true
column -t -s "$(printf '\t')" "$work/curve.tsv"
