# Sourced by context.sh and infill_forward.sh: the binary ($bin: BIN, else
# build/tunegan) and threads ($threads: THREADS, else 1); the Nottingham test
# tunes (at most LIMIT of them) into $tests, and their real files copied to
# $out/real.
bin=${BIN:-build/tunegan}
threads=${THREADS:-1}
data=../shared/data/nottingham
mkdir -p "$out/real"
tests=$(awk -F'\t' '$2 == "test" { print $1 }' "$data/split.tsv" | head -n "${LIMIT:-100000}")
for f in $tests; do [ -f "$out/real/$f" ] || cp "$data/full/$f" "$out/real/$f"; done
