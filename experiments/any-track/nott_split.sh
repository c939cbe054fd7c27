# Sourced by rerank.sh and splice.sh (with out and split set): the binary,
# the Nottingham model and data, the tunes of the split (split.tsv), and
# the real tunes copied to $out/real-$split for the measures to compare with.
bin=${TUNEGAN_BIN:-build/tunegan}
model=${NOTT_MODEL:-models/accompany-nottingham}
data=../shared/data/nottingham
tunes=$(awk -F'\t' -v s="$split" '$2 == s { print $1 }' "$data/split.tsv")
mkdir -p "$out/real-$split"
for f in $tunes; do cp "$data/full/$f" "$out/real-$split/$f"; done
