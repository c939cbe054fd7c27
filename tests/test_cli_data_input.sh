#!/bin/bash
# test_cli_data_input.sh: the tokenize, detokenize and data commands against
# input that once passed as good or leaked. tokenize of a piece too long for
# the tokenizer fails without a leak (LeakSanitizer in the ASan build) and
# warns about what `data build` skips; detokenize refuses an empty file and a
# sequence without BOS or EOS unless --lenient; data build skips drum-only
# pieces (grid, perf), a silence over 60 s and files without notes, each
# with its reason (the reader's warnings for the last), and keeps files with
# stray system messages.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_data_input.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
no_leak() { if grep -q "Sanitizer" "$tmp/err"; then fail "$1: $(grep SUMMARY "$tmp/err")"; else ok; fi; }

# long_silence.mid of tools/make_midi_fixtures.py with a gap of 10^6 s, not
# 1000 s (a fixture of tests/data must round-trip through every tokenizer)
printf '\115\124\150\144\000\000\000\006\000\000\000\001\000\140\115\124\162\153\000\000\000\027\000\220\074\144\140' >"$tmp/huge_silence.mid"
printf '\200\074\100\333\306\340\000\220\076\144\140\200\076\100\000\377\057\000' >>"$tmp/huge_silence.mid"
run 0 "notes of the huge silence" "$BIN" notes "$tmp/huge_silence.mid"
has_out "1000000.500000" "the second note 10^6 s late"

# tokenize: the error path of a piece too long for the tokenizer frees its sequence
for kind in remi perf; do
    run 1 "tokenize -t $kind of a piece too long" "$BIN" tokenize -t $kind "$tmp/huge_silence.mid"
    has_err "too long for this tokenizer" "$kind: too long"
    no_leak "$kind: too long"
done
run 0 "tokenize -t grid of a huge silence" "$BIN" tokenize -t grid "$tmp/huge_silence.mid"
has_err "huge_silence.mid: a silence of 1000000 s (from 0.5 s to 1000000.5 s): over the 60 s a piece may hold" "silence warned"
run 0 "tokenize -t grid of drums" "$BIN" tokenize -t grid "$DATA/drums_only.mid"
has_err "drums_only.mid: only drum notes (channel 10), which the grid tokenizer leaves out" "drums warned"
[ "$(wc -l <"$tmp/out")" -eq 2 ] && ok || fail "grid tokens of drums: $(wc -l <"$tmp/out") lines, want BOS and EOS"
run 0 "tokenize -t remi of drums" "$BIN" tokenize -t remi "$DATA/drums_only.mid"
grep -q "drum" "$tmp/err" && fail "remi keeps drums, yet a warning: $(cat "$tmp/err")" || ok

# detokenize: a sequence runs from BOS to EOS
"$BIN" tokenize "$DATA/format1.mid" >"$tmp/whole.txt"
head -n 12 "$tmp/whole.txt" >"$tmp/cut.txt"
tail -n +2 "$tmp/whole.txt" >"$tmp/nobos.txt"
: >"$tmp/empty.txt"
run 0 "detokenize a whole sequence" "$BIN" detokenize -o "$tmp/whole.mid" "$tmp/whole.txt"
run 1 "detokenize a cut sequence" "$BIN" detokenize -o "$tmp/cut.mid" "$tmp/cut.txt"
has_err "cut.txt: no EOS after line 12, where it ends: the sequence is incomplete" "cut"
[ -e "$tmp/cut.mid" ] && fail "an incomplete sequence was written" || ok
run 0 "detokenize --lenient a cut sequence" "$BIN" detokenize --lenient -o "$tmp/cut.mid" "$tmp/cut.txt"
has_err "warning: $tmp/cut.txt: no EOS" "lenient cut warned"
[ -s "$tmp/cut.mid" ] && ok || fail "--lenient wrote nothing"
run 1 "detokenize without BOS" "$BIN" detokenize -o "$tmp/nobos.mid" "$tmp/nobos.txt"
has_err "nobos.txt: no BOS at line 1" "no BOS"
run 1 "detokenize an empty file" "$BIN" detokenize -o "$tmp/empty.mid" "$tmp/empty.txt"
has_err "empty.txt: no tokens (an empty file)" "empty"
run 1 "detokenize empty stdin" sh -c "'$BIN' detokenize -o '$tmp/empty.mid' - </dev/null"
has_err "(stdin): no tokens" "empty stdin"
run 0 "detokenize --lenient an empty file" "$BIN" detokenize --lenient -o "$tmp/empty.mid" "$tmp/empty.txt"
no_leak "detokenize"

# data build: what it skips, and why
mkdir -p "$tmp/midi"
for f in format0 format1 drums_only long_silence no_notes_damaged system_realtime; do cp "$DATA/$f.mid" "$tmp/midi/"; done
cp "$tmp/huge_silence.mid" "$tmp/midi/"
run 0 "data build -t grid" "$BIN" data build -t grid -o "$tmp/g.corpus" "$tmp/midi"
has_err "skipped $tmp/midi/drums_only.mid: only drum notes (channel 10), which the grid tokenizer leaves out" "drums skipped"
has_err "skipped $tmp/midi/long_silence.mid: a silence of 1000 s" "silence skipped"
has_err "skipped $tmp/midi/huge_silence.mid: a silence of 1000000 s" "huge silence skipped"
has_err "skipped $tmp/midi/no_notes_damaged.mid: no notes (the reader: track 0: a data byte 0x3C where a status byte should be at byte 23 (no running status)" "no notes with the reader's words"
has_err "7 files found, 3 read, 4 skipped (1 without notes, 3 unfit for a piece)" "summary"
grep -q "skipped $tmp/midi/system_realtime.mid" "$tmp/err" && fail "a file with stray system bytes was skipped" || ok
run 0 "data stats" "$BIN" data stats --json "$tmp/g.corpus"
tokens=$(grep -o '"tokens": [0-9]*' "$tmp/out" | head -n 1 | grep -o '[0-9]*$')
less "$tokens" 1000 "corpus tokens (the long silence once gave 2.5 million)"
run 0 "data build -t remi" "$BIN" data build -t remi -o "$tmp/r.corpus" "$tmp/midi"
has_err "7 files found, 4 read, 3 skipped (1 without notes, 2 unfit for a piece)" "remi keeps drums"

finish test_cli_data_input
