#!/bin/sh
# test_cli_data.sh: the tokenize, detokenize, vocab and data commands on the
# fixtures, checking what they wrote: tokens -> MIDI -> tokens is stable for
# each tokenizer; the notes of the decoded file (tunegan notes) are those of
# the original at the tokenizer's resolution; names and ids give the same
# file; remi-compact is shorter than remi and decodes to the same file; vocab
# has one line per id; bad inputs exit 1 naming the file and line;
# data build + data stats --json on a folder of fixtures with a broken file.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_data.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

ok() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
# expect_status WANT DESCRIPTION COMMAND...: runs the command, stderr to $tmp/err
expect_status() {
    want=$1; what=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else fail "$what: exit $got, want $want"; cat "$tmp/err" >&2; fi
}
# expect_err TEXT DESCRIPTION: the last command's stderr holds TEXT
expect_err() {
    if grep -qF -- "$1" "$tmp/err"; then ok; else fail "$2: stderr lacks '$1'"; cat "$tmp/err" >&2; fi
}
same() { if [ "$1" = "$2" ]; then ok; else fail "$3: '$1' != '$2'"; fi; }

[ -x "$BIN" ] || { echo "FAIL: $BIN not built" >&2; exit 1; }
src=$DATA/format1.mid
[ -f "$src" ] || { echo "skipped: $src missing"; exit 77; }

# --- round trips through files, every tokenizer -------------------------------
for kind in remi grid perf remi-compact; do
    expect_status 0 "tokenize $kind" "$BIN" tokenize --tokenizer $kind "$src"
    cp "$tmp/out" "$tmp/$kind.txt"
    same "$(head -n 1 "$tmp/$kind.txt")" BOS "$kind: first token"
    same "$(tail -n 1 "$tmp/$kind.txt")" EOS "$kind: last token"
    expect_status 0 "detokenize $kind" "$BIN" detokenize --tokenizer $kind -o "$tmp/$kind.mid" "$tmp/$kind.txt"
    expect_err "wrote $tmp/$kind.mid" "detokenize $kind summary"
    expect_status 0 "tokenize decoded $kind" "$BIN" tokenize --tokenizer $kind "$tmp/$kind.mid"
    if cmp -s "$tmp/out" "$tmp/$kind.txt"; then ok; else fail "$kind: tokens of the decoded file differ"; fi
    # ids and stdin give the same MIDI file
    "$BIN" tokenize --tokenizer $kind --ids "$src" >"$tmp/$kind.ids"
    expect_status 0 "detokenize $kind ids from stdin" sh -c "'$BIN' detokenize -t $kind -o '$tmp/${kind}_ids.mid' - <'$tmp/$kind.ids'"
    if cmp -s "$tmp/$kind.mid" "$tmp/${kind}_ids.mid"; then ok; else fail "$kind: ids and names decode differently"; fi
done

# remi-compact: fewer tokens than remi, the same decoded file
[ "$(wc -l <"$tmp/remi-compact.txt")" -lt "$(wc -l <"$tmp/remi.txt")" ] && ok ||
    fail "remi-compact: not shorter than remi"
if cmp -s "$tmp/remi.mid" "$tmp/remi-compact.mid"; then ok; else fail "remi-compact: decodes otherwise than remi"; fi

# notes of the decoded files against the original's, at each tokenizer's resolution
if "$BIN" notes --help >/dev/null 2>&1; then
    "$BIN" notes "$src" >"$tmp/orig.notes"
    div=$(sed -n '1s/.*division=\([0-9]*\).*/\1/p' "$tmp/orig.notes")
    # remi: pitch, start and end in 12ths of a quarter (decoded: 480 ticks per quarter)
    awk -v d="$div" '!/^#/ { s = int($4 * 24 / d + 1) ; e = int($5 * 24 / d + 1);
        print $3, int(s / 2), int(e / 2) }' "$tmp/orig.notes" | sort >"$tmp/want.remi"
    "$BIN" notes "$tmp/remi.mid" | awk '!/^#/ { print $3, $4 / 40, $5 / 40 }' | sort >"$tmp/got.remi"
    if [ -s "$tmp/want.remi" ] && cmp -s "$tmp/want.remi" "$tmp/got.remi"; then ok; else
        fail "remi: notes of the decoded file differ"; diff "$tmp/want.remi" "$tmp/got.remi" >&2; fi
    # perf: pitch, start and end in 10 ms steps
    awk '!/^#/ { printf "%s %d %d\n", $3, int($7 * 100 + 0.5), int($8 * 100 + 0.5) }' "$tmp/orig.notes" |
        sort >"$tmp/want.perf"
    "$BIN" notes "$tmp/perf.mid" | awk '!/^#/ { printf "%s %d %d\n", $3, int($7 * 100 + 0.5), int($8 * 100 + 0.5) }' |
        sort >"$tmp/got.perf"
    if [ -s "$tmp/want.perf" ] && cmp -s "$tmp/want.perf" "$tmp/got.perf"; then ok; else
        fail "perf: notes of the decoded file differ"; diff "$tmp/want.perf" "$tmp/got.perf" >&2; fi
else
    echo "note: 'tunegan notes' not built; decoded notes compared through tokens only"
fi

# --- vocab ---------------------------------------------------------------------
for pair in remi:577 grid:92 perf:391 remi-compact:577; do
    kind=${pair%%:*}; size=${pair#*:}
    expect_status 0 "vocab $kind" "$BIN" vocab --tokenizer $kind
    same "$(wc -l <"$tmp/out" | tr -d ' ')" "$size" "vocab $kind: lines"
    bad=$(awk -F '\t' '$1 != NR - 1 || NF != 2' "$tmp/out" | head -n 1)
    same "$bad" "" "vocab $kind: id<TAB>name lines in id order"
done
"$BIN" vocab --tokenizer grid --step-sec 0.25 --config >"$tmp/out"
same "$(cat "$tmp/out")" "grid:v=1,step_sec=0.25,pitch_min=21,pitch_max=108" "vocab --config"

# --- bad inputs -----------------------------------------------------------------
printf 'BOS\nBar\n\n# a comment\nPosition_0\nProgram_0\nPitch_60\nVelocity_10\nDuration_12\nWibble_3\nEOS\n' >"$tmp/unknown.txt"
expect_status 1 "unknown token" "$BIN" detokenize -o "$tmp/x.mid" "$tmp/unknown.txt"
expect_err "unknown.txt:10: 'Wibble_3' is not a token" "unknown token names its line"
[ ! -e "$tmp/x.mid" ] && ok || fail "a failed detokenize wrote its output"
expect_status 0 "unknown token, lenient" "$BIN" detokenize --lenient -o "$tmp/x.mid" "$tmp/unknown.txt"
expect_err "unknown.txt:10" "lenient warning names the line"
printf 'BOS\nBar\nPosition_0\nPitch_60\nVelocity_10\nDuration_12\nEOS\n' >"$tmp/grammar.txt"
expect_status 1 "grammar error" "$BIN" detokenize -o "$tmp/y.mid" "$tmp/grammar.txt"
expect_err "grammar.txt:4: Pitch_60" "grammar error names its line"
expect_err "no Program before it" "grammar error says why"
expect_status 0 "grammar error, lenient" "$BIN" detokenize -l -o "$tmp/y.mid" "$tmp/grammar.txt"
expect_err "grammar.txt:4: repaired" "a warning per repair"
[ "$(grep -c repaired "$tmp/err")" -eq 3 ] && ok || fail "lenient: 3 repairs expected"
printf '0\n1\n99999\n' >"$tmp/ids.txt"
expect_status 1 "id out of range" "$BIN" detokenize -o "$tmp/z.mid" "$tmp/ids.txt"
expect_err "ids.txt:3: '99999' is not an id" "bad id names its line"
expect_status 1 "no -o" "$BIN" detokenize "$tmp/grammar.txt"
expect_status 1 "missing token file" "$BIN" detokenize -o "$tmp/z.mid" "$tmp/nothere.txt"
expect_err "nothere.txt" "missing token file named"
expect_status 1 "tokenize broken MIDI" "$BIN" tokenize "$DATA/random_bytes.mid"
expect_err "random_bytes.mid" "broken MIDI named"
expect_status 1 "tokenize missing file" "$BIN" tokenize "$tmp/none.mid"
expect_err "none.mid" "missing MIDI named"
expect_status 1 "unknown tokenizer" "$BIN" tokenize --tokenizer abc "$src"
expect_err "unknown tokenizer 'abc'" "unknown tokenizer named"
expect_status 1 "--step-sec on remi" "$BIN" vocab --step-sec 0.2

# --- data build and data stats ----------------------------------------------------
mkdir -p "$tmp/midi/sub" "$tmp/empty"
for f in format0 format1 overlap tempo_map_f1 running_status metas; do cp "$DATA/$f.mid" "$tmp/midi/"; done
cp "$DATA/format2.mid" "$tmp/midi/sub/"
cp "$DATA/format1.mid" "$tmp/midi/sub/LOUD.MIDI"
cp "$DATA/random_bytes.mid" "$tmp/midi/sub/broken.mid"
expect_status 0 "data build" "$BIN" data build -o "$tmp/c.corpus" "$tmp/midi"
expect_err "skipped $tmp/midi/sub/broken.mid: no MThd header" "skipped file named with its reason"
expect_err "9 files found, 8 read, 1 skipped (1 not a Standard MIDI File)" "build summary"
expect_err "data build: 9 files in" "progress summary line"
expect_status 0 "data stats --json" "$BIN" data stats --json "$tmp/c.corpus"
cp "$tmp/out" "$tmp/stats.json"
if [ -x /usr/bin/python3 ]; then
    expect_status 0 "stats JSON content" /usr/bin/python3 -c "
import json, sys
s = json.load(open('$tmp/stats.json'))
assert s['pieces'] == 8, s['pieces']
assert s['vocab_size'] == 577
assert s['tokenizer'].startswith('remi:v=1,')
assert sum(v['pieces'] for v in s['splits'].values()) == 8
assert sum(v['tokens'] for v in s['splits'].values()) == s['tokens']
L = s['length']
assert L['min'] <= L['p50'] <= L['max']
assert 0 <= s['pitch']['min'] <= s['pitch']['max'] <= 127
assert len(s['top_tokens']) == 10 and s['top_tokens'][0]['count'] >= s['top_tokens'][-1]['count']
"
else
    grep -q '"pieces": 8,' "$tmp/stats.json" && ok || fail "stats JSON: 8 pieces"
fi
expect_status 0 "data stats text" "$BIN" data stats "$tmp/c.corpus"
grep -q '^total  *8 ' "$tmp/out" && ok || fail "stats text: total 8 pieces"
expect_status 0 "data build remi-compact" "$BIN" data build -t remi-compact -o "$tmp/rc.corpus" "$tmp/midi"
expect_status 0 "data stats remi-compact" "$BIN" data stats "$tmp/rc.corpus"
grep -q '^tokenizer  *remi-compact:v=1,' "$tmp/out" && ok || fail "stats text: the remi-compact tokenizer"
grep -q '^total  *8 ' "$tmp/out" && ok || fail "stats text remi-compact: total 8 pieces"

# splits from a TSV naming every file (bare names match in subfolders)
printf '# test split\nformat0.mid\ttest\nformat1.mid\tvalid\nformat2.mid\ttrain\nLOUD.MIDI\ttrain\n' >"$tmp/split.tsv"
printf 'overlap.mid\ttrain\ntempo_map_f1.mid\ttrain\nrunning_status.mid\ttrain\nmetas.mid\ttrain\n' >>"$tmp/split.tsv"
printf 'broken.mid\ttrain\n' >>"$tmp/split.tsv"
expect_status 0 "data build --split" "$BIN" data build --split "$tmp/split.tsv" -o "$tmp/s.corpus" "$tmp/midi"
"$BIN" data stats --json "$tmp/s.corpus" >"$tmp/s.json"
grep -q '"test": {"pieces": 1,' "$tmp/s.json" && ok || fail "TSV split: one test piece"
grep -q '"valid": {"pieces": 1,' "$tmp/s.json" && ok || fail "TSV split: one valid piece"
grep -q '"train": {"pieces": 6,' "$tmp/s.json" && ok || fail "TSV split: six train pieces"

# transposition: training copies only
expect_status 0 "transpose" "$BIN" data build --transpose -1..1 --split "$tmp/split.tsv" -o "$tmp/t.corpus" "$tmp/midi"
"$BIN" data stats --json "$tmp/t.corpus" >"$tmp/t.json"
grep -q '"transposed_pieces": 12,' "$tmp/t.json" && ok || fail "transpose: 6 training pieces x 2 copies"
grep -q '"test": {"pieces": 1,' "$tmp/t.json" && ok || fail "transpose: test split untouched"
expect_status 1 "bad transposition" "$BIN" data build --transpose -13..2 -o "$tmp/t2.corpus" "$tmp/midi"
expect_err "--transpose expects LO..HI" "bad transposition explained"

# a TSV and the folder disagree: errors unless --allow-missing
printf 'ghost.mid\ttrain\n' >>"$tmp/split.tsv"
expect_status 1 "split naming a missing file" "$BIN" data build --split "$tmp/split.tsv" -o "$tmp/s2.corpus" "$tmp/midi"
expect_err "names 1 file not found under the folders given (ghost.mid)" "missing file named"
expect_err "--allow-missing" "the way out suggested"
[ ! -e "$tmp/s2.corpus" ] && ok || fail "a failed build wrote its output"
expect_status 0 "split naming a missing file, allowed" "$BIN" data build --allow-missing --split "$tmp/split.tsv" -o "$tmp/s2.corpus" "$tmp/midi"
expect_err "warning: $tmp/split.tsv names 1 file not found" "a warning instead"
printf 'format0.mid\ttest\n' >"$tmp/short.tsv"
expect_status 1 "split not naming every file" "$BIN" data build --split "$tmp/short.tsv" -o "$tmp/s3.corpus" "$tmp/midi"
expect_err "8 files found are not named in $tmp/short.tsv" "unlisted files reported"
printf 'format0.mid\tholdout\n' >"$tmp/bad.tsv"
expect_status 1 "bad split value" "$BIN" data build --split "$tmp/bad.tsv" -o "$tmp/s4.corpus" "$tmp/midi"
expect_err "bad.tsv:1: unknown split 'holdout'" "bad split line named"

# folders and corpora that cannot be used
expect_status 1 "missing folder" "$BIN" data build -o "$tmp/m.corpus" "$tmp/nowhere"
expect_err "folder $tmp/nowhere not found" "missing folder named"
expect_status 1 "empty folder" "$BIN" data build -o "$tmp/m.corpus" "$tmp/empty"
expect_err "no .mid or .midi files under $tmp/empty" "empty folder named"
head -c 200 "$tmp/c.corpus" >"$tmp/cut.corpus"
expect_status 1 "truncated corpus" "$BIN" data stats "$tmp/cut.corpus"
expect_err "$tmp/cut.corpus is truncated" "truncated corpus named"
cp "$src" "$tmp/notacorpus.corpus"
expect_status 1 "not a corpus" "$BIN" data stats "$tmp/notacorpus.corpus"
expect_err "is not a tunegan corpus" "wrong magic reported"
expect_status 1 "data without subcommand" "$BIN" data
expect_status 1 "data unknown subcommand" "$BIN" data frobnicate

echo "test_cli_data: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
