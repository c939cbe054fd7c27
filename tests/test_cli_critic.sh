#!/bin/bash
# test_cli_critic.sh: `tunegan critic`, checking what it printed.
#   fixtures    two folders of fixtures give a JSON object with every figure,
#               the accuracy inside its interval and within [0, 1]; the same
#               seed repeats it; the table names its parts; a missing set, a
#               folder without MIDI, too few pieces for --folds, --bars with a
#               tokenizer without bars, a malformed --bars A-B or one too few
#               pieces reach and a missing --fake are clear errors; --bars 1-1
#               is --bars 1; --score DIR reads the real set's pieces as real
#               and the sampled set's as sampled, names each piece, and refuses
#               a missing or empty folder and a corpus;
#               --tells names n-grams both ways (table and JSON) and refuses
#               past its limit; plot --table draws a PNG whose error bars show, and names a
#               missing column and a ragged row.
#   nottingham  the controls (exit 77 without ../shared/data): real against
#               real (the train split against the valid split, first 16 bars,
#               and bars 5-8 alone) must score near 50 %, its Wilson interval
#               holding 0.5;
#               bigram-model samples against the test split near 100 %.
# Usage: test_cli_critic.sh fixtures|nottingham NGRAM_SAMPLES.
# Environment (ctest): TG_BIN, TG_TEST_DATA, TG_SHARED_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
MODE=${1:?usage: test_cli_critic.sh fixtures|nottingham NGRAM_SAMPLES}
NGRAM=${2:?usage: test_cli_critic.sh fixtures|nottingham NGRAM_SAMPLES}
tmp=$(mktemp -d /tmp/tg_cli_critic.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

inside() { # the accuracy lies in [accuracy_lo, accuracy_hi] and in [0, 1]
    awk -v a="$(json accuracy)" -v l="$(json accuracy_lo)" -v h="$(json accuracy_hi)" \
        'BEGIN { exit !(a != "" && l <= a && a <= h && l >= 0 && h <= 1) }' && ok || fail "$1: interval"
}

if [ "$MODE" = fixtures ]; then
    DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
    mkdir "$tmp/a" "$tmp/b" "$tmp/empty"
    for f in format0 format1 format2 tempo_map_f1; do cp "$DATA/$f.mid" "$tmp/a/"; done
    for f in running_status overlap program_shared rmid sysex; do cp "$DATA/$f.mid" "$tmp/b/"; done
    run 0 "a vs b" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --json
    for k in accuracy accuracy_lo accuracy_hi auc auc_lo auc_hi correct heldout per_class train_accuracy \
             real_bars fake_bars; do
        grep -q "\"$k\":" "$tmp/out" && ok || fail "JSON lacks $k"
    done
    inside "a vs b"
    [ "$(json per_class)" = 4 ] && ok || fail "4 pieces a class (the smaller set): $(json per_class)"
    [ "$(json heldout)" = 8 ] && ok || fail "every piece held out once: $(json heldout)"
    cp "$tmp/out" "$tmp/first"
    run 0 "a vs b again" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --json
    cmp -s "$tmp/out" "$tmp/first" && ok || fail "the same seed gives another result"
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" && ok || fail "JSON does not parse"
    fi
    run 0 "table" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --bars 2
    for s in "accuracy" "Wilson 95 %" "AUC" "4 of each" "2-fold"; do has_out "$s" "table"; done
    # --tells: the n-grams that read as real and as sampled, named, in the table and the JSON
    run 0 "tells" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --tells 3
    has_out "tells of real pieces" "tells"
    has_out "tells of sampled pieces" "tells"
    grep -qE '^ +\+[0-9.]+ +real +[0-9]+ +sampled +[0-9]+ +[A-Z]' "$tmp/out" && ok || fail "a real tell is not a named n-gram"
    run 0 "tells JSON" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --tells 3 --json
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["tells"]
assert len(t["real"]) == 3 and len(t["sampled"]) == 3, t
assert all(x["weight"] > 0 for x in t["real"]) and all(x["weight"] < 0 for x in t["sampled"]), t
assert all(x["ngram"] and isinstance(x["ngram"][0], str) for x in t["real"] + t["sampled"]), t
assert d["accuracy"] >= 0' "$tmp/out" && ok || fail "--tells JSON: $(cat "$tmp/out")"
    fi
    run 1 "tells past the limit" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --tells 65
    run 1 "tells with 9-grams" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --tells 3 --ngram 9
    # --paired: twins by file name (c holds three of a's names and one other)
    mkdir "$tmp/c"
    for f in format0 format1 tempo_map_f1; do cp "$DATA/$f.mid" "$tmp/c/"; done
    cp "$DATA/overlap.mid" "$tmp/c/"
    run 0 "paired" "$BIN" critic --real "$tmp/a" --fake "$tmp/c" -k 2 --paired --json
    has_err "3 pairs by file name (1 real and 1 sampled pieces without a twin left out)" "pairs counted"
    [ "$(json per_class)" = 3 ] && ok || fail "3 pairs: $(json per_class)"
    run 1 "paired without common names" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --paired
    has_err "file names in common" "no twins named"
    run 1 "missing set" "$BIN" critic --real "$tmp/nope" --fake "$tmp/b"
    has_err "--real $tmp/nope: no such folder or corpus file" "missing set named"
    run 1 "empty folder" "$BIN" critic --real "$tmp/a" --fake "$tmp/empty"
    has_err "--fake $tmp/empty" "empty folder named"
    run 1 "too many folds" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 5
    has_err "--folds 5 exceeds the 4 pieces" "folds"
    run 1 "bars without Bar tokens" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --tokenizer grid --bars 4
    has_err "--bars needs a tokenizer with bars" "grid has no bars"
    # --bars A-B: bars 1-1 is --bars 1; pieces without bar A are counted and left out; bad ranges refused
    run 0 "first bar" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --bars 1 --json
    cp "$tmp/out" "$tmp/first"
    run 0 "bars 1-1" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --bars 1-1 --json
    cmp -s "$tmp/out" "$tmp/first" && ok || fail "--bars 1-1 is not --bars 1"
    cp "$DATA/long_silence.mid" "$tmp/a/"
    run 1 "bars 2-3" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --bars 2-3
    has_err "--bars 2-3: 2 real and 5 sampled pieces have no bar 2, left out" "pieces without bar 2 counted"
    has_err "fewer than 2 pieces of a set have bar 2" "too few left"
    rm "$tmp/a/long_silence.mid"
    for bad in 3-2 0-2 x 2- -1; do
        run 1 "--bars $bad" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --bars "$bad"
        has_err "--bars $bad: give N (the first N bars) or A-B" "--bars $bad refused"
    done
    # --score: a critic fitted on every piece reads a's pieces as real and b's as sampled
    run 0 "score a" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --score "$tmp/a" --json
    cp "$tmp/out" "$tmp/score_a"
    run 0 "score b" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --score "$tmp/b" --json
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c '
import json, sys
a, b = (json.load(open(f))["scores"] for f in sys.argv[1:3])
assert sorted(x["name"] for x in a) == ["format0.mid", "format1.mid", "format2.mid", "tempo_map_f1.mid"], a
assert len(b) == 5 and all(x["name"].endswith(".mid") for x in b), b
assert min(x["logit"] for x in a) > 0 > max(x["logit"] for x in b), (a, b)' "$tmp/score_a" "$tmp/out" && ok ||
            fail "--score: a should read real and b sampled: $(cat "$tmp/score_a" "$tmp/out")"
    fi
    run 0 "score table" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --score "$tmp/c"
    has_out "scores of $tmp/c" "score table"
    grep -qE '^ +[+-][0-9]+\.[0-9]{4}  overlap\.mid$' "$tmp/out" && ok || fail "a scored piece is not named"
    run 1 "score a missing folder" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --score "$tmp/nope"
    has_err "--score $tmp/nope: no such folder or corpus file" "missing score set named"
    run 1 "score an empty folder" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --score "$tmp/empty"
    has_err "--score $tmp/empty" "empty score set named"
    "$BIN" data build -t remi -o "$tmp/ab.corpus" "$tmp/a" >/dev/null 2>&1
    run 1 "score a corpus" "$BIN" critic --real "$tmp/a" --fake "$tmp/b" -k 2 --score "$tmp/ab.corpus"
    has_err "--score $tmp/ab.corpus: give a folder of MIDI files" "a corpus refused"
    run 1 "no --fake" "$BIN" critic --real "$tmp/a"
    has_err "give --real SET and --fake SET" "missing --fake"
    # plot --table, which draws the protocol's quality-diversity curves
    if "$BIN" --version | grep -q cairo; then
        printf 'series\tlabel\tdiv\tq\tq_lo\tq_hi\nA\tT0.6\t0.2\t0.5\t0.4\t0.6\nA\tT1.0\t0.6\t0.4\t0.3\t0.5\nB\tv\t0.7\tnan\t\t\n' \
            >"$tmp/t.tsv"
        run 0 "plot --table" "$BIN" plot --table "$tmp/t.tsv" --x div --y q -o "$tmp/t.png"
        [ "$(head -c 4 "$tmp/t.png" | od -An -c | tr -d ' ')" = '211PNG' ] && ok || fail "t.png is not a PNG"
        cut -f 1-4 "$tmp/t.tsv" >"$tmp/u.tsv"
        run 0 "plot --table without error bars" "$BIN" plot --table "$tmp/u.tsv" --x div --y q -o "$tmp/u.png"
        cmp -s "$tmp/t.png" "$tmp/u.png" && fail "error bars drew nothing" || ok
        run 1 "plot --table, no such column" "$BIN" plot --table "$tmp/t.tsv" --x div --y nope -o "$tmp/v.png"
        has_err "has no column 'nope'" "missing column named"
        printf 'a\tb\n1\t2\t3\n' >"$tmp/bad.tsv"
        run 1 "plot --table, ragged row" "$BIN" plot --table "$tmp/bad.tsv" --x a --y b -o "$tmp/v.png"
        has_err "bad.tsv:2: 3 fields, the header has 2" "ragged row named"
        [ -e "$tmp/v.png" ] && fail "a failed plot wrote a file" || ok
        run 1 "plot --table without -o" "$BIN" plot --table "$tmp/t.tsv" --x div --y q
        has_err "--table needs" "missing -o"
    fi
    finish "test_cli_critic fixtures"
    exit
fi

NOTT=${TG_SHARED_DATA:-../shared/data}/nottingham
if [ ! -f "$NOTT/split.tsv" ]; then
    echo "skipped: $NOTT/split.tsv not found (the Nottingham data lives in ../shared/data)"
    exit 77
fi
C=$tmp/nott.corpus
run 0 "corpus" "$BIN" data build -t remi --split "$NOTT/split.tsv" -j 1 -o "$C" "$NOTT/full"
# real against real: the train split (cut to the valid pieces' bars) against the valid split
run 0 "train vs valid" "$BIN" critic --real "$C:train" --fake "$C:valid" --bars 16 --json
inside "real vs real"
awk -v l="$(json accuracy_lo)" -v h="$(json accuracy_hi)" 'BEGIN { exit !(l < 0.5 && 0.5 < h) }' && ok ||
    fail "real vs real: the interval [$(json accuracy_lo), $(json accuracy_hi)] leaves out 0.5"
near "$(json accuracy)" 0.5 0.1 "real vs real accuracy"
near "$(json auc)" 0.5 0.1 "real vs real AUC"
# bars 5-8 alone, real against real: near 50 %, every piece cut to 4 bars
run 0 "train vs valid, bars 5-8" "$BIN" critic --real "$C:train" --fake "$C:valid" --bars 5-8 --json
inside "real vs real, bars 5-8"
awk -v l="$(json accuracy_lo)" -v h="$(json accuracy_hi)" 'BEGIN { exit !(l < 0.5 && 0.5 < h) }' && ok ||
    fail "real vs real, bars 5-8: the interval [$(json accuracy_lo), $(json accuracy_hi)] leaves out 0.5"
awk -v r="$(json real_bars)" -v f="$(json fake_bars)" 'BEGIN { exit !(r <= 4 && f <= 4 && f > 3.5) }' && ok ||
    fail "bars 5-8: mean bars real $(json real_bars), fake $(json fake_bars)"
# bigram noise against real: near 100 %
run 0 "bigram samples" "$NGRAM" --corpus "$C" --order 2 --count 100 --seed 1 -o "$tmp/bigram"
run 0 "bigram vs test" "$BIN" critic --real "$C:test" --fake "$tmp/bigram" --bars 16 --json
inside "bigram vs real"
less 0.95 "$(json accuracy)" "bigram vs real accuracy"
less 0.98 "$(json auc)" "bigram vs real AUC"
finish "test_cli_critic nottingham"
