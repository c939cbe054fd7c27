#!/bin/sh
# Reranking bar by bar (`accompany --rerank N --rerank-by bar`;
# src/run/splice.c): every Nottingham SPLIT melody accompanied by the
# program itself, for each take seed and N, then measured as rerank_pick.py
# measures a rule's picks (harmonic fit, chord statistics, the paired fresh
# critic, critic seeds 1-3). Run from the project root:
#   sh experiments/any-track/splice.sh OUT_DIR "SEEDS" "NS" [SPLIT (test)]
# Writes OUT_DIR/splice-nN{TAG}-sS/TUNE.mid, OUT_DIR/splice-nN{TAG}-sS.log
# (the program's output) and prints one line per folder.
# EXTRA: more flags for every take (e.g. "-T 0.6 --rerank-per-token"),
# with TAG naming them in the folders.
set -eu
out=$1 seeds=$2 ns=$3 split=${4:-test}
. "$(dirname "$0")/nott_split.sh"
for n in $ns; do
    for s in $seeds; do
        c=splice-n$n${TAG:-}-s$s
        mkdir -p "$out/$c"
        : >"$out/$c.log"
        for f in $tunes; do
            "$bin" accompany "$data/melody/$f" --model "$model" -o "$out/$c/$f" --rerank "$n" --rerank-by bar \
                --seed "$s" --threads 1 ${EXTRA:-} >>"$out/$c.log" 2>&1 || echo "$c: $f failed" >&2
        done
        TUNEGAN_BIN=$bin /usr/bin/python3 experiments/any-track/measure_takes.py "$out/$c" "$out/real-$split"
    done
done
