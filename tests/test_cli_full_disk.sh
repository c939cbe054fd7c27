#!/bin/bash
# test_cli_full_disk.sh: a full disk at every moment. For data build, pretrain
# (tiny, two steps), detokenize and generate (with --roll, and --render on a
# sample of the moments: a WAV takes hundreds of writes), the command runs
# once to count its write calls (C), then once for every N in 1..C with the
# N-th and later calls failing with ENOSPC (tests/enospc_shim.c, LD_PRELOAD).
# Each time: the exit status is not 0; stderr names the cause ("No space left
# on device", never "input/output error"); no temporary file is left; and
# every file under its final name is whole: the same bytes as the run without
# a failure (log.jsonl, which holds timings and is appended: lines of the same
# steps, the last of which may be cut: see same_lines).
# Usage (ctest): test_cli_full_disk.sh PATH/TO/libenospc_shim.so
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
# Under AddressSanitizer the shim loads before ASan's runtime, which ASan
# accepts with verify_asan_link_order=0 (added to ASAN_OPTIONS here).
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
SHIM=${1:?usage: test_cli_full_disk.sh PATH/TO/libenospc_shim.so}
tmp=$(mktemp -d /tmp/tg_cli_full_disk.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
# LeakSanitizer's own work at exit makes write calls of its own after the
# program's last one (the shim counts them; failing them changes nothing the
# program sees), so leaks are left to the other tests of the same commands.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0"

fixture_midi format0.mid format1.mid running_status.mid tempo_map_f1.mid overlap.mid
fixture_split
run 0 "data build" "$BIN" data build --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"
P="--d-model 32 --layers 1 --heads 2 --context 48 --batch 2 --steps 2 --eval-every 2 --warmup 1 --seed 5 --threads 1"
# shellcheck disable=SC2086
run 0 "pretrain" "$BIN" pretrain --corpus "$tmp/c.corpus" $P -o "$tmp/run"
"$BIN" tokenize "$DATA/format1.mid" >"$tmp/tokens.txt"

# same_lines A B: log.jsonl of a stopped run against B, the whole run's: each
# line one of B's steps. The log is appended as training goes (a reader tails
# it), not written atomically, and src/train/mle.c writes a step's line in up
# to three calls: a full disk between them leaves the last line cut. That is
# allowed for the last line only, and counted in $cut_logs.
same_lines() {
    last=$(wc -l <"$1")
    i=0
    while IFS= read -r line || [ -n "$line" ]; do
        i=$((i + 1))
        key=${line%%,\"loss*}; key=${key%%,\"val_nll*}
        case $line in
        *"}") grep -qF -- "$key" "$2" || return 1 ;;
        *) [ "$i" -gt "$last" ] || return 1; cut_logs=$((cut_logs + 1)) ;;
        esac
    done <"$1"
}
cut_logs=0

# check NAME STEP CMD...: CMD writes under $tmp/o; every STEP-th N is tried
# (1: all), plus the last.
check() {
    name=$1; step=$2; shift 2
    rm -rf "$tmp/o" "$tmp/ref"; mkdir -p "$tmp/o"
    TG_ENOSPC_COUNT="$tmp/count" LD_PRELOAD="$SHIM" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne 0 ]; then fail "$name without a failure: exit $got"; cat "$tmp/err" >&2; return; fi
    calls=$(cat "$tmp/count")
    cp -r "$tmp/o" "$tmp/ref"
    tried=0; bad=0
    for n in $(seq 1 "$step" "$calls") "$calls"; do
        rm -rf "$tmp/o"; mkdir -p "$tmp/o"
        TG_ENOSPC_AT=$n LD_PRELOAD="$SHIM" "$@" >"$tmp/out" 2>"$tmp/err"
        got=$?
        tried=$((tried + 1))
        why=""
        [ "$got" -ne 0 ] || why="exit 0"
        grep -qF "No space left on device" "$tmp/err" || why="$why; stderr lacks the cause"
        ! grep -qF "input/output error" "$tmp/err" || why="$why; stderr says input/output error"
        [ -z "$(find "$tmp/o" -name '*.tmp.*')" ] || why="$why; a temporary file is left"
        while IFS= read -r f; do
            rel=${f#"$tmp/o/"}
            if [ "${rel##*/}" = log.jsonl ]; then
                same_lines "$f" "$tmp/ref/$rel" || why="$why; $rel has a partial or foreign line"
            elif ! cmp -s "$f" "$tmp/ref/$rel"; then
                why="$why; $rel is not whole"
            fi
        done < <(find "$tmp/o" -type f)
        if [ -n "$why" ]; then
            bad=$((bad + 1))
            fail "$name, full at write $n of $calls: ${why#; }"
            [ "$bad" -le 3 ] && sed 's/^/    /' "$tmp/err" >&2
        else
            ok
        fi
    done
    echo "$name: $tried moments of $calls writes tried, $bad bad"
}

# One thread: with two, the number of write calls varies from run to run (24
# to 27 on 5 files; not yet traced), so the N-th call is not the same call in
# every run and a count taken once cannot be walked through.
check "data build" 1 "$BIN" data build --threads 1 --split "$tmp/split.tsv" -o "$tmp/o/c.corpus" "$tmp/midi"
# shellcheck disable=SC2086
check "pretrain" 1 "$BIN" pretrain --corpus "$tmp/c.corpus" $P -o "$tmp/o/run"
check "detokenize" 1 "$BIN" detokenize -o "$tmp/o/x.mid" "$tmp/tokens.txt"
G="--model $tmp/run --num 3 --batch 2 --length 30 --seed 1 --threads 1"
# shellcheck disable=SC2086
check "generate" 1 "$BIN" generate $G -o "$tmp/o/g"
if "$BIN" --version | grep -q cairo; then
    # shellcheck disable=SC2086
    check "generate --roll" 1 "$BIN" generate $G --roll -o "$tmp/o/g"
fi
if "$BIN" --version | grep -q fluidsynth && [ -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then
    # shellcheck disable=SC2086
    check "generate --render" 37 "$BIN" generate $G --num 2 --render -o "$tmp/o/g"
fi

[ "$cut_logs" -eq 0 ] || echo "note: $cut_logs stopped pretrain runs left the last line of log.jsonl cut"
finish test_cli_full_disk
