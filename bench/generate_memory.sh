#!/bin/sh
# Memory of generation against the history in view (issue 18's cost goal:
# memory per generated token with 4,096 tokens of history within 2x of the
# cost at 256). For each tunegan binary given, one tune is generated with
# the bundled model (FC-attention, context 4,096) in two runs: 256 new
# tokens after a primer of 3,776 (bars 1-150 of Nottingham's jigs81: about
# 4,030 tokens of history at the end) and 205 new tokens after the bundled
# primer's 51 (256 at the end); then models/mle (relative, context 256) the
# second way as a reference. Rows: the maximum resident set size
# (/usr/bin/time %M), the wall time of the command, and the ratio of the
# long history's RSS to the short one's, in the same script and build.
#   bench/generate_memory.sh TUNEGAN [OLD_TUNEGAN] [ROUNDS (3)]
# Needs ../shared/data/nottingham (skips otherwise) and /usr/bin/time.
# bench/RESULTS.md "Issue 18: generation's memory".
set -eu
[ $# -ge 1 ] || { echo "usage: bench/generate_memory.sh TUNEGAN [OLD_TUNEGAN] [ROUNDS]" >&2; exit 2; }
new=$1 old=${2:-} rounds=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
long=$here/../shared/data/nottingham/full/jigs81.mid
[ -f "$long" ] || { echo "bench/generate_memory.sh: skipped: $long not found (needs ../shared)"; exit 0; }
[ -x /usr/bin/time ] || { echo "bench/generate_memory.sh: /usr/bin/time not found (apt install time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$new" detokenize -o "$tmp/twinkle.mid" "$here/assets/primers/twinkle.txt" >/dev/null 2>&1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# rss BIN MODEL PRIMER PRIMER_BARS LENGTH: "KB seconds" of one generate
rss() {
    /usr/bin/time -f "%M %e" -o "$tmp/time" "$1" generate --model "$2" --primer "$3" --primer-bars "$4" \
        --length "$5" -n 1 --batch 1 --seed 1 --threads 1 -o "$tmp/out" >/dev/null 2>&1
    cat "$tmp/time"
}

# row LABEL BIN: the three runs and the ratio
row() {
    set -- "$1" "$2" "$(rss "$2" "$here/models/default" "$long" 150 256)" \
        "$(rss "$2" "$here/models/default" "$tmp/twinkle.mid" 0 205)" "$(rss "$2" "$here/models/mle" "$tmp/twinkle.mid" 0 205)"
    echo "$3 $4 $5" | awk -v l="$1" -v load="$(cut -d' ' -f1 /proc/loadavg)" '{
        printf "| %s | %s | %.1f MB (%.2f s) | %.1f MB (%.2f s) | %.2f | %.1f MB (%.2f s) |\n",
            l, load, $1 / 1024, $2, $3 / 1024, $4, $1 / $3, $5 / 1024, $6 }'
}

echo "| build | load | fc, history ~4,030 | fc, history 256 | ratio | mle (relative), history 256 |"
echo "| --- | --- | --- | --- | --- | --- |"
r=1
while [ "$r" -le "$rounds" ]; do
    if [ -n "$old" ]; then row "old, round $r" "$old"; fi
    row "new, round $r" "$new"
    r=$((r + 1))
done
