#!/bin/bash
# test_cli_voicelead.sh: `tunegan accompany --voice-leading` end to end on a
# test chorale of ../shared/data/jsb-chorales (skipped without it) with the
# bundled models/accompany-chorales, the soprano given: with strict (and by
# default, auto, which is strict for soprano, alto, tenor and bass), two
# seeds, the written voices make no parallel fifth or octave and no voice
# crossing by harmony.c's own count (`tunegan eval --voices satb`), and no
# written note leaves its voice's range, unless the summary says a rule was
# relaxed; the soprano comes back note for note; auto gives strict's take;
# off says it is off and its takes of the same seeds do break the rules
# (else this test could not see strict's work); infill keeps the rules too;
# --quality ranks whole takes on four voices; a bad mode, strict on a piece
# of three tracks, and ranking bar by bar with voice leading, are clear
# errors.
# Environment (set by ctest): TG_BIN, TG_SHARED_DATA, TG_SOURCE_DIR.
set -u
BIN=${TG_BIN:?TG_BIN not set}
chorale=${TG_SHARED_DATA:-../shared/data}/jsb-chorales/midi/test_000.mid
model=${TG_SOURCE_DIR:-.}/models/accompany-chorales/model.safetensors
[ -f "$chorale" ] || { echo "skip: no $chorale (../shared/data)"; exit 77; }
[ -f "$model" ] || { echo "skip: no bundled chorale model $model"; exit 77; }
tmp=$(mktemp -d /tmp/tg_cli_voicelead.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
# notes of one track (1 soprano .. 4 bass): pitch start end velocity
track() { "$BIN" notes "$1" | awk -v t="$2" '$1 !~ /^#/ && $1 == t { print $3, $4, $5, $6 }'; }
# a figure of eval's voice-leading block, samples' column
figure() { awk -v k="$2" 'index($0, k) == 3 { n = split(k, w, " "); print $(n + 1); exit }' "$1"; }
# the summary's relaxed count of one rule
same() { if [ "$1" = "$2" ]; then ok; else fail "$3"; diff <(echo "$1") <(echo "$2") | head -5 >&2; fi; }
relaxed() { grep -o "$2 [0-9]*" "$1" | awk '{ print $2 }'; }
mkdir -p "$tmp/real" "$tmp/strict" "$tmp/auto" "$tmp/off"
cp "$chorale" "$tmp/real/"

for seed in 1 2; do
    run 0 "accompany strict seed $seed" "$BIN" accompany "$chorale" --model "$model" --tracks alto,tenor,bass \
        --voice-leading strict --seed "$seed" --threads 1 -o "$tmp/strict/s$seed.mid"
    has_out "voice leading strict:" "strict's summary"
    cp "$tmp/out" "$tmp/strict-$seed.log"
    same "$(track "$tmp/strict/s$seed.mid" 1)" "$(track "$chorale" 1)" "seed $seed: the soprano changed"
    # range: the written voices (tracks 2-4: alto, tenor, bass)
    oor=$(for t in 2 3 4; do track "$tmp/strict/s$seed.mid" $t | awk -v t=$t '
        BEGIN { split("55 48 40", lo, " "); split("74 67 60", hi, " ") }
        $1 < lo[t - 1] || $1 > hi[t - 1] { n++ } END { print n + 0 }'; done | awk '{ s += $1 } END { print s }')
    if [ "$oor" -eq 0 ] || [ "$(relaxed "$tmp/strict-$seed.log" range)" -gt 0 ]; then ok
    else fail "seed $seed: $oor written notes out of range, none relaxed"; fi
done
run 0 "eval --voices satb" "$BIN" eval --samples "$tmp/strict" --reference "$tmp/real" --voices satb
cp "$tmp/out" "$tmp/eval"
relax_par=$(cat "$tmp"/strict-*.log | grep -o "parallels [0-9]*" | awk '{ s += $2 } END { print s + 0 }')
relax_cross=$(cat "$tmp"/strict-*.log | grep -o "crossing [0-9]*" | awk '{ s += $2 } END { print s + 0 }')
for k in "parallel fifths" "parallel octaves"; do
    v=$(figure "$tmp/eval" "$k")
    if [ "$v" = 0.000 ] || [ "$relax_par" -gt 0 ]; then ok; else fail "strict: $k $v per 100 beats, none relaxed"; fi
done
v=$(figure "$tmp/eval" "voice crossings")
if [ "$v" = 0.000 ] || [ "$relax_cross" -gt 0 ]; then ok; else fail "strict: voice crossings $v per 100 beats, none relaxed"; fi
[ -n "$v" ] && ok || fail "eval printed no voice crossings"

# auto (the default) is strict on soprano, alto, tenor and bass: the same take
run 0 "accompany default" "$BIN" accompany "$chorale" --model "$model" --tracks alto,tenor,bass --seed 1 --threads 1 \
    -o "$tmp/auto/s1.mid"
has_out "voice leading strict:" "auto on four voices"
if cmp -s "$tmp/auto/s1.mid" "$tmp/strict/s1.mid"; then ok; else fail "auto and strict differ on four voices"; fi

# off: said, and the unconstrained take (it makes parallels or crossings on this chorale with seeds 1-2)
for seed in 1 2; do
    run 0 "accompany off seed $seed" "$BIN" accompany "$chorale" --model "$model" --tracks alto,tenor,bass \
        --voice-leading off --seed "$seed" --threads 1 -o "$tmp/off/s$seed.mid"
    has_out "voice leading off" "off's summary"
    same "$(track "$tmp/off/s$seed.mid" 1)" "$(track "$chorale" 1)" "off seed $seed: the soprano changed"
done
run 0 "eval off" "$BIN" eval --samples "$tmp/off" --reference "$tmp/real" --voices satb
cp "$tmp/out" "$tmp/eval-off"
bad=$(for k in "parallel fifths" "parallel octaves" "voice crossings"; do figure "$tmp/eval-off" "$k"; done |
      awk '{ s += $1 } END { print s + 0 }')
less 0 "$bad" "off: the unconstrained takes break no rule, so this test would not see strict's work"

# infill of a chorale's bars 3-4: the voices' rules there too (auto), every note outside the bars kept
run 0 "infill bars 3-4" "$BIN" infill "$chorale" --model "$model" --bars 3-4 --seed 1 --threads 1 -o "$tmp/inf.mid"
has_out "infill: voice leading strict:" "infill on four voices"

# errors
run 1 "a bad mode" "$BIN" accompany "$chorale" --model "$model" --tracks alto,tenor,bass --voice-leading loose \
    -o "$tmp/x.mid"
has_err "--voice-leading is auto, strict or off, got 'loose'" "bad mode"
run 0 "--quality with voice leading" "$BIN" accompany "$chorale" --model "$model" --tracks alto,tenor,bass --quality --rerank 2 \
    --seed 1 --threads 1 -o "$tmp/q.mid"
has_err "whole takes with voice leading" "--quality says it ranks whole takes with voice leading"
has_out "(candidate " "--quality with voice leading keeps a whole candidate"
run 1 "bar by bar with voice leading" "$BIN" accompany "$chorale" --model "$model" --tracks alto,tenor,bass --rerank 2 \
    --rerank-by bar --seed 1 --threads 1 -o "$tmp/x.mid"
has_err "ranking bar by bar with voice leading" "bars of different candidates could break the rules at the bar line"
[ -e "$tmp/x.mid" ] && fail "a file was written for bar by bar with voice leading" || ok
# a soprano alone, two voices written: three tracks, no four-voice rules
printf '%s\n' BOS Track_0 Program_52 Bar TimeSig_4/4 Track_0 Position_0 Pitch_72 Velocity_20 Duration_12 \
    Position_12 Pitch_74 Duration_12 Position_24 Pitch_76 Duration_24 Bar Track_0 Position_0 Pitch_74 Velocity_20 Duration_48 EOS \
    >"$tmp/sop.txt"
run 0 "detokenize a soprano" "$BIN" detokenize -t remi-tracks -o "$tmp/sop.mid" "$tmp/sop.txt"
run 1 "strict on three tracks" "$BIN" accompany "$tmp/sop.mid" --model "$model" --tracks alto,tenor \
    --voice-leading strict --seed 1 --threads 1 -o "$tmp/x.mid"
has_err "voice leading strict needs four voices" "strict on three tracks"
run 0 "auto on three tracks" "$BIN" accompany "$tmp/sop.mid" --model "$model" --tracks alto,tenor --seed 1 \
    --threads 1 -o "$tmp/x.mid"
has_out "voice leading off" "auto on three tracks"
finish test_cli_voicelead
