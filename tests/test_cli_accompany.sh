#!/bin/bash
# test_cli_accompany.sh: `tunegan accompany` and `tunegan infill` end to end
# with a micro any-track model trained for a few steps on pieces written
# here with detokenize (remi-tracks: a melody and a chord track, 8 bars of
# 3/4, a tempo change). Checks: the given notes come back unchanged, note for
# note (pitch, start and end tick, velocity), with the input's division,
# tempo map, meter and track names; accompany adds the missing track under
# the model's name; accompany --tracks chords on a full piece replaces the
# chords and keeps the melody; infill --bars keeps every note outside the
# bars (and, with --tracks chords, the melody inside them too) and writes
# notes inside, and says how many bars around them the model saw (a warning
# when none fit); --num writes OUT-000.mid...; a fixed seed gives the same
# bytes; --precision fp32 and auto both work (a bad one is refused); --quality
# is --rerank 8 --rerank-by bar spelt out (explicit ones win), the model's
# sampling.tsv gives accompany's candidates (bad values refused, infill
# ignores them), a bad --rerank-by refused; --roll draws a PNG (when built with cairo); --rerank 3 keeps the
# melody and one of the takes --num 3 writes with the same seed (infill
# --rerank: the bars outside), --rerank 0 and 5000 are refused; data mix writes the
# three tasks; bad input (no --bars, bars past the end, an unknown track, a
# model of another tokenizer, a model with no tracks.tsv, not MIDI) is a
# clear error with exit status 1. Infill with a remi model (left to right):
# the bars outside kept, the melody track monophonic and on top, the same
# seed the same bytes, --rerank keeps the --num take whose bars after are
# most likely; --tracks and a prefix past the context refused.
# Environment (set by ctest): TG_BIN.
set -u
BIN=${TG_BIN:?TG_BIN not set}
tmp=$(mktemp -d /tmp/tg_cli_accompany.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
is_midi() { if [ "$(head -c 4 "$1" 2>/dev/null)" = MThd ]; then ok; else fail "$1 is not a MIDI file"; fi; }
# notes of one channel: pitch start end velocity
chan() { "$BIN" notes "$1" | awk -v c="$2" '$1 !~ /^#/ && $2 == c { print $3, $4, $5, $6 }'; }
# notes of one channel starting in [lo, hi) ticks, or outside it (out=1)
chan_in() { chan "$1" "$2" | awk -v lo="$3" -v hi="$4" -v out="${5:-0}" '(($2 >= lo && $2 < hi) ? 0 : 1) == out'; }
same() { if [ "$1" = "$2" ]; then ok; else fail "$3"; diff <(echo "$1") <(echo "$2") | head -5 >&2; fi; }

# Pieces: 8 bars of 3/4, melody (Track_0) and chords (Track_1), tempo change in bar 5.
piece() { # $1: transposition, $2: 1 = melody only
    echo BOS; echo Track_0; echo Program_0
    [ "$2" = 1 ] || { echo Track_1; echo Program_0; }
    for bar in 0 1 2 3 4 5 6 7; do
        echo Bar
        [ "$bar" = 0 ] && { echo TimeSig_3/4; echo Position_0; echo Tempo_17; }
        [ "$bar" = 4 ] && { echo Position_12; echo Tempo_15; }
        echo Track_0
        for pos in 0 12 24; do
            echo "Position_$pos"; echo "Pitch_$((67 + $1 + (bar * 3 + pos / 12) % 7))"
            [ "$pos" = 0 ] && echo Velocity_22; echo Duration_12
        done
        if [ "$2" != 1 ]; then
            echo Track_1; echo Position_0
            for k in 0 4 7; do echo "Pitch_$((48 + $1 + k + (bar % 2) * 5))"; [ "$k" = 0 ] && echo Velocity_16; echo Duration_36; done
        fi
    done
    echo EOS
}
mkdir -p "$tmp/midi"
for t in 0 2 4 5 7; do
    piece $t 0 >"$tmp/p$t.txt"
    run 0 "detokenize piece $t" "$BIN" detokenize -t remi-tracks -o "$tmp/midi/p$t.mid" "$tmp/p$t.txt"
done
piece 3 1 >"$tmp/mel.txt"
run 0 "detokenize the melody" "$BIN" detokenize -t remi-tracks -o "$tmp/mel.mid" "$tmp/mel.txt"
piece 3 0 >"$tmp/full.txt"
run 0 "detokenize the full piece" "$BIN" detokenize -t remi-tracks -o "$tmp/full.mid" "$tmp/full.txt"
printf 'p0.mid\tvalid\n' >"$tmp/split.tsv"
for t in 2 4 5 7; do printf 'p%s.mid\ttrain\n' $t >>"$tmp/split.tsv"; done

# The mix and a micro model.
run 0 "data build remi-tracks" "$BIN" data build --tokenizer remi-tracks --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"
run 0 "data mix" "$BIN" data mix --copies 6 --seed 2 --context 64 -o "$tmp/mix.corpus" "$tmp/c.corpus"
has_out "30 pieces" "mix: 5 pieces x 6"
has_out "bars given" "mix: the tasks"
run 0 "data mix, a fixed task" "$BIN" data mix --keep 1 --given 0 -o "$tmp/fixed.corpus" "$tmp/c.corpus"
has_out "tracks given 5" "fixed task: one sequence per piece"
run 1 "data mix of a remi corpus" "$BIN" data mix -o "$tmp/x.corpus" "$tmp/nonexistent.corpus"
M="--d-model 32 --layers 1 --heads 2 --context 64 --batch 2 --steps 3 --eval-every 3 --warmup 1 --seed 5 --threads 1"
run 0 "pretrain" "$BIN" pretrain --corpus "$tmp/mix.corpus" $M -o "$tmp/m"
printf '# slot\tname\tprogram\n0\tmelody\t0\n1\tchords\t0\n' >"$tmp/m/tracks.tsv"

# accompany: the melody unchanged, a chords track added.
run 0 "accompany" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/a.mid" --seed 3 --threads 1
is_midi "$tmp/a.mid"
has_out "$tmp/a.mid" "output named"
same "$(chan "$tmp/a.mid" 0)" "$(chan "$tmp/mel.mid" 0)" "accompany: the melody changed"
[ -n "$(chan "$tmp/a.mid" 1)" ] && ok || fail "accompany: no chord notes"
same "$("$BIN" notes "$tmp/a.mid" | head -n 1 | sed 's/tracks=[0-9]*//')" "$("$BIN" notes "$tmp/mel.mid" | head -n 1 | sed 's/tracks=[0-9]*//')" "division"
# tempo map and meter: the seconds of every melody note are the input's
same "$("$BIN" notes "$tmp/a.mid" | awk '$2 == 0 { print $7, $8 }')" "$("$BIN" notes "$tmp/mel.mid" | awk '$2 == 0 { print $7, $8 }')" "tempo map"
run 0 "tokenize the output" "$BIN" tokenize -t remi-tracks "$tmp/a.mid"
has_out "TimeSig_3/4" "meter kept"
has_out "Tempo_15" "tempo change kept"
if command -v strings >/dev/null; then
    strings "$tmp/a.mid" | grep -q "Track 0" && ok || fail "the input's track name is lost"
    strings "$tmp/a.mid" | grep -q "chords" && ok || fail "the new track is not named after the model's table"
fi
run 0 "accompany again, same seed" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/a2.mid" --seed 3 --threads 1
cmp -s "$tmp/a.mid" "$tmp/a2.mid" && ok || fail "the same seed gave different files"
# --precision, as in generate: auto is the default and says what it chose;
# fp32 (the reference path) writes the same melody; a bad value is refused
has_err "precision auto: " "accompany names its precision"
run 0 "accompany --precision fp32" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/f32.mid" --seed 3 --threads 1 --precision fp32 --rerank 2
has_err "precision fp32: fp32" "fp32 choice printed"
same "$(chan "$tmp/f32.mid" 0)" "$(chan "$tmp/mel.mid" 0)" "accompany in fp32: the melody changed"
run 1 "accompany --precision fp16" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/f16.mid" --precision fp16
has_err "--precision must be auto, fp32 or bf16, got 'fp16'" "bad precision named"
[ -e "$tmp/f16.mid" ] && fail "a file was written for a bad --precision" || ok
# --pitch-temperature: other chord pitches, the melody still the input's; a
# negative one refused and no file written
run 0 "accompany --pitch-temperature 0.3" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/pt.mid" --seed 3 --threads 1 --pitch-temperature 0.3
same "$(chan "$tmp/pt.mid" 0)" "$(chan "$tmp/mel.mid" 0)" "--pitch-temperature: the melody changed"
cmp -s "$tmp/a.mid" "$tmp/pt.mid" && fail "--pitch-temperature 0.3 changed nothing" || ok
run 1 "accompany --pitch-temperature -1" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/pt2.mid" --seed 3 --threads 1 --pitch-temperature -1
has_err "the pitch temperature must be positive (or 0: off), got -1" "a negative pitch temperature refused"
[ -e "$tmp/pt2.mid" ] && fail "a file was written for a bad --pitch-temperature" || ok
# --quality is --rerank 8 --rerank-by bar at the model's own sampling, what is given explicitly winning
run 0 "accompany --quality --rerank 3" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q.mid" --seed 3 --threads 1 --quality --rerank 3
has_err "--quality: 3 candidates a take, ranked bar by bar" "--quality says its setting"
has_out "(bar by bar from " "--quality splices bar by bar"
run 0 "accompany, the quality setting spelt out" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q2.mid" --seed 3 --threads 1 --rerank 3 --rerank-by bar
cmp -s "$tmp/q.mid" "$tmp/q2.mid" && ok || fail "--quality is not its flags spelt out"
same "$(chan "$tmp/q.mid" 0)" "$(chan "$tmp/mel.mid" 0)" "--rerank-by bar: the melody changed"
run 0 "accompany --quality --rerank-by take" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q3.mid" --seed 3 --threads 1 --quality --rerank 3 --rerank-by take
has_err "--quality: 3 candidates a take, ranked whole" "an explicit --rerank-by wins over --quality"
has_out " of 3)" "--rerank-by take keeps a candidate"
run 0 "accompany --quality, at the model's pitch temperature" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q6.mid" --seed 3 --threads 1 --quality --rerank 3 --pitch-temperature 0.3
cmp -s "$tmp/q.mid" "$tmp/q6.mid" && fail "--quality ignored --pitch-temperature" || ok
run 1 "accompany --rerank-by bars" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q7.mid" --rerank 2 --rerank-by bars
has_err "--rerank-by is bar or take, got 'bars'" "a bad --rerank-by refused"
[ -e "$tmp/q7.mid" ] && fail "a file was written for a bad --rerank-by" || ok
# the model's sampling.tsv gives accompany's candidates and their ranking; --rerank and --rerank-by override it
printf 'accompany_rerank\t3\naccompany_rerank_bars\t1\n' >"$tmp/m/sampling.tsv"
run 0 "accompany, the model's candidates" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q5.mid" --seed 3 --threads 1
has_err "3 candidates a take, ranked bar by bar, from $tmp/m/sampling.tsv" "the model's candidates named"
cmp -s "$tmp/q.mid" "$tmp/q5.mid" && ok || fail "the model's accompany_rerank 3 bar by bar is not --rerank 3 --rerank-by bar"
run 0 "accompany --rerank 1 over the model's" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q8.mid" --seed 3 --threads 1 --rerank 1
cmp -s "$tmp/a.mid" "$tmp/q8.mid" && ok || fail "--rerank 1 is not one plain take over the model's candidates"
run 0 "infill ignores accompany's candidates" "$BIN" infill "$tmp/full.mid" --bars 2-3 --model "$tmp/m" -o "$tmp/q9.mid" --seed 3 --threads 1 --rerank 1
grep -qF "candidates a take" "$tmp/err" && fail "infill read accompany_rerank" || ok
for bad in 'accompany_rerank\t0' 'accompany_rerank\t2.5' 'accompany_rerank_bars\t2'; do
    printf "$bad\n" >"$tmp/m/sampling.tsv"
    run 1 "sampling.tsv: $bad" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/q10.mid" --seed 3
    has_err "$tmp/m/sampling.tsv:1: accompany_rerank" "a bad $bad named with its file and line"
    [ -e "$tmp/q10.mid" ] && fail "a file was written for a bad sampling.tsv" || ok
done
rm "$tmp/m/sampling.tsv"
run 1 "infill --quality" "$BIN" infill "$tmp/full.mid" --bars 2-3 --model "$tmp/m" -o "$tmp/q4.mid" --quality
has_err "unknown option '--quality'" "infill has no --quality"

# --num, --roll
run 0 "accompany --num 2" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/n.mid" --num 2 --seed 4 --threads 1
is_midi "$tmp/n-000.mid"; is_midi "$tmp/n-001.mid"
[ -e "$tmp/n.mid" ] && fail "--num 2 wrote n.mid" || ok
if "$BIN" --version 2>/dev/null | grep -q cairo || "$BIN" generate --help | grep -q roll; then
    if "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/r.mid" --roll --seed 1 --threads 1 >"$tmp/out" 2>"$tmp/err"; then
        [ "$(head -c 4 "$tmp/r.png" | tail -c 3)" = PNG ] && ok || fail "--roll wrote no PNG"
    else
        grep -q "needs cairo" "$tmp/err" && ok || fail "--roll failed: $(cat "$tmp/err")"
    fi
fi

# accompany --tracks chords on the full piece: chords replaced, melody kept.
run 0 "accompany --tracks chords" "$BIN" accompany "$tmp/full.mid" --model "$tmp/m" --tracks chords -o "$tmp/f.mid" --seed 3 --threads 1
same "$(chan "$tmp/f.mid" 0)" "$(chan "$tmp/full.mid" 0)" "replace: the melody changed"
[ "$(chan "$tmp/f.mid" 1)" != "$(chan "$tmp/full.mid" 1)" ] && ok || fail "replace: the chords were not written"

# infill bars 3-4 (ticks 2*1440 .. 4*1440): everything outside unchanged.
lo=2880; hi=5760
run 0 "infill" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" --bars 3-4 -o "$tmp/i.mid" --seed 3 --threads 1
# the micro model's 64 tokens hold the two bars alone: said, and warned
has_out "infill: the model saw 0 bars before bars 3-4 and 0 after them" "infill: bars seen"
has_err "warning: bars 3-4 fill the model's context alone" "infill: no bar around the gap"
for c in 0 1; do
    same "$(chan_in "$tmp/i.mid" $c $lo $hi 1)" "$(chan_in "$tmp/full.mid" $c $lo $hi 1)" "infill: channel $c outside bars 3-4 changed"
done
[ -n "$(chan_in "$tmp/i.mid" 0 $lo $hi)$(chan_in "$tmp/i.mid" 1 $lo $hi)" ] && ok || fail "infill: nothing in bars 3-4"
run 0 "infill one bar" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" --bars 3-3 -o "$tmp/i1.mid" --seed 3 --threads 1
has_out "infill: the model saw 1 bar before bars 3-3 and 0 after them" "infill: one bar seen"
if grep -q warning "$tmp/err"; then fail "infill one bar: warned though a bar was seen"; else ok; fi
run 0 "infill --tracks chords" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" --bars 3-4 --tracks chords -o "$tmp/j.mid" --seed 3 --threads 1
same "$(chan "$tmp/j.mid" 0)" "$(chan "$tmp/full.mid" 0)" "infill --tracks chords: the melody changed"
same "$(chan_in "$tmp/j.mid" 1 $lo $hi 1)" "$(chan_in "$tmp/full.mid" 1 $lo $hi 1)" "infill --tracks chords: chords outside changed"

# --rerank: the model scores its own candidates and keeps one of those --num
# draws with the same seed; the melody (infill: the bars outside) unchanged.
run 0 "accompany --rerank 3" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/rr.mid" --rerank 3 --seed 4 --threads 1
has_out " of 3)" "--rerank names the candidate kept"
k=$(sed -n 's/.*(candidate \([0-9]*\) of 3).*/\1/p' "$tmp/out")
same "$(chan "$tmp/rr.mid" 0)" "$(chan "$tmp/mel.mid" 0)" "--rerank: the melody changed"
run 0 "accompany --num 3 --scores" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/nn.mid" --num 3 --scores --seed 4 --threads 1
has_out "log p(given | written)" "--scores prints the scores"
cmp -s "$tmp/rr.mid" "$tmp/nn-00$k.mid" && ok || fail "--rerank 3 kept a take that --num 3 does not draw (candidate '$k')"
run 0 "infill --rerank 2" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" --bars 3-4 --rerank 2 -o "$tmp/ir.mid" --seed 3 --threads 1
for c in 0 1; do
    same "$(chan_in "$tmp/ir.mid" $c $lo $hi 1)" "$(chan_in "$tmp/full.mid" $c $lo $hi 1)" "infill --rerank: channel $c outside bars 3-4 changed"
done
run 1 "--rerank 0" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" -o "$tmp/x.mid" --rerank 0 --threads 1
has_err "--rerank must be between 1 and 1000" "--rerank 0"
run 1 "--rerank too large" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" --bars 3-4 -o "$tmp/x.mid" --rerank 5000 --threads 1
has_err "--rerank must be between 1 and 1000" "--rerank 5000"

# Bad input.
run 1 "infill without --bars" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" -o "$tmp/x.mid"
has_err "--bars A-B is required" "no --bars"
run 1 "infill past the end" "$BIN" infill "$tmp/full.mid" --model "$tmp/m" --bars 7-12 -o "$tmp/x.mid" --threads 1
has_err "the piece has 8 bars" "bars past the end"
run 1 "unknown track" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" --tracks bass -o "$tmp/x.mid" --threads 1
has_err "no track 'bass' in the model (its tracks: melody, chords)" "unknown track"
run 1 "nothing given" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m" --tracks melody -o "$tmp/x.mid" --threads 1
has_err "nothing is given" "nothing given"
cp -r "$tmp/m" "$tmp/m2"; rm "$tmp/m2/tracks.tsv"
run 1 "no tracks.tsv" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/m2" -o "$tmp/x.mid" --threads 1
has_err "tracks.tsv" "no table of tracks"
run 0 "data build remi" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -o "$tmp/r.corpus" "$tmp/midi"
run 0 "pretrain remi" "$BIN" pretrain --corpus "$tmp/r.corpus" $M -o "$tmp/remi"
run 1 "a remi model" "$BIN" accompany "$tmp/mel.mid" --model "$tmp/remi" -o "$tmp/x.mid" --threads 1
has_err "not remi-tracks" "model of another tokenizer"

# infill with a whole-tune (remi) model: left to right from the bars before,
# every track of the bars written, the rest untouched; the written notes go to
# the input's two tracks of program 0 by register: the melody (monophonic
# outside the gap) takes the highest note of an onset, so it stays
# monophonic and never lies under a chord note begun with it.
# (a remi model trained long enough to write the pieces' program, bars and registers: 300 steps, 0.4 s)
run 0 "pretrain remi, 300 steps" "$BIN" pretrain --corpus "$tmp/r.corpus" --d-model 32 --layers 1 --heads 2 --context 64 \
    --batch 2 --steps 300 --eval-every 300 --warmup 10 --lr 3e-3 --seed 5 --threads 1 -o "$tmp/tune"
lo=1440; hi=4320 # bars 2-3
run 0 "infill, remi model" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 --rerank 1 -o "$tmp/l.mid" --seed 3 --threads 1
has_out "the model heard the 1 bar before bars 2-3 and wrote them left to right; it did not hear the bars after" "left to right: said"
for c in 0 1; do
    same "$(chan_in "$tmp/l.mid" $c $lo $hi 1)" "$(chan_in "$tmp/full.mid" $c $lo $hi 1)" "left to right: channel $c outside bars 2-3 changed"
done
[ -n "$(chan_in "$tmp/l.mid" 0 $lo $hi)" ] && ok || fail "left to right: no melody in bars 2-3"
[ -n "$(chan_in "$tmp/l.mid" 1 $lo $hi)" ] && ok || fail "left to right: no chords in bars 2-3"
[ "$("$BIN" notes "$tmp/l.mid" | head -n 1)" = "$("$BIN" notes "$tmp/full.mid" | head -n 1)" ] && ok || fail "left to right: tracks added"
overlap=$(chan_in "$tmp/l.mid" 0 $lo $hi | sort -n -k2 | awk 'NR > 1 && $2 < end { n++ } { end = $3 } END { print n + 0 }')
[ "$overlap" = 0 ] && ok || fail "left to right: $overlap melody notes overlap in bars 2-3"
under=$( (chan_in "$tmp/l.mid" 0 $lo $hi | awk '{ print $2, $1, "m" }'; chan_in "$tmp/l.mid" 1 $lo $hi | awk '{ print $2, $1, "c" }') |
    awk '$3 == "m" { m[$1] = $2 } $3 == "c" { c[$1] = c[$1] > $2 ? c[$1] : $2 } END { for (t in m) if (t in c && c[t] > m[t]) n++; print n + 0 }')
[ "$under" = 0 ] && ok || fail "left to right: $under melody notes under a chord note begun with them"
run 0 "infill, remi model, again" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 --rerank 1 -o "$tmp/l2.mid" --seed 3 --threads 1
cmp -s "$tmp/l.mid" "$tmp/l2.mid" && ok || fail "left to right: the same seed gave different files"
# --rerank 3 keeps one of the takes --num 3 draws, chosen by the bars after
run 0 "infill, remi model, --rerank 3" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 --rerank 3 -o "$tmp/lr.mid" --seed 4 --threads 1
has_out "the bars after them chose among the candidates" "left to right --rerank: said"
k=$(sed -n 's/.*(candidate \([0-9]*\) of 3).*/\1/p' "$tmp/out")
run 0 "infill, remi model, --num 3 --scores" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 --num 3 --rerank 1 --scores -o "$tmp/ln.mid" --seed 4 --threads 1
cmp -s "$tmp/lr.mid" "$tmp/ln-00$k.mid" && ok || fail "left to right --rerank 3 kept a take that --num 3 does not draw (candidate '$k')"
best=$(awk '/log p\(given/ { print $5 }' "$tmp/out" | sort -g | tail -n 1)
have=$(awk -v k="$k" '/log p\(given/ { if (n++ == k) print $5 }' "$tmp/out")
same "${have:-none}" "${best:-missing}" "left to right --rerank 3 did not keep the take under which the bars after are most likely"
# the model's sampling.tsv is the default sampling, as for generate
printf 'temperature\t0.7\n' >"$tmp/tune/sampling.tsv"
run 0 "infill, sampling.tsv" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 -o "$tmp/ls.mid" --seed 3 --threads 1
has_err "temperature 0.7 from" "sampling.tsv: said"
run 0 "infill, -T 0.7" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 -o "$tmp/lt.mid" -T 0.7 --seed 3 --threads 1
cmp -s "$tmp/ls.mid" "$tmp/lt.mid" && ok || fail "sampling.tsv's temperature is not -T 0.7"
rm "$tmp/tune/sampling.tsv"
# an opening: the piece's first bar keeps its meter token, the bars get notes
run 0 "infill, remi model, bars 1-2" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 1-2 --rerank 1 -o "$tmp/lo.mid" --seed 3 --threads 1
[ -n "$(chan_in "$tmp/lo.mid" 0 0 2880)$(chan_in "$tmp/lo.mid" 1 0 2880)" ] && ok || fail "left to right: nothing in bars 1-2"
same "$(chan_in "$tmp/lo.mid" 0 0 2880 1)" "$(chan_in "$tmp/full.mid" 0 0 2880 1)" "left to right: the melody after bars 1-2 changed"
# without --model (the bundled models): melody and chords with bars before the gap go to the
# whole-tune model; an opening, or a track named, to the any-track one
run 0 "infill bars 2-3, bundled" "$BIN" infill "$tmp/full.mid" --bars 2-3 -o "$tmp/b23.mid" --seed 3 --threads 1
has_err "models/default/model.safetensors (melody and chords: the whole-tune model)" "bundled: bars 2-3 by the whole-tune model"
run 0 "infill bars 1-2, bundled" "$BIN" infill "$tmp/full.mid" --bars 1-2 -o "$tmp/b12.mid" --seed 3 --threads 1
has_err "models/accompany-nottingham/model.safetensors" "bundled: an opening by the any-track model"
run 0 "infill bars 2-3 --tracks chords, bundled" "$BIN" infill "$tmp/full.mid" --bars 2-3 --tracks chords -o "$tmp/b23c.mid" --seed 3 --threads 1
has_err "models/accompany-nottingham/model.safetensors" "bundled: a track named, by the any-track model"
sed '5s/Program_0/Program_33/' "$tmp/full.txt" >"$tmp/two.txt" # chords on a bass: two instruments
run 0 "detokenize two instruments" "$BIN" detokenize -t remi-tracks -o "$tmp/two.mid" "$tmp/two.txt"
run 0 "infill bars 2-3 of two instruments, bundled" "$BIN" infill "$tmp/two.mid" --bars 2-3 -o "$tmp/b23i.mid" --seed 3 --threads 1
has_err "models/accompany-nottingham/model.safetensors" "bundled: two instruments by the any-track model"
run 1 "infill, remi model, --tracks" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 2-3 --tracks chords -o "$tmp/x.mid" --threads 1
has_err "need an any-track (remi-tracks) model" "left to right: --tracks refused"
run 1 "infill, remi model, prefix past the context" "$BIN" infill "$tmp/full.mid" --model "$tmp/tune" --bars 6-7 -o "$tmp/x.mid" --threads 1
has_err "more than the model's context of 64" "left to right: prefix past the context"
run 1 "data mix of a remi corpus" "$BIN" data mix -o "$tmp/x.corpus" "$tmp/r.corpus"
has_err "a mix needs remi-tracks" "mix of remi"
echo "not MIDI" >"$tmp/text.mid"
run 1 "not MIDI" "$BIN" accompany "$tmp/text.mid" --model "$tmp/m" -o "$tmp/x.mid"
[ -e "$tmp/x.mid" ] && fail "a failed command left x.mid" || ok
finish cli_accompany
