#!/bin/sh
# Reranking by the model itself (`accompany --rerank`, `infill --rerank`;
# src/run/channel.c): candidates drawn once, every rule and N measured on
# them. `--num C --scores` writes the C candidates that `--rerank C` draws
# (sample i's stream is seeded from (seed, i) in both) with their scores;
# rerank_pick.py keeps, per tune, the best of the first N under a rule, so
# the first N candidates are exactly what `--rerank N` would draw, and the
# rule "channel" is its default choice (RESULTS.md: the real flag wrote the
# same files on the tunes checked; test_channel checks it in general). Run
# from the project root:
#   sh experiments/any-track/rerank.sh acc|infill OUT_DIR "SEEDS" "TEMPS" [C (8)] [SPLIT (test)]
# acc:    every Nottingham SPLIT melody (melody/) accompanied;
# infill: bars 5-8 of every SPLIT tune (full/) written again.
# Writes OUT_DIR/MODE-tT-sS/cand/TUNE-00k.mid and OUT_DIR/MODE-tT-sS.log.
# EXTRA: more flags for every take (e.g. "--pitch-temperature 0.4"), with
# TAG naming them in the folders (MODE-tT{TAG}-sS, e.g. TAG=-p0.4).
set -eu
mode=$1 out=$2 seeds=$3 temps=$4 C=${5:-8} split=${6:-test}
. "$(dirname "$0")/nott_split.sh"
for T in $temps; do
    for s in $seeds; do
        c=$mode-t$T${TAG:-}-s$s
        [ "$split" = test ] || c=$c-$split
        mkdir -p "$out/$c/cand"
        : >"$out/$c.log"
        for f in $tunes; do
            if [ "$mode" = acc ]; then
                set -- accompany "$data/melody/$f"
            else
                set -- infill "$data/full/$f" --bars 5-8
            fi
            "$bin" "$@" --model "$model" -o "$out/$c/cand/$f" --num "$C" --rerank 1 --scores --seed "$s" -T "$T" \
                --threads 1 ${EXTRA:-} >>"$out/$c.log" 2>/dev/null || echo "$c: $f failed" >&2
        done
        echo "$c: $(ls "$out/$c/cand" | wc -l) candidates"
    done
done
