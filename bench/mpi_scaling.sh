#!/bin/bash
# mpi_scaling.sh: data-parallel scaling of `tunegan pretrain` (issue 11):
# tokens/s with 1 rank and with 2 ranks under mpirun, each rank with 1
# thread, on the tiny preset, and the share of each 2-rank step spent in
# communication (the log's comm_ms: the gradient allreduce and the loss sum,
# against the step time derived from tok_per_s). Medians over the steps after
# the first 5. The corpus is ../shared/data/nottingham (remi, its split.tsv)
# when present, else the test fixtures.
#   bench/mpi_scaling.sh [BUILD_DIR] [STEPS] [BATCH]     (build, 40, 16)
# On a shared machine, the figures move with the other jobs: run it more
# than once and compare medians.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
STEPS=${2:-40}
BATCH=${3:-16}
BIN=$BUILD/tunegan
command -v mpirun >/dev/null || { echo "mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
"$BIN" --version | grep -q mpi || { echo "$BIN was built without MPI" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d /tmp/tg_mpi_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

NOTT=$SRC/../shared/data/nottingham
if [ -d "$NOTT/full" ] && [ -f "$NOTT/split.tsv" ]; then
    "$BIN" data build --tokenizer remi --split "$NOTT/split.tsv" -o "$tmp/c.corpus" "$NOTT/full" 2>/dev/null
    what="nottingham (remi)"
else
    mkdir "$tmp/midi"
    cp "$SRC"/tests/data/format1.mid "$SRC"/tests/data/tempo_map_f1.mid "$SRC"/tests/data/overlap.mid "$tmp/midi/"
    "$BIN" data build --tokenizer remi -o "$tmp/c.corpus" "$tmp/midi" 2>/dev/null
    what="test fixtures (nottingham not found)"
fi
A="--corpus $tmp/c.corpus --preset tiny --batch $BATCH --steps $STEPS --eval-every 100000 --eval-windows 1 --seed 1 --threads 1"
"$BIN" pretrain $A -o "$tmp/np1" >/dev/null 2>&1
mpirun --oversubscribe -np 2 "$BIN" pretrain $A -o "$tmp/np2" >/dev/null 2>&1

summary() {
    /usr/bin/python3 - "$1" "$BATCH" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/log.jsonl")]
rows = [r for r in rows if r["phase"] == "mle"][5:]
tps = statistics.median(r["tok_per_s"] for r in rows)
T = 128  # the tiny preset's context
step_ms = statistics.median(int(sys.argv[2]) * T / r["tok_per_s"] * 1e3 for r in rows)
comm = [r["comm_ms"] for r in rows if "comm_ms" in r]
if comm:
    c = statistics.median(comm)
    print(f"{tps:.0f} {step_ms:.1f} {c:.2f} {100 * c / step_ms:.1f}")
else:
    print(f"{tps:.0f} {step_ms:.1f} - -")
PY
}
read -r t1 s1 _ _ <<<"$(summary "$tmp/np1")"
read -r t2 s2 c2 p2 <<<"$(summary "$tmp/np2")"
params=$("$BIN" pretrain $A -o "$tmp/p" --steps 1 2>&1 | sed -n 's/.*model: \([0-9]*\) parameters.*/\1/p')
echo "corpus: $what; tiny preset ($params parameters, gradient block $((params * 4 / 1024)) KiB), batch $BATCH x 128 tokens, $STEPS steps, 1 thread per rank"
echo "| ranks | tok/s (median) | step ms | allreduce ms | communication share | speed-up |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| 1 | $t1 | $s1 | - | - | 1.00 |"
echo "| 2 | $t2 | $s2 | $c2 | $p2 % | $(/usr/bin/python3 -c "print(f'{$t2 / $t1:.2f}')") |"
