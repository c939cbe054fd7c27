# Sourced by context.sh and infill_forward.sh: the Nottingham test tunes (at
# most LIMIT of them) into $tests, and their real files copied to $out/real.
data=../shared/data/nottingham
mkdir -p "$out/real"
tests=$(awk -F'\t' '$2 == "test" { print $1 }' "$data/split.tsv" | head -n "${LIMIT:-100000}")
for f in $tests; do [ -f "$out/real/$f" ] || cp "$data/full/$f" "$out/real/$f"; done
