#!/bin/bash
# compare_train.sh OLD NEW: runs two tunegan binaries on the same small
# commands and compares every file they write, byte for byte: a refactoring
# of the trainers must not change a bit of what `pretrain` and `train` write.
#
# The corpus: 20 pieces of /work/shared/data/nottingham/full (or $TG_MIDI_DIR).
# `pretrain --preset tiny --steps 20` with each binary (compared), then, all
# from OLD's pretrain run: `train --rounds 2` with --reward rollout, dense and
# constant, in one process and under `mpirun -np 2 --oversubscribe` (as
# tests/test_mpi.sh runs it), the rollout reward on 3 ranks, with two
# threads, and a run stopped on 2 ranks and resumed by one process.
# Compared: every .safetensors file of the run folder (models and optimizer
# states), log.jsonl with its wall-clock fields masked ("seconds", "comm_ms"
# (the time spent in collectives) and pretrain's "tok_per_s"), and the
# summary on stdout (its run folder's name masked). With several ranks the
# log's length follows the digits of comm_ms, and the optimizer file records
# that length ("log_bytes"): where that alone differs, the file still passes
# when the rest of its header and all its data are equal (same_st).
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u
OLD=${1:?usage: compare_train.sh OLD_BINARY NEW_BINARY}
NEW=${2:?usage: compare_train.sh OLD_BINARY NEW_BINARY}
MIDI=${TG_MIDI_DIR:-/work/shared/data/nottingham/full}
tmp=$(mktemp -d /tmp/tg_compare_train.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI="timeout 600 mpirun --oversubscribe"
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# run NAME CMD...: runs CMD with stdout in $tmp/NAME.out; a failure counts
run() {
    local name=$1
    shift
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    [ "$rc" -eq 0 ] && return 0
    fail "$name: exit status $rc ($(tail -n 3 "$tmp/$name.err" | tr '\n' ' '))"
    return 1
}

# the log without wall-clock fields
masked_log() { sed -E 's/,"(seconds|comm_ms|tok_per_s)":[0-9.eE+-]*//g' "$1"; }

# same_st A B: two safetensors files byte for byte; else, when only the
# metadata's "log_bytes" differs (the log's length, which follows the digits
# of its wall-clock fields), the rest of the header and every data byte
same_st() {
    [ -f "$2" ] || return 1
    cmp -s "$1" "$2" && return 0
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
def parts(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    head = json.loads(b[8:8 + n])
    head.get("__metadata__", {}).pop("log_bytes", None)
    return head, b[8 + n:]
sys.exit(0 if parts(sys.argv[1]) == parts(sys.argv[2]) else 1)
PY
}

# same WHAT DIR_A DIR_B: every file of the two run folders
same() {
    local what=$1 a=$2 b=$3 f n=0
    for f in "$a"/*.safetensors; do
        n=$((n + 1))
        if same_st "$f" "$b/$(basename "$f")"; then pass; else fail "$what: $(basename "$f") differs"; fi
    done
    [ "$n" -gt 0 ] || fail "$what: no .safetensors file in $a"
    # checkpoints/ holds the kill-safe copies of the same files (src/train/ckpt.c)
    [ "$(ls "$a" | grep -v '^checkpoints$' | tr "\n" " ")" = "$(ls "$b" 2>/dev/null | grep -v '^checkpoints$' | tr "\n" " ")" ] && pass ||
        fail "$what: other files: $(ls "$a" | tr "\n" " ")/ $(ls "$b" 2>/dev/null | tr "\n" " ")"
    if [ -f "$a/log.jsonl" ]; then
        if cmp -s <(masked_log "$a/log.jsonl") <(masked_log "$b/log.jsonl" 2>/dev/null); then pass; else fail "$what: log.jsonl differs"; fi
    fi
}

mkdir -p "$tmp/midi"
ls "$MIDI"/*.mid | head -n 20 | while read -r f; do cp "$f" "$tmp/midi/"; done
run corpus "$OLD" data build -t remi -o "$tmp/c.corpus" "$tmp/midi" || exit 1

P="--corpus $tmp/c.corpus --preset tiny --steps 20 --batch 4 --context 32 --eval-every 10 --eval-windows 8 --seed 7 --threads 1"
for bin in OLD NEW; do
    run "pre_$bin" "${!bin}" pretrain $P -o "$tmp/pre_$bin"
done
same "pretrain" "$tmp/pre_OLD" "$tmp/pre_NEW"

A="--corpus $tmp/c.corpus --init $tmp/pre_OLD --seq-len 16 --batch 5 --rounds 2 --d-pretrain 2 --d-steps 1
   --d-epochs 2 --d-samples 7 --rollouts 3 --rollout-every 2 --disc-d-model 32 --disc-layers 1 --disc-heads 2
   --mle-mix 1 --lr-g 1e-3 --eval-windows 8 --seed 3"

# case NAME LAUNCHER... -- FLAGS...: train with each binary, then compare
case_() {
    local name=$1 launch=() flags=()
    shift
    while [ "$1" != "--" ]; do launch+=("$1"); shift; done
    shift
    flags=("$@")
    local ok=1 bin
    for bin in OLD NEW; do
        run "${name}_$bin" ${launch[@]+"${launch[@]}"} "${!bin}" train $A "${flags[@]}" -o "$tmp/${name}_$bin" || ok=0
    done
    [ "$ok" = 1 ] || return
    same "$name" "$tmp/${name}_OLD" "$tmp/${name}_NEW"
    cmp -s <(sed "s/_OLD/_X/g" "$tmp/${name}_OLD.out") <(sed "s/_NEW/_X/g" "$tmp/${name}_NEW.out") && pass ||
        fail "$name: stdout differs"
}

for reward in rollout dense constant; do
    case_ "one_$reward" -- --reward "$reward" --threads 1
    case_ "np2_$reward" $MPI -np 2 -- --reward "$reward" --threads 1
done
case_ "np3_rollout" $MPI -np 3 -- --reward rollout --threads 1
case_ "one_rollout_t2" -- --reward rollout --threads 2

# stopped after phase 2 on 2 ranks, resumed by one process
for bin in OLD NEW; do
    run "resume1_$bin" $MPI -np 2 "${!bin}" train $A --threads 1 -o "$tmp/resume_$bin" --stop-after 2 &&
        run "resume2_$bin" "${!bin}" train $A --threads 1 -o "$tmp/resume_$bin" --resume
done
same "np2_stop_resume1" "$tmp/resume_OLD" "$tmp/resume_NEW"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
