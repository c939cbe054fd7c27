#!/bin/bash
# Issue 20's reference figures: the harmonic fit of real Nottingham tunes and
# of the bundled model's samples, and the voice leading of Bach's chorales,
# as `tunegan eval --samples --reference` prints them (src/eval/harmony.c
# gives the definitions). Rows:
#   nottingham  test vs train, valid vs test, train vs test (real music);
#               the bundled model's 100 samples (16 bars) at T 1.0 and 0.8,
#               seeds 1, 2, 3, against test; a control whose fit is chance:
#               the test tunes with their chords moved a tritone (+6)
#   bach        test vs train, valid vs test, train vs test
# Each split is a folder of links to the split's files (split.tsv), so eval
# reads the MIDI files themselves, tracks apart. Run from the project root
# after building:
#   bash experiments/eval-baselines/harmony.sh [WORK_DIR]
# The JSON of every run lands in results/harmony-*.json and the table
# (results/harmony.md) is printed. Generation uses one thread.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/tmp/tg-eval-harmony}
build=${BUILD:-build}
bin=$build/tunegan
data=${DATA:-../shared/data}
out=$here/results
mkdir -p "$work" "$out"

link_split() { # DATASET SUBFOLDER SPLIT: $work/DATASET-SPLIT holds links to the split's files
    local dir=$work/$1-$3
    rm -rf "$dir"
    mkdir -p "$dir"
    awk -v s="$3" '!/^#/ && $2 == s { print $1 }' "$data/$1/split.tsv" | while read -r f; do
        ln -s "$(cd "$data/$1/$2" && pwd)/$f" "$dir/$f"
    done
}

evaluate() { # NAME SAMPLES REFERENCE [FLAGS...]
    local name=$1 samples=$2 reference=$3
    shift 3
    "$bin" eval --samples "$samples" --reference "$reference" "$@" --json >"$out/harmony-$name.json" \
        2>"$out/harmony-$name.err"
}

for split in test valid train; do
    link_split nottingham full $split
    link_split jsb-chorales midi $split
done

# the control: each test tune with its chord track (the second) a tritone up
rm -rf "$work/nottingham-tritone"
mkdir -p "$work/nottingham-tritone"
/usr/bin/python3 - "$work/nottingham-test" "$work/nottingham-tritone" <<'EOF'
import os, sys
import mido
src, dst = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    mf = mido.MidiFile(os.path.join(src, name))
    for k, tr in enumerate(mf.tracks):
        for m in tr:
            if k == 1 and m.type in ("note_on", "note_off"):
                m.note = min(127, m.note + 6)
    mf.save(os.path.join(dst, name))
EOF

for temp in 1.0 0.8; do
    for seed in 1 2 3; do
        s=$work/samples-T$temp-seed$seed
        rm -rf "$s"
        "$bin" generate -n 100 --bars 16 --seed $seed -T $temp --threads 1 -o "$s" >"$out/harmony-generate-T$temp-seed$seed.log" 2>&1
        evaluate "model-T$temp-seed$seed-vs-test" "$s" "$work/nottingham-test"
    done
done
evaluate nottingham-test-vs-train "$work/nottingham-test" "$work/nottingham-train"
evaluate nottingham-valid-vs-test "$work/nottingham-valid" "$work/nottingham-test"
evaluate nottingham-train-vs-test "$work/nottingham-train" "$work/nottingham-test"
evaluate nottingham-test-first-track "$work/nottingham-test" "$work/nottingham-train" --melody-track 0
evaluate nottingham-tritone-vs-test "$work/nottingham-tritone" "$work/nottingham-test"
evaluate bach-test-vs-train "$work/jsb-chorales-test" "$work/jsb-chorales-train"
evaluate bach-valid-vs-test "$work/jsb-chorales-valid" "$work/jsb-chorales-test"
evaluate bach-train-vs-test "$work/jsb-chorales-train" "$work/jsb-chorales-test"
find "$out" -name 'harmony-*.err' -empty -delete

/usr/bin/python3 - "$out" >"$out/harmony.md" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, "harmony-%s.json" % name)) as f:
        return json.load(f)
print("| samples (reference) | pieces | harmonic fit | per piece mean +- sd | melody onsets | silent share |")
print("|---|---|---|---|---|---|")
rows = ["nottingham-test-vs-train", "nottingham-test-first-track", "nottingham-valid-vs-test",
        "nottingham-train-vs-test"]
rows += ["model-T%s-seed%d-vs-test" % (t, s) for t in ("1.0", "0.8") for s in (1, 2, 3)]
rows += ["nottingham-tritone-vs-test", "bach-test-vs-train", "bach-valid-vs-test", "bach-train-vs-test"]
for r in rows:
    j = load(r)
    h = j["harmony"]["samples"]
    mel = "track %d" % j["harmony"]["melody_track"] if j["harmony"]["melody_track"] >= 0 else "top line"
    print("| %s (%s; melody: %s) | %d | %.4f | %.4f +- %.4f | %d | %.4f |" % (
        j["samples"]["source"].split("/")[-1], j["reference"]["source"].split("/")[-1], mel,
        j["samples"]["pieces"], h["fit"], h["piece_fit_mean"], h["piece_fit_sd"], h["melody_onsets"],
        h["silent_share"]))
print()
print("| chorales | pieces | beats | parallel fifths | parallel octaves | voice crossings | crossings begun | out of range |")
print("|---|---|---|---|---|---|---|---|")
for r in ["bach-test-vs-train", "bach-valid-vs-test", "bach-train-vs-test"]:
    j = load(r)
    v = j["voice_leading"]["samples"]
    print("| %s | %d | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f |" % (
        j["samples"]["source"].split("/")[-1], v["four_voice_pieces"], v["beats"], v["parallel_fifths"],
        v["parallel_octaves"], v["voice_crossings"], v["crossings_begun"], v["out_of_range"]))
EOF
cat "$out/harmony.md"
