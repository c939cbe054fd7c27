#!/bin/sh
# Issue 18, parts 2-3: whole tunes with FC-attention (Museformer's bar
# attention) against today's model and full relative attention at long
# context, on equal budgets, three seeds. Run from the project root after
# building (build/tunegan):
#   sh experiments/whole-tunes/run.sh [OUT_DIR] [STEPS] [SEEDS]
# defaults: /tmp/whole-tunes, 4000 steps, "1 2 3". BIN= names the binary (a copy
# keeps a long run safe from rebuilds). CONFIGS="fc" runs only the
# configurations named (default "today rel-long fc"); a finished run's
# training is not repeated. SMOKE=1 runs each step of the recipe at a toy
# size (4 steps, 2 samples of at most 300 tokens) to check it end to end.
#
# The three configurations (small preset: d 256, 4 layers, 4 heads):
#   today     relative attention, context 256, batch 16 (4,096 tokens a step;
#             whole tunes are seen through 256-token windows, generation slides)
#   rel-long  relative attention, context 2048, batch 4 (full attention over
#             whole tunes up to 2,048 tokens: p90 of Nottingham is 1,406; 4096
#             would need L*B*H*T*T floats = 4.3 GB of probabilities a step)
#   fc        FC-attention, context 4096, batch 4 (whole tunes up to p99 3,468;
#             windows start at a Bar; padding is not computed)
# Equal budgets: the same steps, warm-up, learning rate and seed, and about
# the same target tokens a step (16 x 256 = 4,096; 4 whole tunes ~ 3,700,
# mean 925 tokens); each run's log.jsonl records its tokens per second.
# Measures: validation and test NLL per token of whole pieces (eval --stride:
# today's model with its sliding window, stride 128; the long ones one window
# a piece), 32- and 64-bar tunes generated (temperature 1, grammar on) and
# compared with the test set (--reference) and the training set (--train,
# the verbatim 4-bar copy rate), bar similarity over 32 / 64 bars.
set -eu
out=${1:-/tmp/whole-tunes}
steps=${2:-4000}
seeds=${3:-1 2 3}
bin=${BIN:-build/tunegan}
data=../shared/data/nottingham
threads=${THREADS:-1}
n_samples=20
eval_windows=0
gen_limit=""
if [ "${SMOKE:-0}" = 1 ]; then steps=4; n_samples=2; eval_windows=4; gen_limit="--length 300"; fi
mkdir -p "$out"
corpus="$out/nott-remi-compact.corpus"
[ -f "$corpus" ] || "$bin" data build --tokenizer remi-compact --split "$data/split.tsv" \
    --threads "$threads" -o "$corpus" "$data/full"

config_flags() {
    case $1 in
    today) echo "--attention relative --context 256 --batch 16" ;;
    rel-long) echo "--attention relative --context 2048 --batch 4" ;;
    fc) echo "--attention fc --context 4096 --batch 4" ;;
    esac
}
config_stride() {
    case $1 in
    today) echo 128 ;;
    rel-long) echo 2048 ;;
    fc) echo 4096 ;;
    esac
}

for seed in $seeds; do
    for cfg in ${CONFIGS:-today rel-long fc}; do
        run="$out/$cfg-seed$seed"
        if [ ! -f "$run/model.safetensors" ]; then
            # shellcheck disable=SC2046
            "$bin" pretrain --corpus "$corpus" -o "$run" --preset small $(config_flags $cfg) \
                --steps "$steps" --warmup $((steps / 20 + 1)) --lr 5e-4 \
                --eval-every $((steps / 8 + 1)) --eval-windows "$eval_windows" --seed "$seed" --threads "$threads"
        fi
        for split in valid test; do
            "$bin" eval --model "$run" --corpus "$corpus" --split "$split" \
                --stride "$(config_stride $cfg)" --threads "$threads" --json > "$run/nll-$split.json"
        done
        for bars in 32 64; do
            gen="$run/gen-$bars"
            # shellcheck disable=SC2086
            "$bin" generate --model "$run" -o "$gen" -n "$n_samples" --bars "$bars" $gen_limit \
                --seed "$seed" --threads "$threads" --roll
            "$bin" eval --samples "$gen" --reference "$corpus:test" --train "$corpus" \
                --bars "$bars" --threads "$threads" --json > "$run/eval-$bars.json"
        done
    done
done
echo "results: $out/*/nll-*.json and $out/*/eval-*.json"
