#!/bin/bash
# serve_load.sh CLIENTS SECONDS: a bounded load test of `tunegan serve` on
# loopback. CLIENTS concurrent clients each, until SECONDS have passed, ask
# for a continuation of a 4-bar piece (keep 2 bars, add 2, a seed of their
# own), wait for it, and check every answer: the take has 2 + 2 bars, starts
# with the piece's 2 bars note for note, and downloads as a Standard MIDI
# File. The server keeps 8 takes (--max-takes 8), so its memory must stay
# flat: its resident size after the run is compared with the size after a
# warm-up round (at most 8 MB more). Prints requests, answers per second,
# latencies and the sizes; exits 1 on any wrong answer or growth.
# ctest runs 4 clients for 10 s (label slow); bench/serve_load.sh 60 s.
# Environment: TG_BIN, TG_SOURCE_DIR (set by ctest).
set -u
CLIENTS=${1:-4}
SECONDS_RUN=${2:-10}
BIN=${TG_BIN:?TG_BIN not set}
SRC=${TG_SOURCE_DIR:?TG_SOURCE_DIR not set}
MODEL=$SRC/models/default/model.safetensors
PY=/usr/bin/python3
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
[ -x "$PY" ] || { echo "skipped: $PY is not installed"; exit 77; }
"$BIN" --version | grep -q microhttpd || { echo "skipped: tunegan was built without libmicrohttpd"; exit 77; }
tmp=$(mktemp -d /tmp/tg_serve_load.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

"$BIN" detokenize -o "$tmp/piece.mid" "$SRC/assets/primers/twinkle.txt" >/dev/null || exit 1
"$BIN" serve --port 0 --threads 1 --model "$MODEL" --max-takes 8 --max-queue 16 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do
    url=$(sed -n 's/.*studio is at \(http:[^ ]*\)$/\1/p' "$tmp/out")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "FAIL: the server did not start"; cat "$tmp/err"; exit 1; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }

curl -s -H 'X-Tunegan: 1' --data-binary "@$tmp/piece.mid" "${url}api/upload?name=piece.mid" >"$tmp/piece.json"
piece=$("$PY" -c "import json; print(json.load(open('$tmp/piece.json'))['id'])") || exit 1

# check.py TAKE.json MID: "ok" or what is wrong with one answer.
cat >"$tmp/check.py" <<'EOF'
import json, sys
piece = json.load(open(sys.argv[1]))
take = json.load(open(sys.argv[2]))
mid = open(sys.argv[3], "rb").read(4)
def kept(d, cut):
    return sorted((n[0], n[2]) for tr in d["tracks"] for n in tr["notes"] if n[0] < cut)
bars = take["bars"]
starts = [n[0] for tr in take["tracks"] for n in tr["notes"]]
if mid != b"MThd": print("the download is not MIDI")
elif len(bars) < 5 or not starts or max(starts) >= bars[4]: print("not 2 + 2 bars: bar lines %s" % bars[:6])
elif kept(take, bars[2]) != kept(piece, piece["bars"][2]): print("the kept bars differ from the piece's")
else: print("ok")
EOF

# client N ROUNDS_FILE: asks, waits, checks, until the deadline; one line per answer.
client() {
    local n=$1 deadline=$2 log=$tmp/client$1.log
    local k=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        k=$((k + 1))
        local t0 job state take
        t0=$(date +%s.%N)
        curl -s -H 'X-Tunegan: 1' -d '{"mode":"continue","source":'"$piece"',"keep_bars":2,"bars":2,"num":1,"seed":'"$((n * 100000 + k))"'}' \
            "${url}api/generate" >"$tmp/req$n.json"
        job=$("$PY" -c "import json; print(json.load(open('$tmp/req$n.json')).get('job', 0))")
        [ "$job" != 0 ] || { echo "fail request refused: $(cat "$tmp/req$n.json")" >>"$log"; sleep 0.2; continue; }
        state=
        for _ in $(seq 1 1200); do
            curl -s "${url}api/jobs/$job" >"$tmp/job$n.json"
            state=$("$PY" -c "import json; d=json.load(open('$tmp/job$n.json')); print(d['state'], *d['takes'])")
            case "$state" in done*|failed*) break ;; esac
            sleep 0.1
        done
        case "$state" in done\ *) ;; *) echo "fail job $job: $state" >>"$log"; continue ;; esac
        take=${state#done }
        curl -s "${url}api/takes/$take" >"$tmp/take$n.json"
        curl -s "${url}api/takes/$take/file?format=mid" >"$tmp/take$n.mid"
        local verdict
        verdict=$("$PY" "$tmp/check.py" "$tmp/piece.json" "$tmp/take$n.json" "$tmp/take$n.mid" 2>&1)
        echo "$verdict $(echo "$(date +%s.%N) - $t0" | bc)" >>"$log"
    done
}

# warm-up: one round, then the resident size every second while the clients run
client 0 "$(($(date +%s) + 1))"
rss0=$(rss_kb)
deadline=$(($(date +%s) + SECONDS_RUN))
for i in $(seq 1 "$CLIENTS"); do client "$i" "$deadline" & done
while [ "$(date +%s)" -lt "$deadline" ]; do rss_kb >>"$tmp/rss"; sleep 1; done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null
rss1=$(rss_kb)
kill -INT "$pid"; wait "$pid"; status=$?; pid=

cat "$tmp"/client[1-9]*.log >"$tmp/all.log" 2>/dev/null
total=$(wc -l <"$tmp/all.log")
good=$(grep -c '^ok ' "$tmp/all.log")
lat=$(awk '/^ok / { print $2 }' "$tmp/all.log" | sort -n |
      awk '{ a[NR] = $1 } END { if (NR) printf "median %.2f s, p90 %.2f s, max %.2f s", a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)], a[NR] }')
echo "serve_load: $CLIENTS clients for $SECONDS_RUN s: $total answers, $good correct ($(echo "scale=2; $total / $SECONDS_RUN" | bc) per s); latency $lat"
echo "serve_load: resident size ${rss0} kB after warm-up, ${rss1} kB after the run ($(( (rss1 - rss0) / 1024 )) MB more)"
echo "serve_load: resident size each second (MB): $(awk '{ printf "%.1f ", $1 / 1024 }' "$tmp/rss")"
fails=0
[ "$total" -gt 0 ] || { echo "FAIL: no answer in $SECONDS_RUN s"; fails=1; }
[ "$good" = "$total" ] || { echo "FAIL: wrong answers:"; grep -v '^ok ' "$tmp/all.log" | sort | uniq -c | head; fails=1; }
[ $((rss1 - rss0)) -le 8192 ] || { echo "FAIL: the server grew by more than 8 MB"; fails=1; }
[ "$status" = 0 ] || { echo "FAIL: Ctrl-C: exit status $status"; fails=1; }
[ "$fails" = 0 ] && echo "serve_load: passed"
exit "$fails"
