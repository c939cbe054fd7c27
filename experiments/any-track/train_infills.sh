#!/bin/sh
# critic_pick.py's training data: every Nottingham training tune, and the same
# tune with bars 5-8 written again by a whole-tune model (one take, T 1.0,
# seed 1), as rerank.sh's candidates are drawn. From the project root:
#   sh experiments/any-track/train_infills.sh OUT [MODEL (models/default)]
# Writes OUT/train-real and OUT/train-fake. BIN (build/tunegan).
set -eu
out=$1
model=${2:-models/default}
bin=${BIN:-build/tunegan}
data=../shared/data/nottingham
mkdir -p "$out/train-real" "$out/train-fake"
for f in $(awk -F'\t' '$2 == "train" { print $1 }' "$data/split.tsv"); do
    cp "$data/full/$f" "$out/train-real/$f"
    [ -f "$out/train-fake/$f" ] || "$bin" infill "$data/full/$f" --bars 5-8 --model "$model" -o "$out/train-fake/$f" \
        -T 1.0 --rerank 1 --seed 1 --threads 1 >/dev/null 2>"$out/err" || echo "infill $f: $(tail -n 1 "$out/err")" >&2
done
rm -f "$out/err"
echo "$(ls "$out/train-fake" | wc -l) training tunes infilled"
