#!/bin/sh
# bf16 keys and values in cached decoding (issue 17): two builds (before:
# fp32 cache in both precisions; after: bf16 cache for bf16 models)
# interleaved, one thread each, old then new in odd rounds and new then old
# in even ones. Rows: bench_sample_speed's cached rows (batch 1 and 16; the
# last column is tok/CPU-s, the process's CPU time) in fp32 and bf16, and
# issue 17's tiny g-step in bf16 (bench_rollouts; its last columns are the
# CPU ms of the g-step and of the MLE step), each prefixed with the build and
# the load average before it. bench/RESULTS.md "Issue 17: bf16 keys and
# values in decoding".
#   bench/kv_bf16.sh OLD_BUILD NEW_BUILD [ROUNDS (3)] [GSTEP_ROUNDS (2)]
set -eu
[ $# -ge 2 ] || { echo "usage: bench/kv_bf16.sh OLD_BUILD NEW_BUILD [ROUNDS] [GSTEP_ROUNDS]" >&2; exit 2; }
old=$1 new=$2 rounds=${3:-3} grounds=${4:-2}
for b in "$old" "$new"; do
    for p in bench_sample_speed bench_rollouts; do
        [ -x "$b/$p" ] || { echo "bench/kv_bf16.sh: $b/$p not found: build it first" >&2; exit 1; }
    done
done
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# decode LABEL BUILD: cached decoding, batch 1 and 16, fp32 then bf16
decode() {
    for prec in fp32 bf16; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        "$2/bench_sample_speed" 1 128 3 cached "$prec" | grep -E '^\| (1|16) |of which|run state' |
            sed "s|^|$1 $prec, load $load |"
    done
}

# gstep LABEL BUILD: issue 17's tiny g-step in bf16
gstep() {
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$2/bench_rollouts" --preset tiny --batch 16 --seq-len 32 --rollouts 16 --rollout-every 1 \
        --steps 2 --precision bf16 --threads 1 | grep '^| [a-z]' | sed "s|^|$1 g-step bf16, load $load |"
}

r=1
while [ "$r" -le "$rounds" ]; do
    echo "-- round $r, $(date -u '+%H:%M')"
    if [ $((r % 2)) -eq 1 ]; then first=$old flabel=before second=$new slabel=after
    else first=$new flabel=after second=$old slabel=before; fi
    decode "$flabel" "$first"
    decode "$slabel" "$second"
    if [ "$r" -le "$grounds" ]; then
        gstep "$flabel" "$first"
        gstep "$slabel" "$second"
    fi
    r=$((r + 1))
done
echo "== done $(date -u '+%H:%M UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
