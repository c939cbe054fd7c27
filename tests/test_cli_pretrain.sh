#!/bin/bash
# test_cli_pretrain.sh: `tunegan pretrain` on a corpus built from the fixtures
# with a micro model: it writes a checkpoint, an optimizer state and a log;
# 3 steps, then 3 more resumed, give the same files byte for byte as 6 steps
# in one run; the run folder's files are those of its one checkpoint folder
# (checkpoints/step-0000006, src/train/ckpt.h), and --resume in a folder
# without a complete checkpoint starts over; the log has mle and eval lines; `tunegan plot` draws it; bad
# input (no corpus, a damaged checkpoint, an existing run) is a clear error.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_pretrain.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

fixture_midi format0.mid format1.mid format2.mid running_status.mid tempo_map_f1.mid overlap.mid
# every piece in train except one in valid, so both splits exist
fixture_split
run 0 "data build" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"

M="--corpus $tmp/c.corpus --d-model 32 --layers 1 --heads 2 --context 32 --batch 3 --steps 6 --eval-every 4 --warmup 2 --seed 5 --threads 1"
run 0 "pretrain 6 steps" "$BIN" pretrain $M -o "$tmp/one"
for f in model.safetensors optimizer.safetensors log.jsonl; do
    if [ -s "$tmp/one/$f" ]; then ok; else fail "pretrain wrote no $f"; fi
done
# the files are those of the last checkpoint folder, the only one left
[ "$(ls "$tmp/one/checkpoints")" = step-0000006 ] && ok || fail "checkpoints: $(ls "$tmp/one/checkpoints")"
for f in model.safetensors optimizer.safetensors; do
    [ "$tmp/one/$f" -ef "$tmp/one/checkpoints/step-0000006/$f" ] || cmp -s "$tmp/one/$f" "$tmp/one/checkpoints/step-0000006/$f" &&
        ok || fail "$f is not the checkpoint's"
done
if grep -q '"seed 5' "$tmp/err" || grep -q 'seed 5' "$tmp/err"; then ok; else fail "the seed is not printed"; fi
mle=$(grep -c '"phase":"mle"' "$tmp/one/log.jsonl")
evl=$(grep -c '"phase":"eval"' "$tmp/one/log.jsonl")
[ "$mle" -eq 6 ] && ok || fail "log has $mle mle lines, want 6"
[ "$evl" -eq 2 ] && ok || fail "log has $evl eval lines, want 2 (steps 4 and 6)"
grep -q '"val_nll":[0-9]' "$tmp/one/log.jsonl" && ok || fail "no val_nll in the log"

run 0 "pretrain stopped at 3" "$BIN" pretrain $M -o "$tmp/two" --stop-at 3
run 0 "pretrain resumed" "$BIN" pretrain $M -o "$tmp/two" --resume
for f in model.safetensors optimizer.safetensors; do
    if cmp -s "$tmp/one/$f" "$tmp/two/$f"; then ok; else fail "resumed $f differs from the uninterrupted run"; fi
done
if diff <(sed 's/,"tok_per_s":[0-9.e+-]*//' "$tmp/one/log.jsonl") <(sed 's/,"tok_per_s":[0-9.e+-]*//' "$tmp/two/log.jsonl") >/dev/null 2>&1; then ok
else fail "resumed log differs from the uninterrupted run's"; fi

run 0 "relative vs absolute: absolute runs" "$BIN" pretrain $M -o "$tmp/abs" --attention absolute

# Ctrl-C: a long run interrupted saves a checkpoint and exits 0
"$BIN" pretrain $M -o "$tmp/int" --steps 1000000 --eval-every 1000000 >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -s "$tmp/int/log.jsonl" ] && break
    sleep 0.5
done
kill -INT $pid
wait $pid
st=$?
[ "$st" -eq 0 ] && ok || fail "interrupted pretrain exited $st, want 0"
grep -q "stopped at step" "$tmp/int.out" && ok || fail "interrupted pretrain did not say where it stopped"
[ -s "$tmp/int/model.safetensors" ] && ok || fail "interrupted pretrain saved no checkpoint"

# errors
run 1 "existing run without --resume" "$BIN" pretrain $M -o "$tmp/one"
has_err "already holds a run" "existing run"
run 1 "missing corpus" "$BIN" pretrain --corpus "$tmp/none.corpus" -o "$tmp/x"
has_err "none.corpus" "missing corpus"
run 1 "bad number" "$BIN" pretrain $M -o "$tmp/y" --lr 1e-3x
has_err "--lr" "bad number"
# a resume reads the newest checkpoint folder (not the run folder's links)
rm "$tmp/two/model.safetensors"
head -c 300 "$tmp/one/model.safetensors" >"$tmp/two/checkpoints/step-0000006/model.safetensors.new"
mv "$tmp/two/checkpoints/step-0000006/model.safetensors.new" "$tmp/two/checkpoints/step-0000006/model.safetensors"
run 1 "damaged checkpoint on resume" "$BIN" pretrain $M -o "$tmp/two" --resume --steps 8
has_err "step-0000006/model.safetensors" "damaged checkpoint"
# killed before its first checkpoint: --resume starts over
mkdir -p "$tmp/early/checkpoints/step-0000004.tmp.999999999"
run 0 "resume without a checkpoint" "$BIN" pretrain $M -o "$tmp/early" --resume
has_err "starting the run over" "resume without a checkpoint"
cmp -s "$tmp/one/model.safetensors" "$tmp/early/model.safetensors" && ok || fail "the run started over differs"
[ -e "$tmp/early/checkpoints/step-0000004.tmp.999999999" ] && fail "a dead process's leftover stays" || ok
run 1 "heads not dividing d-model" "$BIN" pretrain $M -o "$tmp/z" --heads 3
has_err "divisible" "heads"

# the curves
if "$BIN" --version | grep -q cairo; then
    run 0 "plot" "$BIN" plot "$tmp/one"
    if [ "$(head -c 4 "$tmp/one/curves.png" | od -An -c | tr -d ' ')" = '211PNG' ]; then ok; else fail "curves.png is not a PNG"; fi
    run 1 "plot of a folder without a log" "$BIN" plot "$tmp/midi"
    has_err "log" "plot without log"
fi

finish test_cli_pretrain
