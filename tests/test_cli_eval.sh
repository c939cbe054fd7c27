#!/bin/bash
# test_cli_eval.sh: `tunegan eval` on the fixtures, checking what it printed:
# a set against itself gives BLEU 1 and intra-set overlap 1; folders and
# corpus splits give the same tokens; the table has every section and the
# JSON every metric; bar similarity of a piece cycling through four bars,
# its similarity error against itself (0), its copy rate against itself (1)
# and a transposed copy's (0), --bars and --train; a broken file is skipped
# and named; empty folders,
# missing paths, a --tokenizer that differs from the corpus's and a model
# trained with another tokenizer are clear errors; --model reports an NLL
# whose perplexity is its exponential, with stride = context equal to the
# training loop's figure; the harmonic fit and voice leading of hand-made
# pieces (decoded from remi tokens) with known counts, --melody-track,
# --voices; ngram_samples (the baseline floors) is repeatable
# and its samples can be evaluated.
# Usage: test_cli_eval.sh NGRAM_SAMPLES. Environment (ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
NGRAM=${1:?usage: test_cli_eval.sh NGRAM_SAMPLES}
tmp=$(mktemp -d /tmp/tg_cli_eval.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

mkdir "$tmp/a" "$tmp/b" "$tmp/empty" "$tmp/broken" "$tmp/all"
for f in format0 format1 format2 tempo_map_f1; do cp "$DATA/$f.mid" "$tmp/a/"; done
for f in running_status overlap program_shared rmid sysex; do cp "$DATA/$f.mid" "$tmp/b/"; done
cp "$DATA/random_bytes.mid" "$tmp/broken/noise.mid"
cp "$tmp"/a/*.mid "$tmp"/b/*.mid "$tmp/all/"

# --- a set against itself ------------------------------------------------------
run 0 "a vs a" "$BIN" eval --samples "$tmp/a" --reference "$tmp/a" --json
near "$(json bleu)" 1 1e-12 "BLEU of a set against itself"
n_oa=$(grep -o '"oa_intra":[0-9.e+-]*' "$tmp/out" | wc -l)
[ "$n_oa" -eq 7 ] && ok || fail "7 overlap features, got $n_oa"
for v in $(grep -o '"oa_intra":[0-9.e+-]*' "$tmp/out" | cut -d: -f2); do near "$v" 1 1e-3 "oa_intra of identical sets"; done
near "$(json zipf_mse)" 0 1e-15 "zipf_mse of identical sets"
near "$(json pitch_mse)" 0 1e-15 "pitch_mse of identical sets"
for k in bleu bleu_sentence_mean self_bleu self_bleu_reference zipf_mse zipf_mse_nearest pitch_mse \
         pitch_range n_pitches_used polyphony scale_consistency pitch_class_entropy empty_beat_rate \
         groove_consistency pitch_count note_length_hist avg_ioi; do
    grep -q "\"$k\":" "$tmp/out" && ok || fail "JSON lacks $k"
done
[ "$(grep -c . "$tmp/out")" -eq 1 ] && ok || fail "JSON is not one line"
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" && ok || fail "JSON does not parse"
fi

# --- two sets, the table ------------------------------------------------------
run 0 "a vs b table" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b"
for s in "BLEU-4" "self-BLEU" "zipf_mse" "pitch_mse" "music statistics" "scale_consistency" "overlap" \
         "note_length_hist" "4 pieces" "5 pieces"; do has_out "$s" "table"; done

# --- bad input ----------------------------------------------------------------------
cp "$DATA/random_bytes.mid" "$tmp/a/zz_broken.mid"
run 0 "a broken file is skipped" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b" --json
has_err "skipped $tmp/a/zz_broken.mid" "broken file named"
[ "$(json skipped)" = 1 ] && ok || fail "JSON skipped count: $(json skipped)"
rm "$tmp/a/zz_broken.mid"
run 1 "empty folder" "$BIN" eval --samples "$tmp/empty" --reference "$tmp/b"
has_err "no MIDI file" "empty folder"
run 1 "only broken files" "$BIN" eval --samples "$tmp/a" --reference "$tmp/broken"
has_err "none of its 1 MIDI files could be read" "only broken files"
has_err "noise.mid" "only broken files: named"
run 1 "missing folder" "$BIN" eval --samples "$tmp/nowhere" --reference "$tmp/b"
has_err "$tmp/nowhere: no such folder or corpus file" "missing folder"
run 1 "samples without reference" "$BIN" eval --samples "$tmp/a"
run 1 "bad segment" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b" --segment -3
run 0 "help" "$BIN" eval --help
has_out "--reference" "help"

# --- corpora ------------------------------------------------------------------------
: >"$tmp/split.tsv"
for f in "$tmp"/a/*.mid; do printf '%s\ttest\n' "$(basename "$f")" >>"$tmp/split.tsv"; done
for f in "$tmp"/b/*.mid; do printf '%s\ttrain\n' "$(basename "$f")" >>"$tmp/split.tsv"; done
run 0 "data build remi" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -j 1 -o "$tmp/c.corpus" "$tmp/all"
run 0 "data build grid" "$BIN" data build --tokenizer grid --split "$tmp/split.tsv" -j 1 -o "$tmp/g.corpus" "$tmp/all"
run 0 "folders" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b" --json
cp "$tmp/out" "$tmp/folders.json"
run 0 "corpus splits" "$BIN" eval --samples "$tmp/c.corpus" --reference "$tmp/c.corpus:train" --json
for k in bleu self_bleu self_bleu_reference zipf_mse pitch_mse; do
    a=$(grep -o "\"$k\":[-0-9.e+]*" "$tmp/folders.json" | head -n 1)
    b=$(grep -o "\"$k\":[-0-9.e+]*" "$tmp/out" | head -n 1)
    [ -n "$a" ] && [ "$a" = "$b" ] && ok || fail "$k: folders give $a, the corpus's splits $b"
done
run 1 "tokenizer differs from the corpus's" "$BIN" eval --samples "$tmp/a" --reference "$tmp/c.corpus:train" --tokenizer grid
has_err "differs from the corpus's tokenizer" "tokenizer mismatch"
run 1 "--step-sec with a corpus" "$BIN" eval --samples "$tmp/a" --reference "$tmp/g.corpus:train" --step-sec 0.2
has_err "a corpus fixes its tokenizer" "--step-sec with a corpus"
run 1 "two corpora, two tokenizers" "$BIN" eval --samples "$tmp/g.corpus" --reference "$tmp/c.corpus:train"
has_err "was built with tokenizer" "corpora mismatch"
run 1 "empty split" "$BIN" eval --samples "$tmp/c.corpus:valid" --reference "$tmp/c.corpus:train"
has_err "the valid split holds no piece" "empty split"
run 0 "grid with segments" "$BIN" eval --samples "$tmp/g.corpus:test" --reference "$tmp/g.corpus:train" --segment 32 --json
[ "$(json segment)" = 32 ] && ok || fail "segment not reported"

# --- structure: bar similarity and copies ----------------------------------------------
# remi tokens of a 4/4 piece of N bars cycling through four motifs that share
# no note, transposed by T semitones: similarity 1 at d = 4, 8, ... and 0 at
# other distances; all its 4-bar windows are in a training set that holds it,
# none of the transposed piece's.
cycle_tokens() { # N T
    local motifs=("60 0 12,64 12 12,67 24 24" "62 0 24,65 24 12,69 36 12" "72 0 12,71 12 12,70 24 24" \
                  "55 0 24,57 24 12,59 36 12")
    echo BOS
    for ((b = 0; b < $1; b++)); do
        echo Bar
        [ $b = 0 ] && echo TimeSig_4/4
        IFS=, read -ra notes <<<"${motifs[$((b % 4))]}"
        for n in "${notes[@]}"; do
            set -- "$1" "$2" $n
            printf 'Position_%s\nProgram_0\nPitch_%s\nVelocity_19\nDuration_%s\n' "$4" $(($3 + $2)) "$5"
        done
    done
    echo EOS
}
mkdir "$tmp/cyc" "$tmp/cyc_up"
cycle_tokens 16 0 >"$tmp/cyc.txt"
cycle_tokens 16 2 >"$tmp/cyc_up.txt"
run 0 "detokenize cycle" "$BIN" detokenize -o "$tmp/cyc/cycle.mid" "$tmp/cyc.txt"
run 0 "detokenize cycle up" "$BIN" detokenize -o "$tmp/cyc_up/cycle_up.mid" "$tmp/cyc_up.txt"
run 0 "structure vs itself" "$BIN" eval --samples "$tmp/cyc" --reference "$tmp/cyc" --train "$tmp/cyc" --json
sims=$(grep -o '"samples":\[[^]]*\]' "$tmp/out" | sed 's/.*\[//; s/\]//')
[ "$sims" = "0,0,0,1,0,0,0,1,0,0,0,1,0,0,0,null" ] && ok || fail "bar similarity of the cycle: $sims"
near "$(json similarity_error)" 0 0 "similarity error of a set against itself"
near "$(json rate)" 1 0 "copy rate of a set against itself"
[ "$(json windows)" = 13 ] && ok || fail "16 bars have 13 windows of 4, got $(json windows)"
[ "$(json bars)" = 32 ] && ok || fail "default --bars is 32"
run 0 "transposed copies" "$BIN" eval --samples "$tmp/cyc_up" --reference "$tmp/cyc" --train "$tmp/cyc" --json
near "$(json rate)" 0 0 "a transposed piece copies no window"
near "$(json similarity_error)" 0 0 "transposition keeps the profile"
run 0 "first 8 bars" "$BIN" eval --samples "$tmp/cyc" --reference "$tmp/a" --bars 8 --json
grep -q '"samples":\[0,0,0,1,0,0,0,null,' "$tmp/out" && ok || fail "--bars 8 leaves no pair at d = 8"
[ "$(json copy_rate)" = null ] && ok || fail "copy_rate without --train: $(json copy_rate)"
run 0 "structure table" "$BIN" eval --samples "$tmp/cyc" --reference "$tmp/a" --train "$tmp/cyc"
for s in "bar similarity (Museformer" "similarity error" "copy rate " "(13 of 13 4-bar windows" "train      "; do
    has_out "$s" "structure table"
done
run 0 "train as a corpus: its train split" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b" --train "$tmp/c.corpus" --json
grep -q "\"train\":{\"source\":\"$tmp/c.corpus\",\"pieces\":5" "$tmp/out" && ok || fail "--train CORPUS: not its 5 train pieces"
run 1 "missing train set" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b" --train "$tmp/nowhere"
has_err "--train $tmp/nowhere: no such folder or corpus file" "missing train set"
run 1 "train set of another tokenizer" "$BIN" eval --samples "$tmp/c.corpus" --reference "$tmp/c.corpus:train" --train "$tmp/g.corpus"
has_err "was built with tokenizer" "train corpus mismatch"
run 1 "bad --bars" "$BIN" eval --samples "$tmp/a" --reference "$tmp/b" --bars -1
run 0 "help: structure" "$BIN" eval --help
for s in "--train SET" "--bars N" "bar similarity" "copy rate"; do has_out "$s" "help"; done

# --- harmony and voice leading (issue 20) ------------------------------------------------
# remi tokens of notes given as "track pitch start end" in 16ths (3 steps of
# remi's 12 a quarter), in 4/4; track k is Program_k, so each decodes to its
# own track, in track order.
notes_tokens() { # FILE of notes
    echo BOS
    sort -k3,3n -k1,1n "$1" | awk 'BEGIN { pos = -1 }
        { bar = int($3 / 16); while (cur <= bar) { print "Bar"; if (cur == 0) print "TimeSig_4/4"; cur++; pos = -1 }
          if ($3 % 16 != pos) { pos = $3 % 16; printf "Position_%d\n", pos * 3 }
          printf "Program_%d\nPitch_%d\nVelocity_19\nDuration_%d\n", $1, $2, ($4 - $3) * 3 }'
    echo EOS
}
# the chorale of tests/test_harmony.c: over 8 beats one parallel fifth, one
# parallel octave, a crossing begun once and counted at two onsets, one
# soprano note out of range
cat >"$tmp/chorale.txt" <<'NOTES'
0 67 0 4
0 69 4 8
0 71 8 16
0 72 16 20
0 74 20 24
0 81 24 32
1 64 0 8
1 62 8 28
1 63 28 32
2 55 0 24
2 64 24 32
3 48 0 4
3 50 4 8
3 43 8 16
3 48 16 20
3 50 20 32
NOTES
# melody (track 0) over chords (track 1): onsets C fits, E fits, F# does not,
# G over silence, D fits: 3 of 4, one onset of five silent
cat >"$tmp/tune.txt" <<'NOTES'
0 72 0 4
0 76 4 8
0 78 8 12
0 79 12 16
0 74 16 20
1 60 0 12
1 64 0 12
1 67 0 12
1 55 16 20
1 59 16 20
1 62 16 20
NOTES
mkdir "$tmp/chor" "$tmp/tune"
notes_tokens "$tmp/chorale.txt" >"$tmp/chorale.tok"
notes_tokens "$tmp/tune.txt" >"$tmp/tune.tok"
run 0 "detokenize chorale" "$BIN" detokenize -o "$tmp/chor/chorale.mid" "$tmp/chorale.tok"
run 0 "detokenize tune" "$BIN" detokenize -o "$tmp/tune/tune.mid" "$tmp/tune.tok"
run 0 "voice leading" "$BIN" eval --samples "$tmp/chor" --reference "$tmp/chor" --json
near "$(json parallel_fifths)" 12.5 1e-12 "one parallel fifth in 8 beats"
near "$(json parallel_octaves)" 12.5 1e-12 "one parallel octave in 8 beats"
near "$(json voice_crossings)" 25 1e-12 "a crossing at two onsets"
near "$(json crossings_begun)" 12.5 1e-12 "one crossing begun"
near "$(json out_of_range)" 12.5 1e-12 "one note out of range"
[ "$(json four_voice_pieces)" = 1 ] && ok || fail "four-voice pieces: $(json four_voice_pieces)"
/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>/dev/null && ok || fail "JSON with voice leading does not parse"
run 0 "harmonic fit, top line" "$BIN" eval --samples "$tmp/tune" --reference "$tmp/chor" --json
near "$(json fit)" 0.75 1e-12 "fit of the top line"
near "$(json silent_share)" 0.2 1e-12 "one silent onset of five"
[ "$(json voice_leading)" = null ] && ok || fail "voice leading of two-track samples: $(json voice_leading)"
run 0 "harmonic fit, track 1 as melody" "$BIN" eval --samples "$tmp/tune" --reference "$tmp/tune" --melody-track 1 --json
near "$(json fit)" 0.33333333333 1e-9 "chords as the melody: 2 of 6"
run 0 "harmony table" "$BIN" eval --samples "$tmp/chor" --reference "$tmp/tune"
for s in "harmonic fit (issue 20): melody = the top line" "voice leading (four tracks" "parallel fifths" \
         "(S 60-79, A 55-74, T 48-67, B 40-60)"; do has_out "$s" "harmony table"; done
run 0 "voice leading n/a" "$BIN" eval --samples "$tmp/tune" --reference "$tmp/chor"
has_out "voice leading: n/a (0 of 1 samples are four voices" "voice leading n/a"
run 1 "--voices satb without four voices" "$BIN" eval --samples "$tmp/tune" --reference "$tmp/chor" --voices satb
has_err "none of the samples is four voices" "--voices satb"
run 1 "bad --voices" "$BIN" eval --samples "$tmp/chor" --reference "$tmp/chor" --voices bach
has_err "--voices must be auto, satb or off" "bad --voices"
run 0 "--voices off" "$BIN" eval --samples "$tmp/chor" --reference "$tmp/chor" --voices off --json
[ "$(json voice_leading)" = null ] && ok || fail "--voices off: $(json voice_leading)"
run 0 "help: harmony" "$BIN" eval --help
for s in "--melody-track N" "--voices MODE" "harmonic fit"; do has_out "$s" "help"; done

# --- likelihood -----------------------------------------------------------------------
M="--corpus $tmp/c.corpus --d-model 32 --layers 1 --heads 2 --context 16 --batch 2 --steps 3 --eval-every 3 --warmup 1 --seed 3 --threads 1"
run 0 "pretrain" "$BIN" pretrain $M -o "$tmp/run"
run 0 "eval --model, stride 16 (= context)" "$BIN" eval --model "$tmp/run" --corpus "$tmp/c.corpus" --split test --stride 16 --threads 1 --json
nll16=$(json nll)
ppl=$(json perplexity)
near "$ppl" "$(awk -v x="$nll16" 'BEGIN { printf "%.12g", exp(x) }')" 1e-6 "perplexity = exp(nll)"
[ "$(json stride)" = 16 ] && ok || fail "stride not reported"
run 0 "eval --model, default stride" "$BIN" eval --model "$tmp/run/model.safetensors" --corpus "$tmp/c.corpus" --threads 1
has_out "perplexity" "table"
has_out "stride 8" "default stride is half the context"
run 1 "model vs grid corpus" "$BIN" eval --model "$tmp/run" --corpus "$tmp/g.corpus"
has_err "trained with tokenizer" "model/corpus tokenizer mismatch"
run 1 "bad split" "$BIN" eval --model "$tmp/run" --corpus "$tmp/c.corpus" --split dev
has_err "--split" "bad split"
run 1 "stride beyond context" "$BIN" eval --model "$tmp/run" --corpus "$tmp/c.corpus" --stride 17
has_err "exceeds the model's context" "stride"
run 1 "missing checkpoint" "$BIN" eval --model "$tmp/nowhere" --corpus "$tmp/c.corpus"
has_err "nowhere" "missing checkpoint"
run 1 "model and samples" "$BIN" eval --model "$tmp/run" --samples "$tmp/a" --reference "$tmp/b"
run 1 "model and train" "$BIN" eval --model "$tmp/run" --corpus "$tmp/c.corpus" --train "$tmp/c.corpus"

# --- floors ---------------------------------------------------------------------------
# remi's grammar (Bar Position Program Pitch Velocity Duration) is almost never
# met by unigram draws, so the unigram floor is checked with grid, every token
# of which is a key or a rest, and the bigram floor with remi
run 0 "unigram samples" "$NGRAM" --corpus "$tmp/g.corpus" --order 1 --count 6 --seed 9 -o "$tmp/uni"
has_err "decoding repairs" "ngram_samples summary"
empty_uni=$(sed -n 's/.* \([0-9]*\) samples without a note.*/\1/p' "$tmp/err")
run 0 "unigram samples again" "$NGRAM" --corpus "$tmp/g.corpus" --order 1 --count 6 --seed 9 -o "$tmp/uni2"
same=1
for f in "$tmp"/uni/*.mid; do cmp -s "$f" "$tmp/uni2/$(basename "$f")" || same=0; done
[ "$same" = 1 ] && [ "$(ls "$tmp/uni" | wc -l)" = 6 ] && ok || fail "ngram_samples is not repeatable"
run 0 "bigram samples" "$NGRAM" --corpus "$tmp/c.corpus" --order 2 --count 6 --seed 9 -o "$tmp/bi"
empty_bi=$(sed -n 's/.* \([0-9]*\) samples without a note.*/\1/p' "$tmp/err")
run 1 "bad order" "$NGRAM" --corpus "$tmp/c.corpus" --order 3 --count 6 --seed 9 -o "$tmp/x"
has_err "--order" "bad order"
# (whether floors score below real music is a question for the Nottingham
# baselines: on five fixtures, samples of the training split's n-grams are
# nearer the training split than the unrelated test fixtures are)
for t in g c; do
    floor=$([ $t = g ] && echo uni || echo bi)
    empty=$([ $t = g ] && echo "$empty_uni" || echo "$empty_bi")
    run 0 "$floor vs train" "$BIN" eval --samples "$tmp/$floor" --reference "$tmp/$t.corpus:train" --json
    # samples without a note are skipped, each named
    [ -n "$empty" ] && [ "$(json pieces)" = $((6 - empty)) ] && ok || fail "$floor: $(json pieces) pieces evaluated, want 6 - $empty"
    [ "$(grep -c 'holds no note' "$tmp/err")" = "$empty" ] && ok || fail "$floor: empty samples not named"
    less "$(json bleu)" 1 "$floor BLEU below 1"
done

finish test_cli_eval
