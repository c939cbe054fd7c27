#!/bin/sh
# Issue 18's goal measure: 100 tunes of 32 bars per model and temperature,
# generated with seed 21 and compared with the test split (bar-similarity
# profile and error, verbatim 4-bar copies against the training split):
#   sh experiments/whole-tunes/sweep.sh CORPUS RUN_DIR [RUN_DIR ...]
# writes RUN_DIR/sweep-T{0.8,0.9,1.0}/ (MIDI) and RUN_DIR/sweep-T*.json
# (tunegan eval --json); TEMPS="0.8 0.9 1.0" and NUM=100 by default;
# TOPPS="0.9 0.95" adds nucleus sampling (RUN_DIR/sweep-T1.0-p0.9/, ...;
# 1 = off, the default, keeps the plain names); SEED (21) draws another set
# (RUN_DIR/sweep-T1.0-s22/, ...: the spread of the measure over generation
# seeds). EXTRA adds flags to generate (e.g. "--pitch-temperature 0.5"),
# with TAG naming them in the folders (RUN_DIR/sweep-T0.95{TAG}/, e.g.
# TAG=-pt0.5).
# summarize.py --sweep RUN_DIR ... tabulates them.
set -eu
bin=${BIN:-build/tunegan}
corpus=$1
shift
for run in "$@"; do
    for T in ${TEMPS:-0.8 0.9 1.0}; do
      for P in ${TOPPS:-1}; do
        g=$run/sweep-T$T${TAG:-}
        [ "$P" = 1 ] || g=$g-p$P
        [ "${SEED:-21}" = 21 ] || g=$g-s$SEED
        [ -f "$g.json" ] && continue
        "$bin" generate --model "$run" -o "$g" -n "${NUM:-100}" --bars 32 --temperature "$T" --top-p "$P" \
            --seed "${SEED:-21}" --threads 1 ${EXTRA:-} >/dev/null 2>"$g.log"
        "$bin" eval --samples "$g" --reference "$corpus:test" --train "$corpus" --bars 32 --threads 1 \
            --json >"$g.json.tmp"
        mv "$g.json.tmp" "$g.json"
        echo "$run T$T top-p $P seed ${SEED:-21} done"
      done
    done
done
