#!/bin/sh
# The SeqGAN generator step and cached decoding of two builds, interleaved
# (old then new in odd rounds, new then old in even ones), one thread each,
# at one precision: the figures of bench/RESULTS.md "Issue 17/19, rollouts
# round three". Every row is bench_rollouts' (its last columns: CPU ms of the
# g-step and of the MLE step, and their ratio) or bench_sample_speed's
# cached rows (the last column: tok/CPU-s), prefixed with the build and the
# load average before the run. Two instances (fp32, bf16) may run side by
# side, one per core.
#   bench/rollouts_round3.sh OLD_BUILD NEW_BUILD fp32|bf16 [ROUNDS (2)] [FULL (1) | 0 | only]
# FULL 1 adds small (N 16, K 1), about 80 CPU-s a g-step, once (round 1),
# without the warm-up g-step; FULL only runs that.
set -eu
[ $# -ge 3 ] || { echo "usage: bench/rollouts_round3.sh OLD_BUILD NEW_BUILD fp32|bf16 [ROUNDS] [FULL]" >&2; exit 2; }
old=$1 new=$2 prec=$3 rounds=${4:-2} full=${5:-1}
for b in "$old" "$new"; do
    for p in bench_sample_speed bench_rollouts; do
        [ -x "$b/$p" ] || { echo "bench/rollouts_round3.sh: $b/$p not found: build it first" >&2; exit 1; }
    done
done
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $prec, load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL BUILD ARGS...: one bench_rollouts row of BUILD
run() {
    label=$1 b=$2
    shift 2
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$b/bench_rollouts" --threads 1 --precision "$prec" "$@" | grep '^| [a-z]' | sed "s|^|$label, load $load |"
}

# both LABEL ARGS...: the old and the new build, in the round's order
both() {
    what=$1
    shift
    if [ $((r % 2)) -eq 1 ]; then
        run "old $what" "$old" "$@"
        run "new $what" "$new" "$@"
    else
        run "new $what" "$new" "$@"
        run "old $what" "$old" "$@"
    fi
}

# decode: cached decoding, batch 1 and 16, both builds
decode() {
    for b in "$old" "$new"; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        "$b/bench_sample_speed" 1 128 3 cached "$prec" | grep -E '^\| (1|16) ' | sed "s|^|decode $b, load $load |"
    done
}

small="--preset small --batch 16 --seq-len 64"
for r in $(seq 1 "$rounds"); do
    echo "-- round $r"
    if [ "$full" != only ]; then
        decode
        both "tiny N16 K1 (issue 17's step)" --preset tiny --batch 16 --seq-len 32 --rollouts 16 --rollout-every 1 --steps 2
        if [ "$prec" = fp32 ]; then
            run "old tiny N16 K1 copied" "$old" --preset tiny --batch 16 --seq-len 32 --rollouts 16 \
                --rollout-every 1 --steps 2 --copy-prefix
        fi
        both "dense" $small --reward dense --steps 3
        both "N8 K8" $small --rollouts 8 --rollout-every 8 --steps 2
        both "N16 K4" $small --rollouts 16 --rollout-every 4 --steps 1 --warmup 0
    fi
    if [ "$full" != 0 ] && [ "$r" = 1 ]; then
        both "N16 K1" $small --rollouts 16 --rollout-every 1 --steps 1 --warmup 0
    fi
done
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%H:%M UTC')"
