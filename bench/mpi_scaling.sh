#!/bin/bash
# mpi_scaling.sh: data-parallel scaling of `tunegan pretrain` and `tunegan
# train` (issue 11), 1 rank against 2 ranks under mpirun, each rank with 1
# thread, on the tiny preset.
#  - pretrain: tokens/s and the share of each 2-rank step spent in
#    communication (the log's comm_ms: the gradient allreduce and the loss
#    sum, against the step time derived from tok_per_s); medians over the
#    steps after the first 5;
#  - train (the SeqGAN phase, from the 1-rank pretrain run; D without
#    dropout): seconds per round (its g-step and d-step lines' "seconds"),
#    split into the g-step (sampling, rollouts, policy gradient) and the
#    d-step, medians over the rounds; the communication share is the sum of
#    comm_ms (gradient allreduces, Q gather, loss sums) over the sum of the
#    step times.
# The corpus is ../shared/data/nottingham (remi, its split.tsv) when
# present, else the test fixtures.
#   bench/mpi_scaling.sh [BUILD_DIR] [STEPS] [BATCH] [ROUNDS]   (build, 40, 16, 4)
# On a shared machine, the figures move with the other jobs: run it more
# than once and compare medians.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
STEPS=${2:-40}
BATCH=${3:-16}
ROUNDS=${4:-4}
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

# train: ROUNDS rounds of one g-step (8 rollouts every 2nd prefix of 32
# tokens) and one d-step (32 negatives, one epoch), no MLE mix
G="--corpus $tmp/c.corpus --init $tmp/np1 --seq-len 32 --batch $BATCH --rounds $ROUNDS --d-pretrain 1 --d-steps 1 \
--d-epochs 1 --d-samples 32 --rollouts 8 --rollout-every 2 --disc-dropout 0 --eval-windows 1 --seed 1 --threads 1"
# CPU seconds (user + sys) per rank tell whether the work was shared out
# even when a loaded machine hides it in the wall time
cpu=""
[ -x /usr/bin/time ] && cpu="/usr/bin/time -a -f %U+%S"
t0=$(date +%s.%N)
$cpu ${cpu:+-o "$tmp/cpu1"} "$BIN" train $G -o "$tmp/t1" >/dev/null 2>&1
t1=$(date +%s.%N)
mpirun --oversubscribe -np 2 $cpu ${cpu:+-o "$tmp/cpu2"} "$BIN" train $G -o "$tmp/t2" >/dev/null 2>&1
t2=$(date +%s.%N)
cpu_per_rank() { # mean of the "user+sys" lines of a file, "-" without /usr/bin/time
    [ -s "$1" ] || { echo "-"; return; }
    /usr/bin/python3 -c "import sys; v=[eval(l) for l in open(sys.argv[1]) if '+' in l]; print(f'{sum(v)/len(v):.1f}')" "$1"
}

train_summary() {
    /usr/bin/python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/log.jsonl")]
rows = [r for r in rows if r["round"] >= 1 and r["phase"] in ("adv", "disc")]
def per_round(phase):
    by = {}
    for r in rows:
        if phase is None or r["phase"] == phase:
            by[r["round"]] = by.get(r["round"], 0) + r["seconds"]
    return statistics.median(by.values())
total = sum(r["seconds"] for r in rows)
comm = sum(r.get("comm_ms", 0) for r in rows) / 1e3
share = f"{100 * comm / total:.1f}" if any("comm_ms" in r for r in rows) and total > 0 else "-"
print(f"{per_round(None):.2f} {per_round('adv'):.2f} {per_round('disc'):.2f} {share}")
PY
}
read -r r1 g1 d1 _ <<<"$(train_summary "$tmp/t1")"
read -r r2 g2 d2 c2 <<<"$(train_summary "$tmp/t2")"
echo
echo "train: batch $BATCH x 32 tokens, 8 rollouts every 2nd prefix, 32 negatives per d-step, $ROUNDS rounds"
echo "| ranks | s per round (median) | g-step s | d-step s | communication share | speed-up | run wall s | CPU s per rank |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
echo "| 1 | $r1 | $g1 | $d1 | - | 1.00 | $(/usr/bin/python3 -c "print(f'{$t1 - $t0:.1f}')") | $(cpu_per_rank "$tmp/cpu1") |"
echo "| 2 | $r2 | $g2 | $d2 | $c2 % | $(/usr/bin/python3 -c "print(f'{$r1 / $r2:.2f}')") | $(/usr/bin/python3 -c "print(f'{$t2 - $t1:.1f}')") | $(cpu_per_rank "$tmp/cpu2") |"
