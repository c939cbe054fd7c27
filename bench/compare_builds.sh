#!/bin/sh
# Times two builds of tunegan against each other on the benchmarks of
# tools/bench.sh (generation with the KV cache, the training step, a SeqGAN
# generator step with rollouts), one thread each, alternating old and new
# runs so that both see the same load. Prints each figure of both builds and
# their ratio new/old. For a change that must not alter speed (a refactor):
# ratios near 1 within the run-to-run spread, which the repeated rounds show.
#   bench/compare_builds.sh OLD_BUILD NEW_BUILD [ROUNDS (2)]
set -eu
[ $# -ge 2 ] || { echo "usage: bench/compare_builds.sh OLD_BUILD NEW_BUILD [ROUNDS]" >&2; exit 2; }
old=$1 new=$2 rounds=${3:-2}
for b in "$old" "$new"; do
    for p in bench_sample_speed bench_train_step bench_rollouts; do
        [ -x "$b/$p" ] || { echo "bench/compare_builds.sh: $b/$p not found: build it first" >&2; exit 1; }
    done
done
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date '+%Y-%m-%d %H:%M'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# figure BUILD WHAT: one number of one benchmark, CPU-time rates where the
# benchmark prints them (steadier than wall time on a shared machine).
cell() { awk -F'|' -v row="$1" -v col="$2" '$2 ~ "^ *"row" *$" {gsub(/^ +| +$/, "", $(col + 1)); split($(col + 1), f, " "); print f[1]}'; }
figure() {
    case $2 in
    cached1) "$1/bench_sample_speed" 1 128 3 cached | cell 1 7 ;;
    cached16) "$1/bench_sample_speed" 1 128 3 cached | cell 16 7 ;;
    generate16) "$1/bench_sample_speed" 1 128 3 all | cell 16 6 ;;
    train_rel) "$1/bench_train_step" small relative 16 3 1 | sed 's/.*"tok_per_cpu_s":\([0-9.]*\).*/\1/' ;;
    train_abs) "$1/bench_train_step" small absolute 16 3 1 | sed 's/.*"tok_per_cpu_s":\([0-9.]*\).*/\1/' ;;
    rollouts) "$1/bench_rollouts" --preset tiny --rollouts 16 --rollout-every 4 --steps 2 --threads 1 |
        awk -F'|' '$2 ~ /tiny/ {split($8, f, " "); print f[1]}' ;;
    esac
}

# what is measured, and its unit
unit() {
    case $1 in
    cached1) echo "cached decoding, batch 1, tok/CPU-s" ;;
    cached16) echo "cached decoding, batch 16, tok/CPU-s" ;;
    generate16) echo "sample_generate end to end, batch 16, tok/s" ;;
    train_rel) echo "training step, small relative, batch 16, tok/CPU-s" ;;
    train_abs) echo "training step, small absolute, batch 16, tok/CPU-s" ;;
    rollouts) echo "SeqGAN generator step, tiny, 16 rollouts every 4th prefix, ms (lower is faster)" ;;
    esac
}

for r in $(seq 1 "$rounds"); do
    for what in cached1 cached16 generate16 train_rel train_abs rollouts; do
        a=$(figure "$old" "$what")
        b=$(figure "$new" "$what")
        printf '%s, round %d: old %s | new %s' "$(unit "$what")" "$r" "$a" "$b"
        awk -v a="$a" -v b="$b" 'BEGIN {if (a > 0) printf " | new/old %.3f\n", b / a; else print ""}'
    done
done
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
