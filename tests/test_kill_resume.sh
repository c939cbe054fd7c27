#!/bin/bash
# test_kill_resume.sh: kill-safe checkpoints (src/train/ckpt.h). `pretrain`
# and `train` (tiny preset, a corpus of the fixtures) are killed with SIGKILL
# and resumed with --resume until done, and the final files must equal an
# uninterrupted run's byte for byte (checkpoint, the files linked into the run
# folder, the log without its timings), with no leftover *.tmp.PID and one
# checkpoint folder. Kills come two ways:
#   - at every point of a checkpoint's save in turn (TG_TEST_CKPT_KILL_AT=1,
#     2, ...: after each file, after the commit, after each file linked into
#     the run folder, after the older checkpoint is gone), the first of them
#     in the run's first save, whose --resume must start the run over;
#   - at KILLS random moments (uniform over an uninterrupted run's duration)
#     with TG_TEST_CKPT_PAUSE_MS sleeping at those points, so that many land
#     inside a save; each is classed by what it left: a half-written
#     checkpoint folder ("files"), a committed one not yet (or not wholly)
#     linked into the run folder or not yet pruned ("commit"), or nothing.
# A run that finishes before its kill starts a new chain in a fresh folder.
# Usage: test_kill_resume.sh [KILLS]: KILLS random kills per command (12;
# ctest's slow variant kill_resume_50 gives 50). Environment: TG_BIN,
# TG_TEST_DATA (set by ctest); KILL_SEED (the seed of the kill times, printed;
# default from the clock); PAUSE_MS (25).
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
KILLS=${1:-${KILLS:-12}}
PAUSE_MS=${PAUSE_MS:-25}
KILL_SEED=${KILL_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$KILL_SEED
tmp=$(mktemp -d /tmp/tg_kill_resume.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
echo "test_kill_resume: $KILLS random kills per command, seed $KILL_SEED (KILL_SEED=$KILL_SEED repeats them)"

fixture_midi format0.mid format1.mid format2.mid running_status.mid tempo_map_f1.mid overlap.mid metas.mid
fixture_split
run 0 "data build" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"

P="pretrain --corpus $tmp/c.corpus --preset tiny --context 32 --batch 2 --steps 24 --eval-every 3 --warmup 2
   --seed 5 --threads 1"
run 0 "pretrain for train's --init" "$BIN" pretrain --corpus "$tmp/c.corpus" --preset tiny --context 32 --batch 2 \
    --steps 4 --eval-every 4 --seed 5 --threads 1 -o "$tmp/init"
T="train --corpus $tmp/c.corpus --init $tmp/init --seq-len 16 --batch 4 --rounds 3 --d-pretrain 2 --d-steps 1
   --d-epochs 1 --d-samples 8 --rollouts 3 --rollout-every 2 --disc-preset tiny --mle-mix 1 --lr-g 1e-3 --seed 3
   --threads 1"

# what a killed run left in RUN_DIR (the killed process's PID): files, commit or -
kill_class() {
    local dir=$1 pid=$2 newest f
    if compgen -G "$dir/checkpoints/*.tmp.$pid" >/dev/null; then echo files; return; fi
    newest=$(ls -d "$dir"/checkpoints/*-[0-9]* 2>/dev/null | grep -v '\.tmp\.' | sort | tail -n 1)
    if [ "$(ls -d "$dir"/checkpoints/*-[0-9]* 2>/dev/null | grep -vc '\.tmp\.')" -gt 1 ] ||
        compgen -G "$dir/*.tmp.$pid" >/dev/null; then echo commit; return; fi
    if [ -n "$newest" ]; then
        for f in "$newest"/*; do
            [ "$dir/$(basename "$f")" -ef "$f" ] || { echo commit; return; }
        done
    fi
    echo -
}

# the checks of a finished chain against the uninterrupted run REF
same_as() {
    local what=$1 ref=$2 dir=$3 f n
    for f in "$ref"/*.safetensors; do
        n=$(basename "$f")
        cmp -s "$f" "$dir/$n" && ok || fail "$what: $n differs from the uninterrupted run's"
        cmp -s "$f" "$(ls -d "$dir"/checkpoints/*/ | tail -n 1)/$n" && ok || fail "$what: the checkpoint's $n differs"
    done
    if diff <(sed 's/,"tok_per_s":[0-9.e+-]*//; s/,"seconds":[0-9.e+-]*//' "$ref/log.jsonl") \
        <(sed 's/,"tok_per_s":[0-9.e+-]*//; s/,"seconds":[0-9.e+-]*//' "$dir/log.jsonl") >/dev/null; then ok
    else fail "$what: the log differs from the uninterrupted run's"; fi
    n=$(find "$dir" -name '*.tmp.*' | wc -l)
    [ "$n" -eq 0 ] && ok || fail "$what: leftovers remain: $(find "$dir" -name '*.tmp.*')"
    n=$(ls "$dir/checkpoints" | wc -l)
    [ "$n" -eq 1 ] && ok || fail "$what: $n checkpoint folders, want 1: $(ls "$dir/checkpoints")"
}

# kill_runs NAME CMD POINTS: the reference run, the sweep over the POINTS of a
# save, KILLS random kills; chains in $tmp/NAME.1, .2, ...
kill_runs() {
    local name=$1 cmd=$2 points=$3
    local ref=$tmp/$name.ref chain=0 dir="" started=0 st pid t0 dur_ms kills=0 k delay class
    local in_files=0 in_commit=0 elsewhere=0 finished=0 sweep=0
    t0=$(date +%s%N)
    TG_TEST_CKPT_PAUSE_MS=$PAUSE_MS run 0 "$name: uninterrupted" "$BIN" $cmd -o "$ref"
    dur_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    # one step of a chain: run (fresh, or resumed) under the environment given, wait
    step() {
        if [ -z "$dir" ]; then
            chain=$((chain + 1)); dir=$tmp/$name.$chain; started=0
        fi
        local flags=""
        [ "$started" -eq 1 ] && flags=--resume
        env "$@" "$BIN" $cmd -o "$dir" $flags >"$tmp/out" 2>"$tmp/err" &
        pid=$!
    }
    after() { # after the wait: st set; a finished chain is checked and closed
        started=1
        if [ "$st" -eq 0 ] || { [ "$st" -eq 1 ] && grep -q "already did" "$tmp/err"; }; then
            same_as "$name (chain $chain)" "$ref" "$dir"
            finished=$((finished + 1)); dir=""
            return 1
        fi
        if [ "$st" -ne 137 ]; then fail "$name: exit $st"; cat "$tmp/err" >&2; dir=""; return 1; fi
        return 0
    }
    # every point of a save, in order; the first kills the first save
    k=1
    while [ "$k" -le "$points" ]; do
        step TG_TEST_CKPT_KILL_AT=$k
        { wait $pid; } 2>/dev/null; st=$?
        if [ "$k" -eq 2 ]; then # resumed after a kill inside the first save
            grep -q "starting the run over" "$tmp/err" && ok ||
                fail "$name: --resume after a kill in the first save did not start over: $(cat "$tmp/err")"
        fi
        after || continue # a chain that finished: the same point in the next
        sweep=$((sweep + 1))
        if [ "$k" -eq 1 ]; then
            [ -e "$dir/model.safetensors" ] && fail "$name: a model is in the run folder before the first commit" || ok
        fi
        k=$((k + 1))
    done
    # random moments
    while [ "$kills" -lt "$KILLS" ]; do
        step TG_TEST_CKPT_PAUSE_MS=$PAUSE_MS
        delay=$(( (RANDOM * 32768 + RANDOM) % (dur_ms + 1) ))
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill -KILL $pid 2>/dev/null
        { wait $pid; } 2>/dev/null; st=$?
        after || continue
        kills=$((kills + 1))
        class=$(kill_class "$dir" $pid)
        case $class in
            files) in_files=$((in_files + 1)) ;;
            commit) in_commit=$((in_commit + 1)) ;;
            *) elsewhere=$((elsewhere + 1)) ;;
        esac
    done
    # the last chain to its end
    while [ -n "$dir" ]; do
        step TG_TEST_CKPT_PAUSE_MS=0
        { wait $pid; } 2>/dev/null; st=$?
        after || break
    done
    echo "$name: $sweep kills at the $points points of a save, $kills at random moments ($in_files while" \
        "writing a checkpoint's files, $in_commit while committing it, $elsewhere elsewhere); $finished" \
        "chains finished, each compared with the uninterrupted run (${dur_ms} ms)"
}

kill_runs pretrain "$P" 6
kill_runs train "$T" 14

finish test_kill_resume
