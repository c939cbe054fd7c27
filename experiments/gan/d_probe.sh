#!/bin/bash
# Issue 19: how many whole tunes must a discriminator see before it can tell
# the whole-tune generator's from real ones? Two probes on the same question,
# both against Nottingham's training split (the real tunes the generator
# learnt from):
#   critic   the fresh critic (tunegan critic: logistic regression on hashed
#            token 1- to 4-grams, 5-fold cross-validation) on N generated
#            tunes of 32 bars against N real ones, N = 50 ... 600, critic
#            seeds 1-3: its held-out accuracy as a function of N (a learning
#            curve of the simplest discriminator);
#   transformer  the causal FC-attention discriminator of the adversarial
#            phase, started as a copy of the generator (--disc-init
#            generator), pre-trained for D_STEPS d-steps of 16 fresh
#            generated sequences of 1,024 tokens against 16 real openings
#            (2 epochs each), no generator update; its accuracy on each fresh
#            set before training on it is logged (acc_fresh: --d-band with
#            bounds that never act, 0.001 and 0.999, turns the measure on).
#   bash experiments/gan/d_probe.sh [WORK_DIR]
# Environment: BIN (build/tunegan), MODEL (models/default), NUM (600),
# D_STEPS (120), PROBES ("critic transformer"). The tunes are generated
# at the model's card temperature (its sampling.tsv); the discriminator's
# negatives at temperature 1, as in training.
set -eu
work=${1:-/tmp/tg-d-probe}
bin=${BIN:-build/tunegan}
model=${MODEL:-models/default}
data=${DATA:-../shared/data/nottingham}
num=${NUM:-600}
d_steps=${D_STEPS:-120}
probes=${PROBES:-critic transformer}
[ -x "$bin" ] || { echo "d_probe.sh: $bin is not built" >&2; exit 77; }
[ -d "$data/full" ] || { echo "d_probe.sh: $data/full not found (../shared beside the project)" >&2; exit 77; }
mkdir -p "$work"
corpus=$work/nott-remi-compact.corpus
[ -f "$corpus" ] || "$bin" data build --tokenizer remi-compact --split "$data/split.tsv" --threads 1 \
    -o "$corpus" "$data/full" >"$work/corpus.out" 2>&1
case " $probes " in *" critic "*)
    fake=$work/fake
    [ -d "$fake" ] && [ "$(ls "$fake" | wc -l)" -ge "$num" ] \
        || "$bin" generate --model "$model" --bars 32 -n "$num" --seed 31 --threads 1 -o "$fake" >"$work/generate.out" 2>&1
    out=$work/critic-curve.tsv
    printf 'n\tseed\taccuracy\tauc\n' >"$out"
    for n in 50 100 200 400 600; do
        [ "$n" -le "$num" ] || continue
        sub=$work/f$n
        mkdir -p "$sub"
        ls "$fake" | sort | head -n "$n" | while read -r f; do ln -sf "$fake/$f" "$sub/$f"; done
        for s in 1 2 3; do
            "$bin" critic --real "$corpus:train" --fake "$sub" --tokenizer remi-compact --seed "$s" --json |
                /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print('$n\t$s\t%.4f\t%.4f' % (d['accuracy'], d['auc']))" >>"$out"
        done
    done
    cat "$out" ;;
esac
case " $probes " in *" transformer "*)
    run=$work/d-gen
    [ -f "$run/log.jsonl" ] && [ "$(grep -c '"disc"' "$run/log.jsonl")" -ge "$d_steps" ] \
        || "$bin" train --corpus "$corpus" --init "$model" -o "$run" --reward bar --reward-shaping zero-mean \
            --disc-init generator --seq-len 1024 --batch 4 --rounds 1 --d-pretrain "$d_steps" --d-steps 1 \
            --d-epochs 2 --d-samples 16 --d-band 0.001,0.999 --lr-d 1e-4 --seed 1 --threads 1 >"$work/d-gen.out" 2>&1
    # the fresh accuracy in blocks of 20 d-steps (320 negatives and as many real openings each)
    /usr/bin/python3 - "$run/log.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"phase":"disc"' in l and '"round":0' in l]
print("d-steps\tnegatives seen\tfresh accuracy (mean)\tlast d_loss")
for i in range(0, len(rows), 20):
    b = rows[i:i + 20]
    print("%d-%d\t%d\t%.3f\t%.3f" % (i + 1, i + len(b), 16 * (i + len(b)),
                                   sum(r["acc_fresh"] for r in b) / len(b), b[-1]["d_loss"]))
EOF
    ;;
esac
