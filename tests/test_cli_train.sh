#!/bin/bash
# test_cli_train.sh: `tunegan train` on a corpus of fixtures after a micro
# pretrain: it writes the generator, discriminator, rollout policy, reference,
# both optimizer states (those of its last checkpoint folder) and a log with
# disc, adv and eval lines; stopped and resumed it gives the same files byte
# for byte; --reward dense and constant run; --reward critic and critic-random run (the
# critic's file in place of D's); --reward bar with every recipe of
# returns.c runs and resumes bit for bit, --reward random runs; `tunegan score` prints a number per file; `generate --rerank` keeps
# the best candidates; bad input is a clear error.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_train.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

fixture_midi format0.mid format1.mid format2.mid running_status.mid tempo_map_f1.mid overlap.mid metas.mid
fixture_split
run 0 "data build" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"
run 0 "pretrain" "$BIN" pretrain --corpus "$tmp/c.corpus" --d-model 32 --layers 1 --heads 2 --context 32 \
    --batch 3 --steps 4 --eval-every 4 --warmup 1 --seed 5 --threads 1 -o "$tmp/pre"

M="--corpus $tmp/c.corpus --init $tmp/pre --seq-len 16 --batch 4 --rounds 2 --d-pretrain 2 --d-steps 1 --d-epochs 1
   --d-samples 8 --rollouts 3 --rollout-every 2 --disc-d-model 32 --disc-layers 1 --disc-heads 2 --mle-mix 1
   --lr-g 1e-3 --seed 3 --threads 1"
run 0 "train 2 rounds" "$BIN" train $M -o "$tmp/one"
for f in model disc rollout reference optimizer disc_optimizer; do
    if [ -s "$tmp/one/$f.safetensors" ]; then ok; else fail "train wrote no $f.safetensors"; fi
    cmp -s "$tmp/one/$f.safetensors" "$tmp/one/checkpoints/phase-0000005/$f.safetensors" && ok ||
        fail "$f.safetensors is not the last checkpoint's"
done
[ "$(ls "$tmp/one/checkpoints")" = phase-0000005 ] && ok || fail "checkpoints: $(ls "$tmp/one/checkpoints")"
grep -q 'seed 3' "$tmp/err" && ok || fail "the seed is not printed"
grep -q 'finished after phase 5 of 5' "$tmp/out" && ok || fail "no final summary: $(cat "$tmp/out")"
# progress in words: the rounds, what each model did, the time left
has_err "discriminator pre-training: discriminator 2/2: loss" "progress of D's pre-training"
has_err "round 1/2: generator: mean reward" "progress of a generator step"
has_err "round 2/2: discriminator: loss" "progress of a round's D step"
grep -q "round 1/2: validation NLL [0-9.]* nats/token; [0-9:]* elapsed, about [0-9:]* left" "$tmp/err" && ok ||
    fail "no time left after round 1: $(grep 'round 1/2: validation' "$tmp/err")"
grep -q '^{' "$tmp/err" && fail "raw JSON on the terminal" || ok
L="$tmp/one/log.jsonl"
n=$(grep -c '"phase":"disc"' "$L"); [ "$n" -eq 4 ] && ok || fail "log has $n disc lines, want 4 (2 pretrain + 1 per round)"
n=$(grep -c '"phase":"adv"' "$L"); [ "$n" -eq 2 ] && ok || fail "log has $n adv lines, want 2"
n=$(grep -c '"phase":"mle"' "$L"); [ "$n" -eq 2 ] && ok || fail "log has $n mle lines, want 2 (--mle-mix 1)"
n=$(grep -c '"phase":"eval"' "$L"); [ "$n" -eq 3 ] && ok || fail "log has $n eval lines, want 3"
for k in d_loss d_acc reward_mean pg_loss kl entropy val_nll; do
    grep -q "\"$k\":[-0-9]" "$L" && ok || fail "no $k in the log"
done

# stopped after phases 1 and 4 (Ctrl-C's path: the checkpoint of the phase), resumed
run 0 "train stopped after phase 1" "$BIN" train $M -o "$tmp/two" --stop-after 1
grep -q 'stopped after phase 1' "$tmp/out" && ok || fail "stop-after did not say where it stopped"
run 0 "resumed, stopped after phase 4" "$BIN" train $M -o "$tmp/two" --resume --stop-after 4
run 0 "resumed to the end" "$BIN" train $M -o "$tmp/two" --resume
for f in model disc rollout optimizer disc_optimizer; do
    if cmp -s "$tmp/one/$f.safetensors" "$tmp/two/$f.safetensors"; then ok; else fail "resumed $f differs"; fi
done
if diff <(sed 's/,"seconds":[0-9.e+-]*//' "$tmp/one/log.jsonl") <(sed 's/,"seconds":[0-9.e+-]*//' "$tmp/two/log.jsonl") >/dev/null; then ok
else fail "resumed log differs"; fi
run 1 "finished run without more rounds" "$BIN" train $M -o "$tmp/two" --resume
has_err "--rounds" "finished run"
run 0 "more rounds" "$BIN" train $M -o "$tmp/two" --resume --rounds 3
n=$(grep -c '"phase":"adv"' "$tmp/two/log.jsonl"); [ "$n" -eq 3 ] && ok || fail "3 rounds: $n adv lines"

run 0 "dense reward" "$BIN" train $M -o "$tmp/dense" --reward dense
grep -q '"phase":"adv"' "$tmp/dense/log.jsonl" && ok || fail "dense: no adv line"
run 0 "constant reward" "$BIN" train $M -o "$tmp/const" --reward constant
grep -q '"reward_mean":0.500000' "$tmp/const/log.jsonl" && ok || fail "constant: reward is not 0.5"

# the recipes of returns.c: per-bar and random rewards, shaping, discount, ema baseline, PPO, band, smoothing,
# a discriminator with bar attention; stopped and resumed (the ema baseline in the checkpoint) bit for bit
R="--reward bar --reward-shaping centered --discount 0.9 --baseline ema --ppo-epochs 2 --ppo-clip 0.2
   --d-band 0.2,0.95 --label-smooth 0.1 --disc-attention fc"
run 0 "bar reward with every recipe" "$BIN" train $M $R -o "$tmp/bar"
for k in clipped acc_fresh epochs; do grep -q "\"$k\":[0-9]" "$tmp/bar/log.jsonl" && ok || fail "bar: no $k in the log"; done
grep -q 'attention\\":\\"fc' "$tmp/bar/disc.safetensors" && ok || fail "bar: the discriminator has no fc attention"
grep -q '"baseline_ema":"0x' "$tmp/bar/optimizer.safetensors" && ok || fail "bar: no ema baseline in the checkpoint"
run 0 "bar, stopped after phase 2" "$BIN" train $M $R -o "$tmp/bar2" --stop-after 2
run 0 "bar, resumed" "$BIN" train $M $R -o "$tmp/bar2" --resume
for f in model disc optimizer disc_optimizer; do
    cmp -s "$tmp/bar/$f.safetensors" "$tmp/bar2/$f.safetensors" && ok || fail "bar: resumed $f differs"
done
run 1 "resume without the ema baseline" "$BIN" train $M $R -o "$tmp/bar2" --resume --rounds 3 --baseline batch
has_err "same flags" "baseline changed on resume"
run 0 "random reward" "$BIN" train $M -o "$tmp/random" --reward random
grep -q '"phase":"adv"' "$tmp/random/log.jsonl" && ok || fail "random: no adv line"
# the n-gram critic in place of D: its file, its progress line, no D's; its control runs too
run 0 "critic reward" "$BIN" train $M -o "$tmp/critic" --reward critic --reward-shaping zero-mean --discount 0.9
[ -f "$tmp/critic/critic.safetensors" ] && [ ! -e "$tmp/critic/disc.safetensors" ] && ok || fail "critic: files"
has_err "critic 1/" "critic's progress line"
has_out "critic accuracy" "critic's summary"
has_out "critic.safetensors" "critic's checkpoint named"
grep -q '"acc_fresh":0' "$tmp/critic/log.jsonl" && ok || fail "critic: no fresh accuracy in the log"
run 0 "plot of the critic's run" "$BIN" plot "$tmp/critic" -o "$tmp/critic.png"
[ -s "$tmp/critic.png" ] && ok || fail "critic: no plot"
run 0 "critic-random reward" "$BIN" train $M -o "$tmp/critic-random" --reward critic-random
run 1 "critic with a band" "$BIN" train $M -o "$tmp/y" --reward critic --d-band 0.2,0.9
has_err "--d-band" "critic with a band"
# cold exploration (ColdGANs): the weights in the log, a resume must keep the temperature
run 0 "cold exploration" "$BIN" train $M -o "$tmp/cold" --reward dense --explore-temperature 0.5 --is-clip 3
for k in is_w_mean is_w_max is_truncated; do grep -q "\"$k\":[0-9]" "$tmp/cold/log.jsonl" && ok || fail "cold: no $k in the log"; done
run 1 "resume at another exploration temperature" "$BIN" train $M -o "$tmp/cold" --reward dense --resume --rounds 3 \
    --explore-temperature 0.7 --is-clip 3
has_err "same flags" "exploration temperature changed on resume"
run 1 "exploration temperature 0" "$BIN" train $M -o "$tmp/y" --explore-temperature 0
has_err "--explore-temperature" "temperature 0"
run 1 "exploration temperature above 1" "$BIN" train $M -o "$tmp/y" --explore-temperature 1.5
has_err "explore-temperature" "temperature 1.5"
run 1 "importance-weight clip 0" "$BIN" train $M -o "$tmp/y" --explore-temperature 0.5 --is-clip 0
has_err "--is-clip" "clip 0"
run 1 "bad band" "$BIN" train $M -o "$tmp/y" --d-band 0.9,0.2
has_err "--d-band" "bad band"
run 1 "fc attention on the pooled discriminator" "$BIN" train $M -o "$tmp/y" --disc-attention fc
has_err "causal discriminator" "fc on the pooled D"
run 1 "discount of rollout values" "$BIN" train $M -o "$tmp/y" --discount 0.5
has_err "--discount" "discount with rollouts"
run 1 "bad shaping" "$BIN" train $M -o "$tmp/y" --reward-shaping log
has_err "--reward-shaping" "bad shaping"
run 0 "data build (perf, no bars)" "$BIN" data build --tokenizer perf --split "$tmp/split.tsv" -o "$tmp/p.corpus" "$tmp/midi"
run 1 "bar reward without Bar tokens" "$BIN" train $M -o "$tmp/y" --corpus "$tmp/p.corpus" --reward bar
has_err "Bar tokens" "bar reward on perf"

# score: one line per file with numbers in [0,1]
run 0 "score" "$BIN" score --model "$tmp/one" "$tmp"/midi/format1.mid "$tmp"/midi/overlap.mid
n=$(grep -cE '\.mid	0\.[0-9]{4}	0\.[0-9]{4}	[01]\.[0-9]{4}	' "$tmp/out"); [ "$n" -eq 2 ] && ok || fail "score printed $n scored lines: $(cat "$tmp/out")"
run 0 "score with a dense discriminator" "$BIN" score --model "$tmp/dense" "$tmp"/midi/format1.mid
run 1 "score of a pretrain run" "$BIN" score --model "$tmp/pre" "$tmp"/midi/format1.mid
has_err "no discriminator" "score of a pretrain run"
run 1 "score of a missing file" "$BIN" score --model "$tmp/one" "$tmp/none.mid"
has_err "none.mid" "missing file"
run 1 "score without files" "$BIN" score --model "$tmp/one"
has_err "required" "score without files"

# generate --rerank: 2 samples, best of 3 each
run 0 "generate --rerank" "$BIN" generate --model "$tmp/one" -o "$tmp/gen" -n 2 --rerank 3 --length 20 --seed 4 --threads 1
n=$(ls "$tmp/gen"/*.mid 2>/dev/null | wc -l); [ "$n" -eq 2 ] && ok || fail "rerank wrote $n files, want 2"
n=$(grep -c 'realism 0\.[0-9]* (best of 3)' "$tmp/out"); [ "$n" -eq 2 ] && ok || fail "rerank printed $n realism lines"
run 1 "rerank without a discriminator" "$BIN" generate --model "$tmp/pre" -o "$tmp/gen2" --rerank 2 --length 10
has_err "no discriminator" "rerank of a pretrain run"

# errors
run 1 "existing run" "$BIN" train $M -o "$tmp/one"
has_err "already holds a run" "existing run"
run 1 "no init" "$BIN" train --corpus "$tmp/c.corpus" -o "$tmp/x"
has_err "--init" "no init"
run 1 "bad reward" "$BIN" train $M -o "$tmp/y" --reward sometimes
has_err "--reward" "bad reward"
run 1 "seq-len over the context" "$BIN" train $M -o "$tmp/z" --seq-len 64
has_err "context" "seq-len"
run 1 "resume with another batch" "$BIN" train $M -o "$tmp/two" --resume --rounds 4 --batch 5
has_err "same flags" "changed flags"
# a resume reads the newest checkpoint folder (src/train/ckpt.h)
c=$tmp/two/checkpoints/phase-0000007
head -c 300 "$tmp/one/disc.safetensors" >"$c/disc.new" && mv "$c/disc.new" "$c/disc.safetensors"
run 1 "damaged discriminator on resume" "$BIN" train $M -o "$tmp/two" --resume --rounds 4
has_err "phase-0000007/disc.safetensors" "damaged disc"

echo "test_cli_train: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
