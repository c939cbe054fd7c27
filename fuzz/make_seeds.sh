#!/bin/sh
# make_seeds.sh: writes the seed corpora of fuzz_tok, fuzz_corpus and
# fuzz_safetensors (fuzz/corpus/<name>/seed_*) with tunegan's own code, from
# the MIDI fixtures of tests/data. Run from the source tree after a build:
#   sh fuzz/make_seeds.sh [BUILD_DIR]      (default build)
# The inputs the fuzzers crashed on, kept beside the seeds as regression
# fixtures (fuzz/corpus/<name>/crash_*, ub_*), are not touched.
set -eu
BUILD=${1:-build}
TG=$BUILD/tunegan
ORACLE=$BUILD/tools/oracle
FIX=tests/data
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for d in tok corpus safetensors; do
  mkdir -p fuzz/corpus/$d
  rm -f fuzz/corpus/$d/seed_*
done

# fuzz_tok: a selector byte (config index | 8 for lenient, fuzz_tok.c's table)
# and the ids as little-endian u16, from `tunegan tokenize --ids`; the last
# part of each name is the mode (0 strict, 8 lenient).
pack() { # SELECTOR < ids, one a line
  python3 -c 'import sys, struct; ids = [int(x) for x in sys.stdin.read().split()]
sys.stdout.buffer.write(bytes([int(sys.argv[1])]) + struct.pack("<%dH" % len(ids), *ids))' "$1"
}
k=0
for cfg in remi "remi:steps_per_quarter=4,tempo_bins=4,velocity_bins=4,max_duration_steps=8" \
           grid "grid:step_sec=0.25,pitch_min=60,pitch_max=72" \
           perf "perf:shift_ms=50,max_shift_steps=8,velocity_bins=4"; do
  for fm in format1:0 overlap:8 tempo_map_f1:0 metas:8; do
    f=${fm%:*} mode=${fm#*:}
    "$TG" tokenize --ids -t "$cfg" "$FIX/$f.mid" 2>/dev/null | pack $((k | mode)) \
      > fuzz/corpus/tok/seed_${k}_${f}_$mode
  done
  k=$((k + 1))
done
printf '1 3 4 5 6 7 2\n' | pack 6 > fuzz/corpus/tok/seed_6_raw_0

# fuzz_corpus: small corpora of a few fixtures (one of them broken: skipped)
# and of the synthetic oracle.
mkdir "$TMP/midi"
for f in format0 format1 metas overlap tempo_map_f1 program_shared bad_status; do
  cp "$FIX/$f.mid" "$TMP/midi/"
done
FIX=$TMP/midi
"$TG" data build -o fuzz/corpus/corpus/seed_remi $FIX >/dev/null 2>&1
"$TG" data build -t perf -o fuzz/corpus/corpus/seed_perf $FIX >/dev/null 2>&1
"$TG" data build -t grid -o fuzz/corpus/corpus/seed_grid $FIX >/dev/null 2>&1
"$TG" data build -t "remi:steps_per_quarter=4,max_duration_steps=8" --transpose -1..1 \
  -o fuzz/corpus/corpus/seed_remi_transposed $FIX >/dev/null 2>&1
"$ORACLE" make --vocab 5 --d-model 4 --layers 1 --heads 1 --context 4 --length 4 --seed 1 \
  -o "$TMP/oracle.safetensors" >/dev/null 2>&1
"$ORACLE" sample "$TMP/oracle.safetensors" -n 4 --length 4 --seed 2 --valid 2 \
  -o fuzz/corpus/corpus/seed_raw >/dev/null 2>&1

# fuzz_safetensors: small model checkpoints.
cp "$TMP/oracle.safetensors" fuzz/corpus/safetensors/seed_model_c4
"$ORACLE" make --vocab 3 --d-model 8 --layers 2 --heads 2 --context 6 --length 4 --seed 3 \
  -o fuzz/corpus/safetensors/seed_model_c8 >/dev/null 2>&1
ls fuzz/corpus/tok fuzz/corpus/corpus fuzz/corpus/safetensors | grep -c seed_ | sed 's/$/ seeds written/'
