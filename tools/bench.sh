#!/bin/sh
# Runs the speed benchmarks of bench/ (issue 9) on one thread each, as
# bench/RESULTS.md records them: generation with the KV cache, the training
# step, and the SeqGAN generator step with rollouts against an MLE step; with
# --torch, also the comparisons with PyTorch (needs /usr/bin/python3 with torch).
# Prints the machine's load first: on a shared machine only ratios measured in
# one script mean much.
#   tools/bench.sh [build folder (build)] [--torch] [--quick]
# --quick: fewer repetitions and only the light rollout settings.
set -eu
build=build
torch=0
quick=0
for arg in "$@"; do
    case "$arg" in
    --torch) torch=1 ;;
    --quick) quick=1 ;;
    -*) echo "tools/bench.sh: unknown flag $arg" >&2; exit 2 ;;
    *) build=$arg ;;
    esac
done
here=$(dirname "$0")/..
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for b in bench_sample_speed bench_train_step bench_rollouts; do
    if [ ! -x "$build/$b" ]; then
        echo "tools/bench.sh: $build/$b not found; build first (cmake --build $build)" >&2
        exit 1
    fi
done
reps=3
steps=5
[ "$quick" = 1 ] && reps=1 && steps=2

echo "== $(date '+%Y-%m-%d %H:%M'), $(getconf _NPROCESSORS_ONLN) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/tunegan" --version 2>/dev/null | grep 'matrix products' || true

echo "== generation with the KV cache (small preset, 1 thread)"
"$build/bench_sample_speed" 1 255 "$reps" cached

echo "== training step (batch 16, 1 thread)"
for preset in tiny small; do
    for attn in relative absolute; do
        "$build/bench_train_step" "$preset" "$attn" 16 "$steps" 1
    done
done

echo "== SeqGAN generator step with rollouts against an MLE step (batch 16, T 32, 1 thread)"
header=--header
settings="tiny:4:16 tiny:16:16 small:4:16"
[ "$quick" = 1 ] || settings="$settings tiny:4:1 tiny:16:1 small:16:16 small:4:1"
for s in $settings; do
    IFS=: read -r preset n k <<END
$s
END
    "$build/bench_rollouts" $header --preset "$preset" --rollouts "$n" --rollout-every "$k" --steps "$steps" --threads 1
    header=
done

if [ "$torch" = 1 ]; then
    echo "== against PyTorch (1 thread each)"
    /usr/bin/python3 "$here/bench/sample_vs_torch.py" --build "$build" --new 255 --reps "$reps" --threads 1
    /usr/bin/python3 "$here/bench/train_vs_torch.py" --build "$build" --preset small --steps "$steps" --threads 1
fi
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
