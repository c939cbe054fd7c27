#!/bin/bash
# test_cli_generate.sh: `tunegan generate` end to end with micro models
# trained for a few steps on the fixtures (remi, relative and absolute
# attention; grid). Checks: the files it writes are MIDI, one per sample,
# named sample-000.mid...; stdout names each and gives tokens per second;
# the seed is printed; a fixed seed gives the same bytes twice, and a printed
# clock seed reproduces its run; --length past the context slides the window;
# a primer's notes (its first bars) start every sample unchanged at the
# tokenizer's resolution (remi: ticks of the detokenized primer; grid: the
# same keys at the same times) and the primer's tempo is kept; --bars stops
# after N new bars; --roll draws a PNG and --render a WAV (each when built
# with it); --no-grammar runs and counts repairs;
# bad input (missing or damaged model, a primer that is not MIDI, a primer
# longer than the context, --top-p outside (0,1], a negative temperature,
# --top-k < 0, --bars with a grid model) is a clear error with exit status 1;
# the model's sampling.tsv gives -T and --top-p when they are not given
# (said, the same bytes as given by hand), a flag wins, and a bad file is an
# error naming its line.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
tmp=$(mktemp -d /tmp/tg_cli_generate.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
has_out() { if grep -qF -- "$1" "$tmp/out"; then ok; else fail "$2: stdout lacks '$1'"; cat "$tmp/out" >&2; fi; }
is_midi() { if [ "$(head -c 4 "$1" 2>/dev/null)" = MThd ]; then ok; else fail "$1 is not a MIDI file"; fi; }

# A primer written with detokenize: 4 bars of 3/4 at about 106 bpm, melody and bass.
{
    echo BOS
    for bar in 0 1 2 3; do
        echo Bar
        [ "$bar" = 0 ] && echo TimeSig_3/4
        for pos in 0 6 12 18 24 30; do
            echo "Position_$pos"
            [ "$bar$pos" = 00 ] && echo Tempo_17
            if [ "$pos" = 0 ]; then echo Program_32; echo "Pitch_$((40 + bar))"; echo Velocity_20; echo Duration_36; fi
            echo Program_73; echo "Pitch_$((64 + (bar * 5 + pos / 6) % 12))"; echo Velocity_22
            if [ "$pos" = 30 ] && [ "$bar" = 1 ]; then echo Duration_18; else echo Duration_6; fi
        done
    done
    echo EOS
} >"$tmp/primer.txt"
run 0 "detokenize the primer" "$BIN" detokenize -o "$tmp/primer.mid" "$tmp/primer.txt"
echo "not a MIDI file" >"$tmp/text.mid"

# Micro models: remi (relative and absolute attention) and grid.
fixture_midi format0.mid format1.mid running_status.mid tempo_map_f1.mid overlap.mid
cp "$tmp/primer.mid" "$tmp/midi/"
fixture_split
M="--d-model 32 --layers 1 --heads 2 --context 48 --batch 2 --steps 3 --eval-every 3 --warmup 1 --seed 5 --threads 1"
for k in remi grid; do
    run 0 "data build $k" "$BIN" data build --tokenizer $k --split "$tmp/split.tsv" -o "$tmp/$k.corpus" "$tmp/midi"
    run 0 "pretrain $k" "$BIN" pretrain --corpus "$tmp/$k.corpus" $M -o "$tmp/$k"
done
run 0 "pretrain remi absolute" "$BIN" pretrain --corpus "$tmp/remi.corpus" $M --attention absolute -o "$tmp/abs"

# Three samples: files, names, what is printed.
G="--threads 1 --length 40"
run 0 "generate 3" "$BIN" generate --model "$tmp/remi" -o "$tmp/a" --num 3 --batch 2 --seed 5 $G
for i in 000 001 002; do is_midi "$tmp/a/sample-$i.mid"; has_out "$tmp/a/sample-$i.mid" "path of sample $i"; done
[ -e "$tmp/a/sample-003.mid" ] && fail "a fourth sample was written" || ok
[ -z "$(ls "$tmp/a" | grep -v '^sample-00[0-2]\.mid$')" ] && ok || fail "stray files in the output: $(ls "$tmp/a")"
has_out "tok/s" "tokens per second"
has_err "seed 5" "seed"

# Repeatability: the same seed, the same bytes; a clock seed is printed and reproduces.
run 0 "generate again" "$BIN" generate --model "$tmp/remi/model.safetensors" -o "$tmp/b" --num 3 --batch 2 --seed 5 $G
for i in 000 001 002; do
    if cmp -s "$tmp/a/sample-$i.mid" "$tmp/b/sample-$i.mid"; then ok; else fail "sample $i differs between two runs with seed 5"; fi
done
cmp -s "$tmp/a/sample-000.mid" "$tmp/a/sample-001.mid" && fail "samples 0 and 1 are identical" || ok
run 0 "generate, clock seed" "$BIN" generate --model "$tmp/remi" -o "$tmp/c" --num 2 $G
seed=$(sed -n 's/^tunegan: seed \([0-9]*\);.*/\1/p' "$tmp/err")
if [ -n "$seed" ]; then ok; else fail "no seed printed without --seed"; fi
run 0 "generate with the printed seed" "$BIN" generate --model "$tmp/remi" -o "$tmp/d" --num 2 --seed "${seed:-0}" $G
for i in 000 001; do cmp -s "$tmp/c/sample-$i.mid" "$tmp/d/sample-$i.mid" && ok || fail "printed seed does not reproduce sample $i"; done

# The model's sampling defaults (sampling.tsv beside it): used and said
# without -T and --top-p, the same bytes as given by hand; a flag wins; a bad
# file is an error naming it and its line.
mkdir "$tmp/sd" && cp "$tmp/remi/model.safetensors" "$tmp/sd/"
printf '# the card'"'"'s choice\ntemperature\t0.7\ntop_p\t0.9\n' >"$tmp/sd/sampling.tsv"
run 0 "generate with sampling.tsv" "$BIN" generate --model "$tmp/sd" -o "$tmp/sd1" --num 2 --seed 5 $G
has_err "temperature 0.7, top-p 0.9 from $tmp/sd/sampling.tsv" "the defaults said"
run 0 "generate -T 0.7 --top-p 0.9" "$BIN" generate --model "$tmp/remi" -o "$tmp/sd2" --num 2 --seed 5 -T 0.7 --top-p 0.9 $G
for i in 000 001; do cmp -s "$tmp/sd1/sample-$i.mid" "$tmp/sd2/sample-$i.mid" && ok || fail "sampling.tsv is not -T 0.7 --top-p 0.9 (sample $i)"; done
cmp -s "$tmp/sd1/sample-000.mid" "$tmp/a/sample-000.mid" && fail "sampling.tsv changed nothing" || ok
run 0 "generate with sampling.tsv and -T" "$BIN" generate --model "$tmp/sd/model.safetensors" -o "$tmp/sd3" --num 2 --seed 5 -T 1 $G
has_err "top-p 0.9 from" "top-p still from the file"
if grep -q "temperature 0.7" "$tmp/err"; then fail "-T 1 did not win over the file"; else ok; fi
printf 'temperature\t0.7\ntemprature\t2\n' >"$tmp/sd/sampling.tsv"
run 1 "a misspelt key" "$BIN" generate --model "$tmp/sd" -o "$tmp/sd4" $G
has_err "$tmp/sd/sampling.tsv:2: unknown key 'temprature'" "the bad line named"
printf 'temperature\tx\n' >"$tmp/sd/sampling.tsv"
run 1 "a bad value" "$BIN" generate --model "$tmp/sd" -o "$tmp/sd4" $G
has_err "sampling.tsv:1: temperature: 'x' is not a number" "the bad value named"
printf 'top_p\t1.5\n' >"$tmp/sd/sampling.tsv"
run 1 "top_p past 1" "$BIN" generate --model "$tmp/sd" -o "$tmp/sd4" $G
has_err "top_p 1.5 outside (0, 1]" "top_p's range"
# the pitch temperature: other pitches than the plain draw; from the file as
# by hand; 0 is off (the plain draw's bytes); a negative one refused, no file
printf 'pitch_temperature\t0.3\n' >"$tmp/sd/sampling.tsv"
run 0 "generate, sampling.tsv's pitch temperature" "$BIN" generate --model "$tmp/sd" -o "$tmp/pt1" --num 2 --batch 2 --seed 5 $G
has_err "pitch temperature 0.3 from" "the pitch temperature said"
run 0 "generate --pitch-temperature 0.3" "$BIN" generate --model "$tmp/remi" -o "$tmp/pt2" --num 2 --batch 2 --seed 5 --pitch-temperature 0.3 $G
for i in 000 001; do cmp -s "$tmp/pt1/sample-$i.mid" "$tmp/pt2/sample-$i.mid" && ok || fail "sampling.tsv's pitch_temperature is not --pitch-temperature 0.3 (sample $i)"; done
cmp -s "$tmp/pt1/sample-000.mid" "$tmp/a/sample-000.mid" && fail "the pitch temperature changed nothing" || ok
run 0 "generate --pitch-temperature 0 over the file" "$BIN" generate --model "$tmp/sd" -o "$tmp/pt3" --num 2 --batch 2 --seed 5 --pitch-temperature 0 $G
for i in 000 001; do cmp -s "$tmp/pt3/sample-$i.mid" "$tmp/a/sample-$i.mid" && ok || fail "--pitch-temperature 0 is not the plain draw (sample $i)"; done
printf 'pitch_temperature\t11\n' >"$tmp/sd/sampling.tsv"
run 1 "a pitch_temperature past 10" "$BIN" generate --model "$tmp/sd" -o "$tmp/pt5" $G
has_err "sampling.tsv:1: pitch_temperature 11 outside 0..10" "pitch_temperature's range"
[ -e "$tmp/pt5/sample-000.mid" ] && fail "a sample was written with a bad sampling.tsv" || ok
rm "$tmp/sd/sampling.tsv"
run 1 "generate --pitch-temperature -1" "$BIN" generate --model "$tmp/remi" -o "$tmp/pt4" --seed 5 --pitch-temperature -1 $G
has_err "the pitch temperature must be positive (or 0: off), got -1" "a negative pitch temperature refused"
[ -e "$tmp/pt4/sample-000.mid" ] && fail "a sample was written with a bad pitch temperature" || ok

# Past the context (48): the window slides; both attention kinds; greedy.
for m in remi abs; do
    run 0 "generate 200 tokens ($m)" "$BIN" generate --model "$tmp/$m" -o "$tmp/long-$m" --seed 1 --threads 1 --length 200 --temperature 0
    is_midi "$tmp/long-$m/sample-000.mid"
    if grep -q "window slid [1-9]" "$tmp/out" || grep -q " 1 ended at EOS" "$tmp/out"; then ok
    else fail "$m: 200 tokens with context 48 without a slide: $(tail -1 "$tmp/out")"; fi
done
run 0 "top-k and top-p" "$BIN" generate --model "$tmp/remi" -o "$tmp/kp" --seed 2 $G --top-k 5 --top-p 0.9 --temperature 0.8
is_midi "$tmp/kp/sample-000.mid"

# A primer's first bar starts every sample unchanged (remi: ticks of the detokenized primer).
run 0 "generate with a primer" "$BIN" generate --model "$tmp/remi" -o "$tmp/p" --primer "$tmp/primer.mid" --primer-bars 1 --num 2 --seed 3 --threads 1 --length 30
has_err "1 bar" "primer bars printed"
awk '/^Bar$/ { n++ } n < 2 { print }' "$tmp/primer.txt" >"$tmp/bar1.txt"
echo EOS >>"$tmp/bar1.txt"
"$BIN" detokenize -o "$tmp/bar1.mid" "$tmp/bar1.txt" 2>/dev/null
"$BIN" notes "$tmp/bar1.mid" | grep -v '^#' | cut -f3-5 | sort >"$tmp/want"
[ "$(wc -l <"$tmp/want")" -eq 7 ] && ok || fail "the first bar of the primer has $(wc -l <"$tmp/want") notes, want 7"
for i in 000 001; do
    # notes starting before tick 1440 (one bar of 3/4 at 480 per quarter)
    "$BIN" notes "$tmp/p/sample-$i.mid" | grep -v '^#' | awk -F'\t' '$4 < 1440' | cut -f3-5 | sort >"$tmp/got"
    if cmp -s "$tmp/want" "$tmp/got"; then ok; else fail "sample $i does not start with the primer's notes"; diff "$tmp/want" "$tmp/got" >&2; fi
    n=$("$BIN" notes "$tmp/p/sample-$i.mid" | grep -v '^#' | wc -l)
    [ "$n" -ge 7 ] && ok || fail "sample $i has $n notes"
done
# the primer's tempo and meter (test_sample checks an exact, off-bin tempo)
"$BIN" notes --meta "$tmp/primer.mid" | grep -E '^# (tempo|timesig)' | head -2 >"$tmp/want"
"$BIN" notes --meta "$tmp/p/sample-000.mid" | grep -E '^# (tempo|timesig)' | head -2 >"$tmp/got"
grep -q 'tick=0' "$tmp/want" && cmp -s "$tmp/want" "$tmp/got" && ok || { fail "the sample lost the primer's tempo or meter"; diff "$tmp/want" "$tmp/got" >&2; }
if "$BIN" --version | grep -q cairo; then
    run 0 "generate --roll" "$BIN" generate --model "$tmp/remi" -o "$tmp/r" --primer "$tmp/primer.mid" --primer-bars 1 --seed 3 --threads 1 --length 20 --roll
    if [ "$(head -c 4 "$tmp/r/sample-000.png" | od -An -c | tr -d ' ')" = '211PNG' ]; then ok; else fail "--roll wrote no PNG"; fi
fi

if "$BIN" --version | grep -q fluidsynth && ls /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/sounds/sf2/default-GM.sf2 /usr/share/soundfonts/default.sf2 >/dev/null 2>&1; then
    run 0 "generate --render" "$BIN" generate --model "$tmp/remi" -o "$tmp/w" --seed 3 --threads 1 --length 20 --render
    if [ "$(head -c 4 "$tmp/w/sample-000.wav")" = RIFF ]; then ok; else fail "--render wrote no WAV"; fi
    has_out "sample-000.wav" "--render names the WAV"
fi

# --bars: stops after N new bars (remi)
run 0 "generate --bars 2" "$BIN" generate --model "$tmp/remi" -o "$tmp/bars" --bars 2 --seed 4 --threads 1 --num 2 --length 400
for i in 000 001; do
    nb=$("$BIN" tokenize "$tmp/bars/sample-$i.mid" | grep -c '^Bar$')
    [ "$nb" -le 2 ] && ok || fail "--bars 2 gave $nb bars"
done

# grid with a primer: the primer's keys at the primer's times
run 0 "grid primer" "$BIN" generate --model "$tmp/grid" -o "$tmp/g" --primer "$tmp/primer.mid" --primer-bars 1 --seed 3 --threads 1 --length 10
"$BIN" tokenize --tokenizer grid "$tmp/primer.mid" | sed -n '2,6p' >"$tmp/want"
"$BIN" tokenize --tokenizer grid "$tmp/g/sample-000.mid" | sed -n '2,6p' >"$tmp/got"
cmp -s "$tmp/want" "$tmp/got" && ok || { fail "grid sample does not start with the primer's keys"; diff "$tmp/want" "$tmp/got" >&2; }

# --no-grammar: runs, counts repairs
run 0 "no grammar" "$BIN" generate --model "$tmp/remi" -o "$tmp/ng" --no-grammar --seed 1 $G
has_out "repair" "repairs counted"

# errors
run 1 "missing model" "$BIN" generate --model "$tmp/none" -o "$tmp/x" $G
has_err "none" "missing model names the path"
head -c 200 "$tmp/remi/model.safetensors" >"$tmp/damaged.safetensors"
run 1 "damaged model" "$BIN" generate --model "$tmp/damaged.safetensors" -o "$tmp/x" $G
has_err "damaged.safetensors" "damaged model names the file"
run 1 "primer not MIDI" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --primer "$tmp/text.mid" $G
has_err "text.mid" "primer not MIDI names the file"
run 1 "primer longer than the context" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --primer "$tmp/primer.mid" $G
has_err "context" "long primer"
has_err "primer.mid" "long primer names the file"
run 1 "top-p 0" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --top-p 0 $G
has_err "top-p" "top-p 0"
run 1 "top-p 1.5" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --top-p 1.5 $G
has_err "(0,1]" "top-p 1.5"
run 1 "negative temperature" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --temperature -1 $G
has_err "temperature" "negative temperature"
run 1 "negative top-k" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --top-k -2 $G
has_err "top-k" "negative top-k"
run 1 "--bars with grid" "$BIN" generate --model "$tmp/grid" -o "$tmp/x" --bars 2 $G
has_err "remi" "--bars with grid"
run 1 "no output" "$BIN" generate --model "$tmp/remi" $G
has_err "-o OUT_DIR" "no output"
run 1 "bad number" "$BIN" generate --model "$tmp/remi" -o "$tmp/x" --num 2x
has_err "--num" "bad number"
[ -e "$tmp/x" ] && fail "a failed run made its output folder" || ok

finish test_cli_generate
