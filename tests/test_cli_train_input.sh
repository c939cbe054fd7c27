#!/bin/bash
# test_cli_train_input.sh: the training and sampling commands against bad
# input. A checkpoint holding one NaN or infinity is refused at load, naming
# the file, the tensor and the index (pretrain --init and --resume, generate,
# train --init); a loss or gradient norm that turns non-finite stops pretrain
# and train with a message naming the step, exit status 1, and no checkpoint
# of the bad state; size flags refuse 0 (-1 is the preset's); --threads above
# the core count is capped with a warning.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_train_input.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skipped: $PY is needed to edit a checkpoint"; exit 77; }

# poke FILE TENSOR INDEX VALUE: writes one float32 into a safetensors file
poke() {
    "$PY" - "$@" <<'EOF'
import json, struct, sys
path, name, index, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
at = 8 + n + json.loads(b[8:8 + n])[name]["data_offsets"][0] + 4 * index
b[at:at + 4] = struct.pack("<f", value)
open(path, "wb").write(b)
EOF
}

fixture_midi format0.mid format1.mid format2.mid running_status.mid tempo_map_f1.mid overlap.mid
fixture_split
run 0 "data build" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"
M="--corpus $tmp/c.corpus --d-model 32 --layers 1 --heads 2 --context 32 --batch 3 --eval-every 4 --warmup 2 --seed 5 --threads 1"
run 0 "pretrain" "$BIN" pretrain $M --steps 4 -o "$tmp/pre"

# one NaN, one infinity: refused at load with the file, tensor and index
cp "$tmp/pre/model.safetensors" "$tmp/nan.safetensors"
poke "$tmp/nan.safetensors" blocks.0.attn.qkv.weight 17 nan
run 1 "generate from a model with a NaN" "$BIN" generate --model "$tmp/nan.safetensors" -o "$tmp/gen" -n 1 --length 8 --seed 1 --threads 1
has_err "nan.safetensors: tensor 'blocks.0.attn.qkv.weight' holds a NaN at index 17: the model is damaged" "NaN weight"
[ -e "$tmp/gen/sample-000.mid" ] && fail "a sample was written from a damaged model" || ok
run 1 "pretrain --init from a model with a NaN" "$BIN" pretrain $M --steps 4 --init "$tmp/nan.safetensors" -o "$tmp/p2"
has_err "holds a NaN at index 17" "NaN weight, --init"
run 1 "train --init from a model with a NaN" "$BIN" train --corpus "$tmp/c.corpus" --init "$tmp/nan.safetensors" -o "$tmp/t0" --threads 1
has_err "holds a NaN at index 17" "NaN weight, train --init"
mkdir -p "$tmp/res"
cp "$tmp/pre/"*.safetensors "$tmp/pre/log.jsonl" "$tmp/res/"
poke "$tmp/res/optimizer.safetensors" lnf.bias.exp_avg_sq 3 inf
run 1 "resume with an infinity in the optimizer state" "$BIN" pretrain $M --steps 8 --resume -o "$tmp/res"
has_err "optimizer.safetensors: tensor 'lnf.bias.exp_avg_sq' holds an infinity at index 3: the optimizer state is damaged" "inf moment"

# a finite but huge weight: the loss is NaN at the first step, nothing is saved
cp "$tmp/pre/model.safetensors" "$tmp/huge.safetensors"
poke "$tmp/huge.safetensors" lnf.weight 0 3e38
run 1 "pretrain whose loss is NaN" "$BIN" pretrain $M --steps 8 --init "$tmp/huge.safetensors" -o "$tmp/p3"
has_err "step 1: the loss is not finite" "NaN loss"
[ -e "$tmp/p3/model.safetensors" ] && fail "a checkpoint of a NaN step was saved" || ok
# its log still parses: the NaN step's numbers are null, not nan
grep -q '"loss":null' "$tmp/p3/log.jsonl" && ! grep -qiE ':-?(nan|inf)' "$tmp/p3/log.jsonl" && ok ||
    fail "the log of the NaN step is not JSON: $(tail -1 "$tmp/p3/log.jsonl")"
# a finite loss whose gradient norm is not: four final biases of 3e38 make
# logits near 1e37 (a finite loss) and four gradients of the tied embedding
# near 3e38 each, whose norm is past the largest float
cp "$tmp/pre/model.safetensors" "$tmp/big.safetensors"
for i in 0 1 2 3; do poke "$tmp/big.safetensors" lnf.bias $i 3e38; done
run 1 "pretrain whose gradient norm is infinite" "$BIN" pretrain $M --steps 8 --init "$tmp/big.safetensors" -o "$tmp/p4"
has_err "step 1: the gradient norm is not finite" "infinite gradient norm"
[ -e "$tmp/p4/model.safetensors" ] && fail "a checkpoint of a step with an infinite gradient norm was saved" || ok
# a resumed run that diverges keeps the checkpoint it resumed from
mkdir -p "$tmp/res2"
cp "$tmp/pre/"*.safetensors "$tmp/pre/log.jsonl" "$tmp/res2/"
poke "$tmp/res2/model.safetensors" lnf.weight 0 3e38
cp "$tmp/res2/model.safetensors" "$tmp/res2.model"
cp "$tmp/res2/optimizer.safetensors" "$tmp/res2.optim"
run 1 "resumed pretrain whose loss is NaN" "$BIN" pretrain $M --steps 8 --resume -o "$tmp/res2"
has_err "step 5: the loss is not finite" "NaN loss after resume"
cmp -s "$tmp/res2/model.safetensors" "$tmp/res2.model" && ok || fail "the last good model checkpoint was overwritten"
cmp -s "$tmp/res2/optimizer.safetensors" "$tmp/res2.optim" && ok || fail "the last good optimizer state was overwritten"

# SeqGAN: the generator's first policy-gradient step is NaN
mkdir -p "$tmp/preh"
cp "$tmp/huge.safetensors" "$tmp/preh/model.safetensors"
A="--corpus $tmp/c.corpus --seq-len 16 --batch 4 --rounds 2 --d-pretrain 2 --d-steps 1 --d-epochs 1 --d-samples 8
   --rollouts 3 --rollout-every 2 --disc-d-model 32 --disc-layers 1 --disc-heads 2 --mle-mix 1 --seed 3 --threads 1"
run 1 "train whose policy-gradient loss is NaN" "$BIN" train $A --init "$tmp/preh" -o "$tmp/adv"
has_err "phase 2, G step 1: the loss is not finite" "NaN policy gradient"
grep -aq '"cursor":"1"' "$tmp/adv/model.safetensors" && ok || fail "the checkpoint is not phase 1's"
grep -qiE ':-?(nan|inf)' "$tmp/adv/log.jsonl" && fail "the SeqGAN log holds a bare nan/inf" || ok

# sizes: 0 is refused, -1 is the preset's
for f in d-model layers heads context ff-mult; do
    run 1 "--$f 0" "$BIN" pretrain $M --steps 4 -o "$tmp/z" --$f 0
    has_err "--$f 0 is not a size" "--$f 0"
done
[ -e "$tmp/z" ] && fail "a run folder was made for --d-model 0" || ok
run 1 "--disc-heads 0" "$BIN" train $A --init "$tmp/pre" -o "$tmp/z" --disc-heads 0
has_err "--disc-heads 0 is not a size" "--disc-heads 0"
run 0 "--d-model -1 is the preset's" "$BIN" pretrain --corpus "$tmp/c.corpus" --preset tiny --d-model -1 --context 16 \
    --batch 2 --steps 1 --eval-every 1 --warmup 0 --seed 1 --threads 1 -o "$tmp/tiny"

# --threads above the cores: capped with one line
cores=$(getconf _NPROCESSORS_ONLN)
run 0 "pretrain --threads 1000" "$BIN" pretrain $M --steps 1 -o "$tmp/thr" --threads 1000
has_err "--threads 1000 is more than the $cores cores here: using $cores" "threads capped"
n=$(grep -c "cores here" "$tmp/err")
[ "$n" -eq 1 ] && ok || fail "the cap is said $n times"

finish test_cli_train_input
