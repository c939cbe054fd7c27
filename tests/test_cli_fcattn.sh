#!/bin/bash
# test_cli_fcattn.sh: FC-attention from the command line, on a remi-compact
# corpus built from the fixtures with a micro model: `pretrain --attention
# fc` writes a checkpoint whose config says fc with its distances and the
# corpus's Bar id; 3 steps then 3 resumed give the 6-step run's files byte
# for byte; `generate` decodes from it (cached fc decoding) into MIDI files
# without a sliding window; `eval` scores it; a corpus without Bar tokens
# (grid) and a bad distance list are clear errors.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_fcattn.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

fixture_midi format0.mid format1.mid format2.mid running_status.mid tempo_map_f1.mid overlap.mid
fixture_split
run 0 "data build" "$BIN" data build --tokenizer remi-compact --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"
run 0 "grid corpus" "$BIN" data build --tokenizer grid --split "$tmp/split.tsv" -o "$tmp/g.corpus" "$tmp/midi"

M="--corpus $tmp/c.corpus --attention fc --fc-distances 1,2,4 --d-model 32 --layers 1 --heads 2 --context 96 --batch 3 --steps 6 --eval-every 4 --warmup 2 --seed 5 --threads 1"
run 0 "pretrain fc 6 steps" "$BIN" pretrain $M -o "$tmp/one"
[ -s "$tmp/one/model.safetensors" ] && ok || fail "pretrain fc wrote no checkpoint"
# the config in the checkpoint's header: fc, the distances, a Bar id
head -c 4096 "$tmp/one/model.safetensors" | grep -aq 'attention\\":\\"fc\\"' && ok ||
    fail "the checkpoint's config does not say fc"
head -c 4096 "$tmp/one/model.safetensors" | grep -aq 'fc_distances\\":\\"1,2,4\\"' && ok ||
    fail "the checkpoint's config lacks the distances"
head -c 4096 "$tmp/one/model.safetensors" | grep -aq 'fc_bar_token\\":[0-9]' && ok ||
    fail "the checkpoint's config lacks the Bar id"
grep -q '"val_nll":[0-9]' "$tmp/one/log.jsonl" && ok || fail "no val_nll in the log"

run 0 "pretrain fc stopped at 3" "$BIN" pretrain $M -o "$tmp/two" --stop-at 3
run 0 "pretrain fc resumed" "$BIN" pretrain $M -o "$tmp/two" --resume
for f in model.safetensors optimizer.safetensors; do
    cmp -s "$tmp/one/$f" "$tmp/two/$f" && ok || fail "resumed $f differs from the uninterrupted run"
done

run 0 "generate from fc" "$BIN" generate --model "$tmp/one" -o "$tmp/gen" -n 2 -b 2 --length 60 --seed 3 --threads 1
for f in sample-000.mid sample-001.mid; do
    [ "$(head -c 4 "$tmp/gen/$f")" = MThd ] && ok || fail "generate wrote no MIDI $f"
done
has_out "window slid 0 times" "generate fc"
has_err "fc attention" "generate fc names its attention"

run 0 "eval fc" "$BIN" eval --model "$tmp/one" --corpus "$tmp/c.corpus" --split valid --threads 1 --json
has_out '"nll":' "eval fc"

run 1 "fc on a corpus without bars" "$BIN" pretrain $M -o "$tmp/grid" --corpus "$tmp/g.corpus"
has_err "Bar tokens" "fc without bars"
run 1 "bad distances" "$BIN" pretrain $M -o "$tmp/bad" --fc-distances 4,2
has_err "fc-distances" "bad distances"

finish test_cli_fcattn
