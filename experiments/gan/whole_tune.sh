#!/bin/bash
# Issue 19, part 2 on real music: the adversarial phase on whole tunes. The
# generator is the whole-tunes model (FC-attention, context 4,096,
# remi-compact; models/whole-tunes), the discriminator a causal FC-attention
# Transformer that reads the same whole tunes, started as a copy of the
# generator (--disc-init generator), so that
# a phrase coming back 8 bars later is something it can see and reward. Per
# recipe, from the same MLE model, at one budget:
#   bar       D's p(real) at the last token of every bar, given to the bar's
#             tokens, r = 2p - 1, discount 0.9, EMA baseline, 2 clipped PPO
#             epochs a batch, KL 0.1
#   dense     the same read at every token
#   random    the control: the dense values shuffled over the batch
#   constant  the control without any reward; with r = 2p - 1 its reward is 0
#             and it stays the MLE model bit for bit (experiments/gan/RESULTS.md),
#             so it is not run by default (its D, unused, reads relative)
#   critic    no Transformer D: the n-gram critic refitted every d-step on
#             CRITIC_D_SAMPLES fresh samples and its memory of the MEMORY
#             latest (the g-steps' batches among them) against as many real
#             openings, zero-mean shaping (r = p - the batch's mean)
#   critic-random  its control: the same critic's values shuffled
# then each run (and the MLE model) through the whole-tunes goal measure:
# 100 tunes of 32 bars per temperature (experiments/whole-tunes/sweep.sh:
# bar-similarity profile and error against the test split, verbatim 4-bar
# copies against the training split, music statistics).
#   bash experiments/gan/whole_tune.sh [WORK_DIR]
# Environment: BUILD (build; BIN names the binary, a copy keeps a long run
# safe from rebuilds), INIT (models/whole-tunes), SEEDS ("1"), ROUNDS (100),
# RECIPES ("bar random"), SEQ_LEN (1024: 42 bars of the median
# tune's 24 tokens a bar), BATCH (4), TEMPS ("0.9 1.0 1.1"), D_PRETRAIN (30),
# LR_D (1e-4; 5e-4 from scratch), DISC_INIT (generator, or scratch), EXTRA (more
# train flags). SMOKE=1: 2 rounds of 2 sequences of 256 tokens and 4 tunes of
# 4 bars, to check the recipe end to end. Runs are resumable: a finished one
# is skipped, an interrupted one goes on from its last phase (--resume).
# The critic recipes take their own budget (CRITIC_BATCH 8, CRITIC_G_STEPS 2,
# CRITIC_D_SAMPLES 8, CRITIC_D_PRETRAIN 16, MEMORY 256) and every set of the
# sweep is also judged by the fresh critic (tunegan critic, seeds 1-3,
# RUN/sweep-T<T>-critic-s<S>.json).
set -eu
work=${1:-/tmp/tg-gan-whole}
bin=${BIN:-${BUILD:-build}/tunegan}
data=${DATA:-../shared/data/nottingham}
init=${INIT:-models/whole-tunes}
seeds=${SEEDS:-1}
rounds=${ROUNDS:-100}
recipes=${RECIPES:-"bar random"}
seq_len=${SEQ_LEN:-1024}
batch=${BATCH:-4}
temps=${TEMPS:-"0.9 1.0 1.1"}
num=100
d_samples=16
# The causal D is a language model whose targets are two reserved tokens
# (real, generated): from scratch it first learns to put its mass on them
# (loss from log V down), which at lr 1e-4 took more than 8 d-steps (accuracy
# 0.41-0.75 after 8 in a first run); hence more pre-training and a larger rate.
# With DISC_INIT=scratch (a tiny fc D) it stayed at chance after 27 d-steps
# (d_loss 0.68-0.74, accuracy 0.50 on fresh sets): the default starts D as a
# copy of the generator (--disc-init generator: its shape, fc, and weights).
# A D started from the generator is fine-tuned at 1e-4 (its features are
# trained already), one from scratch at 5e-4.
disc_init=${DISC_INIT:-generator}
d_pretrain=${D_PRETRAIN:-30}
lr_d=${LR_D:-1e-4}
[ "$disc_init" = scratch ] && lr_d=${LR_D:-5e-4}
if [ "${SMOKE:-0}" = 1 ]; then rounds=2; seq_len=256; batch=2; num=4; d_samples=2; d_pretrain=2; temps=1.0; fi
[ -x "$bin" ] || { echo "whole_tune.sh: $bin is not built" >&2; exit 77; }
[ -d "$data/full" ] || { echo "whole_tune.sh: $data/full not found (../shared beside the project)" >&2; exit 77; }
mkdir -p "$work"
corpus=$work/nott-remi-compact.corpus
[ -f "$corpus" ] || "$bin" data build --tokenizer remi-compact --split "$data/split.tsv" --threads 1 \
    -o "$corpus" "$data/full" >"$work/corpus.out"
for seed in $seeds; do
    for r in $recipes; do
        d_flags="--disc-init $disc_init"
        [ "$disc_init" = scratch ] && d_flags="--disc-init scratch --disc-attention fc"
        shaping=centered b=$batch g=1 ds=$d_samples dp=$d_pretrain
        case $r in
        bar | dense | random) ;;
        constant) d_flags="--disc-attention relative" ;;
        critic | critic-random)
            d_flags="--critic-memory ${MEMORY:-256}" shaping=zero-mean b=${CRITIC_BATCH:-8} g=${CRITIC_G_STEPS:-2}
            ds=${CRITIC_D_SAMPLES:-8} dp=${CRITIC_D_PRETRAIN:-16}
            [ "${SMOKE:-0}" = 1 ] && d_flags="--critic-memory 8" b=2 g=1 ds=2 dp=2 ;;
        *) echo "whole_tune.sh: unknown recipe $r" >&2; exit 2 ;;
        esac
        run=$work/$r-s$seed
        [ -f "$run/done" ] && continue
        resume=""
        [ -f "$run/log.jsonl" ] && resume=--resume
        "$bin" train --corpus "$corpus" --init "$init" -o "$run" $resume --reward $r \
            --reward-shaping $shaping --discount 0.9 --baseline ema --baseline-decay 0.9 \
            --ppo-epochs 2 --ppo-clip 0.2 --kl 0.1 --lr-g 1e-5 --lr-d $lr_d \
            $d_flags --seq-len $seq_len --batch $b --rounds $rounds --g-steps $g \
            --d-pretrain $dp --d-steps 1 --d-epochs 2 --d-samples $ds --eval-windows 16 \
            --seed $seed --threads 1 ${EXTRA:-} >>"$run.out" 2>&1
        touch "$run/done"
    done
done
# The goal measure, the MLE model first (its sweep is shared by every seed).
mle=$work/mle
mkdir -p "$mle"
[ -f "$mle/model.safetensors" ] || cp "$init/model.safetensors" "$mle/model.safetensors"
runs="$mle"
for seed in $seeds; do for r in $recipes; do runs="$runs $work/$r-s$seed"; done; done
BIN=$bin TEMPS=$temps NUM=$num sh experiments/whole-tunes/sweep.sh "$corpus" $runs
/usr/bin/python3 experiments/whole-tunes/summarize.py --sweep $runs
# The fresh critic on every set (99 real test tunes against 99 samples, each
# real tune cut to its partner's bars; 0.5: cannot tell).
folds=5
[ "${SMOKE:-0}" = 1 ] && folds=2
for run in $runs; do
    for T in $temps; do
        for cs in 1 2 3; do
            j=$run/sweep-T$T-critic-s$cs.json
            [ -f "$j" ] && continue
            "$bin" critic --real "$corpus:test" --fake "$run/sweep-T$T" --tokenizer remi-compact --seed $cs \
                -k $folds --json >"$j.tmp"
            mv "$j.tmp" "$j"
        done
    done
done
/usr/bin/python3 experiments/gan/whole_table.py --temps "$temps" $runs
