#!/bin/sh
# The main job of `make demo`, on what the project ships (no ../shared needed):
# decode the bundled primer (a traditional tune written as remi tokens in
# assets/primers/) to MIDI, print its notes, draw its piano roll, render it
# to audio, and, when the Nottingham data sits beside the project, build the
# training corpus and summarise it. Argument: the build folder.
# Generation from a trained model joins the demo when `tunegan generate` lands.
set -eu
build=${1:-build}
bin="$build/tunegan"
out=out/demo
mkdir -p "$out"

"$bin" --version
echo
echo "== the primer: assets/primers/twinkle.txt (remi tokens) -> $out/primer.mid"
"$bin" detokenize -o "$out/primer.mid" assets/primers/twinkle.txt
"$bin" notes "$out/primer.mid" | head -n 6
echo "..."
if "$bin" --version | grep -q cairo; then
    "$bin" roll "$out/primer.mid" -o "$out/primer.png" --title "primer: Twinkle, twinkle (traditional)"
fi
if "$bin" --version | grep -q fluidsynth; then
    "$bin" render "$out/primer.mid" -o "$out/primer.wav" || echo "(audio skipped: see the message above)"
fi

data=../shared/data/nottingham
if [ -d "$data/full" ]; then
    echo
    echo "== the Nottingham corpus beside the project -> $out/nottingham.corpus"
    "$bin" data build --tokenizer remi --split "$data/split.tsv" -o "$out/nottingham.corpus" "$data/full"
    "$bin" data stats "$out/nottingham.corpus" | head -n 12
fi

echo
echo "Wrote to $out/:"
ls -l "$out"
echo
echo "Listen:  aplay $out/primer.wav   (or any audio player)"
echo "Look:    $out/primer.png (piano roll)"
if [ -f "$out/nottingham.corpus" ]; then
    echo "Next:    $bin pretrain --corpus $out/nottingham.corpus -o runs/mine --preset tiny"
else
    echo "Next:    $bin data build -o my.corpus YOUR_MIDI_FOLDER && $bin pretrain --corpus my.corpus -o runs/mine --preset tiny"
fi
