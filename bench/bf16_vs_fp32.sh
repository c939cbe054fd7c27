#!/bin/sh
# bench/bf16_vs_fp32.sh: mixed precision (issue 17) against fp32 on this
# machine, the two interleaved run by run so that a change of load hits both:
# the bf16 products against sgemm (bench_gemm), KV-cached generation at batch
# 1 and 16 (bench_sample_speed), and a SeqGAN generator step with 16 rollouts
# of every prefix (bench_rollouts), today's way (fp32, the prefix's cache
# copied per rollout) against fp32 and bf16 with the prefix shared. Prints
# `uptime` before and after: on a shared machine read the CPU-time columns.
# The training step against PyTorch (fp32 and bf16 autocast) is
# bench/train_vs_torch.py.
#
#   bench/bf16_vs_fp32.sh [build] [repeats] [threads...]     (build 2 1 2)
set -eu
build=${1:-build}
reps=${2:-2}
[ $# -gt 2 ] && shift 2 && threads=$* || threads="1 2"
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'); $(uptime)"
grep -m1 'model name' /proc/cpuinfo
echo "bf16 features: $(grep -o -w 'avx512_bf16\|amx_bf16\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"$build/tunegan" --version | tail -1
for t in $threads; do
    echo "== matrix products, $t thread(s)"
    "$build/bench_gemm" "$t" 7
done
for r in $(seq "$reps"); do
    for t in $threads; do
        for p in fp32 bf16; do
            echo "== generation, run $r, $t thread(s), $p"
            "$build/bench_sample_speed" "$t" 128 3 cached "$p" | grep -v '^$'
        done
    done
done
echo "== SeqGAN generator step: tiny preset, B 16 x T 32, 16 rollouts of every prefix"
"$build/bench_rollouts" --header --steps 1 --rollouts 1 --seq-len 2 | head -2
for r in $(seq "$reps"); do
    for t in $threads; do
        "$build/bench_rollouts" --rollouts 16 --rollout-every 1 --steps 2 --threads "$t" --precision fp32 --copy-prefix
        "$build/bench_rollouts" --rollouts 16 --rollout-every 1 --steps 2 --threads "$t" --precision fp32
        "$build/bench_rollouts" --rollouts 16 --rollout-every 1 --steps 2 --threads "$t" --precision bf16
    done
done
echo "== $(date -u '+%H:%M UTC'); $(uptime)"
