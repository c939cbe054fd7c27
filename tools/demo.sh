#!/bin/sh
# The main job of `make demo`, on what the project ships (no ../shared needed):
# with the bundled model (models/default), write a few new pieces and a
# continuation of the bundled primer (the opening of "Twinkle, twinkle",
# written as remi tokens in assets/primers/), each as MIDI, a piano roll
# (PNG) and audio (WAV), and say where they are. When the Nottingham data
# sits beside the project, also build its training corpus for the next step.
# Arguments: the build folder. DEMO_OUT: the output folder (out/demo).
# DEMO_SEED: the random seed (default: from the clock, so each demo differs).
set -eu
build=${1:-build}
bin="$build/tunegan"
out=${DEMO_OUT:-out/demo}
seed=${DEMO_SEED:-$(date +%s)}
here=$(dirname "$0")/..
mkdir -p "$out"
rm -rf "$out/new" "$out/continuation"

extras=""
"$bin" --version | grep -q cairo && extras="$extras --roll"
"$bin" --version | grep -q fluidsynth && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] && extras="$extras --render"
"$bin" --version | head -n 1
echo

echo "== the primer: assets/primers/twinkle.txt (remi tokens) -> $out/primer.mid"
"$bin" detokenize -o "$out/primer.mid" "$here/assets/primers/twinkle.txt"
case "$extras" in *roll*) "$bin" roll "$out/primer.mid" -o "$out/primer.png" \
    --title "primer: Twinkle, twinkle (traditional)" ;; esac
case "$extras" in *render*) "$bin" render "$out/primer.mid" -o "$out/primer.wav" ;; esac

echo
# at the bundled model's own temperature (0.95, models/default/sampling.tsv)
echo "== three new tunes of 32 bars from the bundled model -> $out/new/"
"$bin" generate -o "$out/new" --num 3 --bars 32 --seed "$seed" $extras
echo
echo "== the primer's 4 bars continued for 28 more -> $out/continuation/"
"$bin" generate -o "$out/continuation" --primer "$out/primer.mid" --primer-bars 4 --bars 28 \
    --num 1 --seed "$seed" $extras

data=$here/../shared/data/nottingham
if [ -d "$data/full" ]; then
    echo
    echo "== the Nottingham corpus beside the project -> $out/nottingham.corpus"
    "$bin" data build --tokenizer remi --split "$data/split.tsv" -o "$out/nottingham.corpus" "$data/full" 2>&1 |
        tail -n 1
fi

echo
echo "Wrote (seed $seed):"
find "$out" -type f \( -name '*.mid' -o -name '*.wav' -o -name '*.png' \) | sort | sed 's/^/  /'
echo
case "$extras" in
*render*) echo "Listen:  aplay $out/new/sample-000.wav   (or any audio player; the .mid files play in any MIDI player)" ;;
*) echo "Listen:  the .mid files play in any MIDI player (audio needs FluidSynth and fluid-soundfont-gm)" ;;
esac
case "$extras" in *roll*) echo "Look:    $out/new/sample-000.png and $out/continuation/sample-000.png (piano rolls)" ;; esac
echo "More:    $bin generate --help   (e.g. --primer YOUR_TUNE.mid, --temperature 0.9, --num 8)"
if [ -f "$out/nottingham.corpus" ]; then
    echo "Train:   $bin pretrain --corpus $out/nottingham.corpus -o runs/mine --preset tiny"
else
    echo "Train:   $bin data build -o my.corpus YOUR_MIDI_FOLDER && $bin pretrain --corpus my.corpus -o runs/mine --preset tiny"
fi
