#!/bin/bash
# test_cli_exit.sh: exit statuses and error messages of the commands (issue 22,
# item 3). Output to a full stdout (/dev/full) is an error for every command
# that prints, saying "standard output: No space left on device"; a write
# error names its cause from errno ("Is a directory", "Read-only file system"
# when a read-only mount can be made here), never "input/output error"; an
# empty -o "" is refused as such; a corpus error names the file once; a bad
# value is one line pointing to `tunegan CMD --help`, not the whole usage;
# bytes of file names that a terminal would act on are escaped; FluidSynth's
# own log lines are not printed (a SoundFont that is not one is our message).
# Partial results of generate (item 7): a bad SoundFont writes nothing; an
# interrupted run (SIGTERM) keeps the samples of the batches done, each whole,
# says which and exits 143; a full disk (a small tmpfs, when root can mount)
# stops at the first failed file, names the cause and the files written.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_exit.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || { umount "$tmp/ro" "$tmp/small" 2>/dev/null; rm -rf "$tmp"; }' EXIT
. "$(dirname "$0")/cli_lib.sh"
no_err() { if grep -qF -- "$1" "$tmp/err"; then fail "$2: stderr has '$1'"; cat "$tmp/err" >&2; else ok; fi; }
lines_err() { n=$(wc -l <"$tmp/err"); if [ "$n" -eq "$1" ]; then ok; else fail "$2: $n lines on stderr, want $1"; cat "$tmp/err" >&2; fi; }

# A tiny corpus and model on the fixtures.
fixture_midi format0.mid format1.mid running_status.mid tempo_map_f1.mid overlap.mid
fixture_split
run 0 "data build" "$BIN" data build --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"
run 0 "pretrain" "$BIN" pretrain --corpus "$tmp/c.corpus" --d-model 32 --layers 1 --heads 2 --context 48 \
    --batch 2 --steps 2 --eval-every 2 --warmup 1 --seed 5 --threads 1 -o "$tmp/run"
run 0 "generate" "$BIN" generate --model "$tmp/run" -o "$tmp/g" --num 2 --length 30 --seed 1 --threads 1

# A full stdout: exit 1 and the cause, for each command that prints.
full() {
    what=$1; shift
    "$@" >/dev/full 2>"$tmp/err"
    got=$?
    if [ "$got" -eq 1 ]; then ok; else fail "$what > /dev/full: exit $got, want 1"; fi
    has_err "standard output: No space left on device" "$what > /dev/full"
}
full "eval --model" "$BIN" eval --model "$tmp/run" --corpus "$tmp/c.corpus" --split valid --threads 1
full "eval --samples" "$BIN" eval --samples "$tmp/g" --reference "$tmp/c.corpus:valid"
full "data stats" "$BIN" data stats "$tmp/c.corpus"
full "notes" "$BIN" notes "$DATA/format1.mid"
full "tokenize" "$BIN" tokenize "$DATA/format1.mid"
full "vocab" "$BIN" vocab
full "generate" "$BIN" generate --model "$tmp/run" -o "$tmp/g2" --num 1 --length 10 --seed 1 --threads 1
full "--help" "$BIN" --help

# A write error names its cause.
"$BIN" tokenize "$DATA/format1.mid" >"$tmp/tokens.txt"
mkdir -p "$tmp/dir.mid"
run 1 "detokenize onto a folder" "$BIN" detokenize -o "$tmp/dir.mid" "$tmp/tokens.txt"
has_err "Is a directory" "detokenize onto a folder"
no_err "input/output error" "detokenize onto a folder"
run 1 "detokenize from a folder" "$BIN" detokenize -o "$tmp/x.mid" "$tmp/dir.mid"
has_err "Is a directory" "detokenize from a folder"
mkdir -p "$tmp/corpus_dir"
run 1 "data build onto a folder" "$BIN" data build -o "$tmp/corpus_dir" "$tmp/midi"
has_err "Is a directory" "data build onto a folder"
mkdir -p "$tmp/ro"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o ro,size=64k tgro "$tmp/ro" 2>/dev/null; then
    run 1 "detokenize on a read-only mount" "$BIN" detokenize -o "$tmp/ro/x.mid" "$tmp/tokens.txt"
    has_err "Read-only file system" "detokenize on a read-only mount"
    run 1 "generate on a read-only mount" "$BIN" generate --model "$tmp/run" -o "$tmp/ro" --num 1 --length 10 --seed 1 --threads 1
    has_err "Read-only file system" "generate on a read-only mount"
    umount "$tmp/ro"
else
    echo "read-only mount: skipped (needs root and mount)"
fi

# -o "" is refused as empty.
for cmd in "generate --model $tmp/run" "detokenize $tmp/tokens.txt" "data build $tmp/midi" "pretrain --corpus $tmp/c.corpus --steps 1 --d-model 32 --layers 1 --heads 2 --context 48 --threads 1"; do
    # shellcheck disable=SC2086
    run 1 "${cmd%% *} -o ''" "$BIN" $cmd -o ""
    has_err "--output is empty" "${cmd%% *} -o ''"
done

# A corpus error names the file once.
head -c 200 "$tmp/c.corpus" >"$tmp/cut.corpus"
run 1 "pretrain on a cut corpus" "$BIN" pretrain --corpus "$tmp/cut.corpus" --steps 1 --threads 1 -o "$tmp/r2"
has_err "$tmp/cut.corpus is truncated" "pretrain on a cut corpus"
no_err "$tmp/cut.corpus: $tmp/cut.corpus" "pretrain on a cut corpus"
run 1 "eval on a cut corpus" "$BIN" eval --model "$tmp/run" --corpus "$tmp/cut.corpus"
no_err "$tmp/cut.corpus: $tmp/cut.corpus" "eval on a cut corpus"

# A bad value: one line, pointing to --help.
run 1 "--num 0" "$BIN" generate --model "$tmp/run" -o "$tmp/g3" --num 0
has_err "--num must be between 1 and 100000, got '0' (see 'tunegan generate --help')" "--num 0"
lines_err 1 "--num 0"
run 1 "unknown option" "$BIN" eval --bogus
has_err "unknown option '--bogus' (see 'tunegan eval --help')" "unknown option"
lines_err 1 "unknown option"

# Escaped file names: no raw ESC or newline from a name reaches the terminal.
name=$(printf 'a\033[31mred\nb.mid')
run 1 "notes on an odd name" "$BIN" notes "$name"
has_err 'a\x1b[31mred\nb.mid' "notes on an odd name"
if grep -q "$(printf '\033')" "$tmp/err"; then fail "notes on an odd name: ESC on stderr"; else ok; fi
lines_err 1 "notes on an odd name"
run 1 "detokenize an odd name" "$BIN" detokenize -o "$tmp/x.mid" "$name"
has_err 'a\x1b[31mred\nb.mid' "detokenize an odd name"
run 1 "notes on a UTF-8 name" "$BIN" notes "$tmp/é.mid"
has_err "é.mid" "notes on a UTF-8 name"

# FluidSynth: a file that is not a SoundFont is our one message, not its log.
if "$BIN" --version | grep -q fluidsynth; then
    echo "not a soundfont" >"$tmp/bad.sf2"
    run 1 "render with a bad SoundFont" "$BIN" render -o "$tmp/x.wav" --soundfont "$tmp/bad.sf2" "$tmp/g/sample-000.mid"
    has_err "is not a SoundFont" "render with a bad SoundFont"
    no_err "fluidsynth:" "render with a bad SoundFont"
    no_err "CRITICAL" "render with a bad SoundFont"
    printf 'RIFF\377\377\0\0sfbkLIST' >"$tmp/cut.sf2"
    run 1 "render with a cut SoundFont" "$BIN" render -o "$tmp/x.wav" --soundfont "$tmp/cut.sf2" "$tmp/g/sample-000.mid"
    has_err "is cut short" "render with a cut SoundFont"
    no_err "CRITICAL" "render with a cut SoundFont"
    run 1 "render with a missing SoundFont" "$BIN" render -o "$tmp/x.wav" --soundfont "$tmp/none.sf2" "$tmp/g/sample-000.mid"
    has_err "No such file or directory" "render with a missing SoundFont"
else
    echo "FluidSynth checks: skipped (built without FluidSynth)"
fi

# Partial results of generate.
is_midi() { if [ "$(head -c 4 "$1" 2>/dev/null)" = MThd ]; then ok; else fail "$1 is not a MIDI file"; fi; }
if "$BIN" --version | grep -q fluidsynth; then
    run 1 "generate --render, bad SoundFont" "$BIN" generate --model "$tmp/run" -o "$tmp/sf" --num 2 --render \
        --soundfont "$tmp/bad.sf2" --threads 1
    has_err "is not a SoundFont" "generate --render, bad SoundFont"
    if [ -e "$tmp/sf" ]; then fail "generate --render, bad SoundFont: $tmp/sf was made"; else ok; fi
    run 1 "generate --render, missing SoundFont" "$BIN" generate --model "$tmp/run" -o "$tmp/sf" --num 2 --render \
        --soundfont "$tmp/none.sf2" --threads 1
    has_err "No such file or directory" "generate --render, missing SoundFont"
    if [ -e "$tmp/sf" ]; then fail "generate --render, missing SoundFont: $tmp/sf was made"; else ok; fi
fi
"$BIN" generate --model "$tmp/run" -o "$tmp/int" --num 100000 --batch 4 --length 30 --seed 1 --threads 1 \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 200); do [ -e "$tmp/int/sample-007.mid" ] && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid"
got=$?
if [ "$got" -eq 143 ]; then ok; else fail "generate interrupted: exit $got, want 143"; cat "$tmp/err" >&2; fi
has_err "interrupted (SIGTERM)" "generate interrupted"
n=$(find "$tmp/int" -name 'sample-*.mid' | wc -l)
has_err "wrote $n of 100000 samples to $tmp/int (sample-000 to sample-$(printf %03d $((n - 1))): .mid each)" \
    "generate interrupted"
if [ "$n" -ge 8 ] && [ $((n % 4)) -eq 0 ]; then ok; else fail "generate interrupted: $n samples, want whole batches of 4"; fi
for f in "$tmp"/int/sample-*.mid; do is_midi "$f"; done
if ls "$tmp/int" | grep -q tmp; then fail "generate interrupted: a temporary file is left"; else ok; fi
if "$BIN" --version | grep -q "fluidsynth.*cairo\|cairo.*fluidsynth" && [ "$(id -u)" = 0 ] &&
    mkdir -p "$tmp/small" && mount -t tmpfs -o size=1000k tgsmall "$tmp/small" 2>/dev/null; then
    run 1 "generate --roll --render on a full disk" "$BIN" generate --model "$tmp/run" -o "$tmp/small/o" --num 10 \
        --length 30 --seed 1 --threads 1 --roll --render
    has_err "No space left on device" "generate on a full disk"
    has_err "generate: wrote " "generate on a full disk"
    if ls "$tmp/small/o" | grep -q tmp; then fail "generate on a full disk: a temporary file is left"; else ok; fi
    for f in "$tmp"/small/o/*.mid; do is_midi "$f"; done
    umount "$tmp/small"
else
    echo "generate on a full tmpfs: skipped (needs FluidSynth, cairo, root and mount)"
fi

finish test_cli_exit
