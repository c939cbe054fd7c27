#!/usr/bin/env bash
# compare_binaries.sh OLD NEW: runs two tunegan binaries on the same commands
# and checks that they write the same bytes (stdout, stderr, exit status and
# every file a command writes), for a change that must not change behaviour.
# Covers the tokenizers: tokenize (names and ids), vocab (and --config),
# config strings good and bad, detokenize (strict and --lenient, of encoder
# output and of damaged sequences), data build, and generate (the bundled
# remi model, with and without a primer, and tiny grid and perf models
# trained here for a few steps). Prints one line per failure, then
# "N passed, N failed"; exits 1 when any failed.
#
# Environment: DATA (default ../shared/data beside the source tree), FILES
# (MIDI files per data set, default 30), MODEL (the remi model, default
# models/default/model.safetensors), ORACLE (tools/oracle, default beside
# NEW), KEEP=1 keeps the work folder.
# What it leaves out: times and speeds in messages (see untime), training
# itself (pretrain runs once, with NEW), render and eval.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 OLD NEW" >&2
  exit 2
fi
OLD=$(realpath "$1")
NEW=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
FILES=${FILES:-30}
MODEL=${MODEL:-$ROOT/models/default/model.safetensors}
WORK=$(mktemp -d /tmp/compare_binaries.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0

# Times and speeds in a command's messages ("0.05 s", "52.7 files/s",
# "419 tok/s", "0:00 left") become N.
untime() {
  sed -E 's#[0-9]+(\.[0-9]+)? (s\b|files/s|tok/s|ms)#N \2#g; s#[0-9]+:[0-9]+ left#N left#g' "$1" >"$1.t"
  mv "$1.t" "$1"
}

# check NAME [--timed] ARGS...: runs both binaries with ARGS in fresh
# folders $WORK/old and $WORK/new (outputs go there by relative path) and
# compares everything they wrote; with --timed, after untime on both streams.
check() {
  local name=$1
  shift
  local timed=0
  if [ "$1" = --timed ]; then
    timed=1
    shift
  fi
  local side bin
  for side in old new; do
    bin=$OLD
    [ $side = new ] && bin=$NEW
    rm -rf "$WORK/$side"
    mkdir -p "$WORK/$side"
    (cd "$WORK/$side" && "$bin" "$@" >"$WORK/$side.out" 2>"$WORK/$side.err"; echo $? >"$WORK/$side.rc")
    if [ $timed = 1 ]; then
      untime "$WORK/$side.out"
      untime "$WORK/$side.err"
    fi
  done
  local why=""
  cmp -s "$WORK/old.rc" "$WORK/new.rc" || why="$why exit($(cat "$WORK/old.rc") vs $(cat "$WORK/new.rc"))"
  cmp -s "$WORK/old.out" "$WORK/new.out" || why="$why stdout"
  cmp -s "$WORK/old.err" "$WORK/new.err" || why="$why stderr"
  diff -rq "$WORK/old" "$WORK/new" >/dev/null || why="$why files"
  if [ -z "$why" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name:$why"
  fi
}

# damage FILE: every 7th line left out, and lines 5 and 6 swapped.
damage() {
  awk 'NR % 7 != 0' "$1" | awk 'NR == 5 { held = $0; next } { print } NR == 6 { print held }'
}

mapfile -t midi < <({
  find "$DATA/nottingham/full" -name '*.mid' | sort | head -n "$FILES"
  find "$DATA/jsb-chorales" -name '*.mid' | sort | head -n "$FILES"
})
[ ${#midi[@]} -gt 0 ] || { echo "no MIDI files under $DATA" >&2; exit 2; }

# Vocabularies and config strings.
for t in remi grid perf raw 'grid:step_sec=0.25' 'remi:steps_per_quarter=4,tempo_bins=8' \
         'perf:shift_ms=8,max_shift_steps=125,velocity_bins=16' 'raw:vocab=17' \
         'remi:v=1,steps_per_quarter=12,tempo_bins=32,tempo_min_bpm=30,tempo_max_bpm=300,velocity_bins=32,max_duration_steps=96' \
         'remi:tempo_min_bpm=1e1,tempo_max_bpm=400.5' \
         foo '' ':x' 'remi:v=2' 'remi:tempo_bins=x' 'remi:bogus=1' 'remi:steps_per_quarter' \
         'remi:steps_per_quarter=' 'remi:steps_per_quarter=0' 'remi:tempo_min_bpm=nan' \
         'remi:tempo_min_bpm=500,tempo_max_bpm=400' 'grid:pitch_min=200' 'grid:step_sec=0' \
         'perf:shift_ms=0' 'perf:max_shift_steps=2000' 'perf:velocity_bins=0' 'raw:vocab=0' \
         'raw:vocab=70000' 'remi:max_duration_steps=5000' 'remi:velocity_bins=128' \
         'grid:pitch_min=60,pitch_max=59' 'remi:tempo_bins=9999999' 'averyveryverylongkindname'; do
  check "vocab -t '$t'" vocab -t "$t"
  check "vocab --config -t '$t'" vocab --config -t "$t"
done
check "vocab grid --step-sec" vocab -t grid --step-sec 0.3
check "vocab --config grid --step-sec" vocab --config -t grid --step-sec 0.3
check "vocab remi --step-sec" vocab -t remi --step-sec 0.3
check "vocab raw --step-sec" vocab -t raw --step-sec 0.3

# Tokenize, detokenize (also of damaged sequences), per file and tokenizer.
for f in "${midi[@]}"; do
  for t in remi grid perf; do
    check "tokenize -t $t $f" tokenize -t "$t" "$f"
    check "tokenize --ids -t $t $f" tokenize --ids -t "$t" "$f"
    "$NEW" tokenize -t "$t" "$f" >"$WORK/tokens.txt" 2>/dev/null
    check "detokenize -t $t $f" detokenize -t "$t" -o out.mid "$WORK/tokens.txt"
    damage "$WORK/tokens.txt" >"$WORK/damaged.txt"
    check "detokenize damaged -t $t $f" detokenize -t "$t" -o out.mid "$WORK/damaged.txt"
    check "detokenize --lenient damaged -t $t $f" detokenize --lenient -t "$t" -o out.mid "$WORK/damaged.txt"
  done
done
check "tokenize -t raw" tokenize -t raw "${midi[0]}"
check "tokenize grid --step-sec" tokenize -t grid --step-sec 0.25 "${midi[0]}"

# Corpora from a folder of files.
mkdir -p "$WORK/in"
for f in "${midi[@]:0:$FILES}"; do cp "$f" "$WORK/in/"; done
for t in remi grid perf; do
  check "data build -t $t" --timed data build -t "$t" -o x.corpus "$WORK/in"
  check "data stats -t $t" data stats "$WORK/old/x.corpus"
  "$NEW" data build -t "$t" -o "$WORK/$t.corpus" "$WORK/in" >/dev/null 2>&1
done

# Generation: the remi model, then tiny grid and perf models (trained here by NEW).
primer=${midi[0]}
primer1=${midi[$((1 % ${#midi[@]}))]}
primer2=${midi[$((2 % ${#midi[@]}))]}
check "generate remi" --timed generate -m "$MODEL" -o gen --seed 3 --num 2 --bars 4
check "generate remi primer" --timed generate -m "$MODEL" -o gen --seed 3 --num 2 --bars 4 \
  --primer "$primer" --primer-bars 2
check "generate remi primer all" --timed generate -m "$MODEL" -o gen --seed 5 --num 2 \
  --length 64 --primer "$primer1"
check "generate remi no grammar" --timed generate -m "$MODEL" -o gen --seed 4 --num 2 \
  --length 48 --no-grammar
for t in grid perf; do
  "$NEW" pretrain -c "$WORK/$t.corpus" -o "$WORK/run-$t" -p tiny --steps 2 --eval-every 2 \
    --seed 1 --threads 1 >/dev/null 2>&1 || echo "note: pretraining a $t model failed"
  m=$WORK/run-$t
  check "generate $t" --timed generate -m "$m" -o gen --seed 3 --num 2 --length 80
  check "generate $t primer" --timed generate -m "$m" -o gen --seed 3 --num 2 --length 80 \
    --primer "$primer" --primer-bars 2
  check "generate $t primer all" --timed generate -m "$m" -o gen --seed 7 --num 1 \
    --length 40 --primer "$primer2"
  check "generate $t --bars" generate -m "$m" -o gen --seed 3 --num 1 --bars 2
done

# A raw model (SeqGAN's oracle, made by tools/oracle beside NEW when built):
# generate refuses it; data stats reads its corpus.
oracle=${ORACLE:-$(dirname "$NEW")/tools/oracle}
if [ -x "$oracle" ]; then
  "$oracle" make --vocab 50 --seed 2 -n 100 -o "$WORK/oracle.safetensors" >/dev/null 2>&1
  "$oracle" sample "$WORK/oracle.safetensors" -n 40 --length 20 --seed 3 -o "$WORK/raw.corpus" \
    >/dev/null 2>&1
  check "generate raw" generate -m "$WORK/oracle.safetensors" -o gen --seed 3 --length 10
  check "data stats raw" data stats "$WORK/raw.corpus"
else
  echo "note: no oracle tool at $oracle: raw model cases left out"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
