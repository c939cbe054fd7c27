#!/bin/bash
# serve_memory.sh: what `tunegan serve` holds in memory before and after
# regenerating bars 5-8 of a Nottingham tune (melody and chords: the
# whole-tune model, models/default, the studio's own model), against the
# reference in the same script: the peak resident memory of the same
# command line, `tunegan infill FILE --bars 5-8` (the model loaded once).
# Prints the server's resident memory after starting, after the job, and its
# peak (VmRSS, VmHWM from /proc), and the peak's ratio to the command line's.
#   bench/serve_memory.sh [build folder (build)] [tune (../shared/data/nottingham/full/ashover13.mid)]
set -u
build=${1:-build}
tune=${2:-../shared/data/nottingham/full/ashover13.mid}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/tunegan
[ -f "$tune" ] || { echo "bench/serve_memory.sh: $tune is missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/serve_memory.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
. "$here/bench/serve_lib.sh"
kb() { awk -v k="$1" '$1 == k ":" { print $2 }' "/proc/$pid/status"; }
json() { /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
/usr/bin/time -f "%M" -o "$tmp/cli" "$bin" infill "$tune" --bars 5-8 --seed 1 --threads 1 -o "$tmp/cli.mid" >/dev/null 2>&1
cli=$(tail -1 "$tmp/cli")
serve_start "$here/models/default"
start=$(kb VmRSS)
id=$(curl -s -H 'X-Tunegan: 1' -H 'Content-Type: audio/midi' --data-binary @"$tune" "${url}api/upload?name=tune.mid" | json "['id']")
job=$(curl -s -H 'X-Tunegan: 1' -d '{"mode":"infill","source":'"$id"',"bars_from":5,"bars_to":8,"seed":1}' \
    "${url}api/generate" | json "['job']")
state=
for _ in 1 2 3 4 5 6; do
    state=$(curl -s "${url}api/jobs/$job?wait=10" | json "['state']")
    [ "$state" = done ] || [ "$state" = failed ] && break
done
[ "$state" = done ] || { echo "bench/serve_memory.sh: the infill job is $state" >&2; exit 1; }
after=$(kb VmRSS) peak=$(kb VmHWM)
echo "tunegan infill (the command line, the reference): peak $cli kB"
echo "tunegan serve: $start kB started, $after kB after the infill, peak $peak kB" \
    "(x$(awk -v a="$peak" -v b="$cli" 'BEGIN { printf "%.2f", a / b }') of the command line's peak)"
