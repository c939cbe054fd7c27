#!/bin/bash
# serve_latency.sh: from the click on Generate to a playable 8-bar
# continuation in `tunegan serve`, on one core with the bundled model.
# For each seed: POST /api/generate (continue the bundled primer's 4 bars,
# add 8), wait on the job (the page's long poll, ?wait=10) until done, then GET the take's WAV (what
# the Play button fetches). Prints per seed the wall times (generation,
# audio, their sum) and the server's CPU seconds over the same interval (from
# /proc: on a shared machine the CPU time says what the wall time would be on
# an idle one), then medians and ranges. The reference, in the same script
# and at the same settings: `tunegan generate` and `tunegan render` for the
# same seeds (its own "generated ... in X s", which leaves out loading the
# model, and the render's wall time); the ratio serve/CLI of the generation
# times shows what the server adds.
#   bench/serve_latency.sh [build folder (build)] [seeds (10)]
set -u
build=${1:-build}
n=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/tunegan
model=$here/models/default/model.safetensors
. "$here/bench/serve_lib.sh"
"$bin" detokenize -o "$tmp/twinkle.mid" "$here/assets/primers/twinkle.txt" >/dev/null
serve_start "$model"
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$pid/stat"; }
now() { date +%s.%N; }
piece=$(curl -s -H 'X-Tunegan: 1' --data-binary "@$tmp/twinkle.mid" "${url}api/upload?name=twinkle.mid" |
        grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)

# one_click SEED: prints "gen_s wav_s total_s cpu_s"
one_click() {
    local c0 t0 t1 t2 job take
    c0=$(cpu); t0=$(now)
    job=$(curl -s -H 'X-Tunegan: 1' -d '{"mode":"continue","source":'"$piece"',"keep_bars":4,"bars":8,"num":1,"seed":'"$1"'}' \
          "${url}api/generate" | grep -o '"job":[0-9]*' | cut -d: -f2)
    while :; do
        curl -s "${url}api/jobs/$job?wait=10" >"$tmp/job"
        grep -q '"state":"done"' "$tmp/job" && break
        grep -q '"state":"failed"' "$tmp/job" && { echo "failed: $(cat "$tmp/job")" >&2; return 1; }
    done
    t1=$(now); c1=$(cpu)
    take=$(grep -o '"takes":\[[0-9]*' "$tmp/job" | grep -o '[0-9]*$')
    inside=$(grep -o '"seconds":[0-9.e-]*' "$tmp/job" | cut -d: -f2)
    curl -s -o "$tmp/take.wav" "${url}api/takes/$take/file?format=wav"
    t2=$(now)
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v c0="$c0" -v c1="$c1" -v c2="$(cpu)" -v i="$inside" \
        'BEGIN { printf "%.3f %.3f %.3f %.3f %.3f %.3f\n", b - a, c - b, c - a, c2 - c0, i, c1 - c0 }'
}
one_click 1 >/dev/null # warm-up: pages of the model and the SoundFont
echo "seed  serve: generate (inside, CPU)  audio  click-to-playable  server CPU s |  CLI: generate  render  | serve inside/CLI generate"
: >"$tmp/rows"
for s in $(seq 101 $((100 + n))); do
    read -r g w t c gi gc < <(one_click "$s") || continue
    "$bin" generate -o "$tmp/cli$s" --model "$model" --primer "$tmp/twinkle.mid" --primer-bars 4 --bars 8 \
        --threads 1 --seed "$s" --batch 1 >"$tmp/cli.out" 2>&1
    cg=$(sed -n 's/.* new tokens in \([0-9.]*\) s.*/\1/p' "$tmp/cli.out")
    r0=$(now); "$bin" render "$tmp/cli$s/sample-000.mid" -o "$tmp/cli.wav" >/dev/null 2>&1; r1=$(now)
    cr=$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.3f", b - a }')
    echo "$s $g $w $t $c $cg $cr $gi $gc" >>"$tmp/rows"
    awk -v s="$s" -v g="$g" -v w="$w" -v t="$t" -v c="$c" -v cg="$cg" -v cr="$cr" -v gi="$gi" -v gc="$gc" \
        'BEGIN { printf "%4d  %8.3f (%.3f, %.3f) %6.3f %18.3f %13.3f |  %13.3f %7.3f  | %6.2f\n", s, g, gi, gc, w, t, c, cg, cr, gi / cg }'
done
med() { cut -d' ' -f"$1" "$tmp/rows" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f (%.3f..%.3f)", a[int((NR + 1) / 2)], a[1], a[NR] }'; }
echo "median (min..max) over $(wc -l <"$tmp/rows") seeds:"
echo "  serve: generate $(med 2) (inside the server $(med 8), CPU $(med 9)), audio $(med 3), click-to-playable $(med 4), server CPU $(med 5) s"
echo "  CLI:   generate $(med 6), render $(med 7)"
echo "  serve (inside)/CLI generate: $(awk '{ print $8 / $6 }' "$tmp/rows" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f (%.2f..%.2f)", a[int((NR + 1) / 2)], a[1], a[NR] }')"
# Responsiveness: while a long request runs (4 new tunes of 64 bars), how
# long the page's poll (GET /api/jobs/N) and a take's roll (GET /api/takes/N)
# take, against the same requests with the worker idle.
poll_ms() { # PATH: 20 requests, median and max in ms
    for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{time_total}\n' "$url${1#/}"; sleep 0.05; done |
        sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "median %.1f ms, max %.1f ms", a[10], a[20] }'
}
echo "idle worker:  poll $(poll_ms /api/jobs/1), roll $(poll_ms /api/takes/2)"
long=$(curl -s -H 'X-Tunegan: 1' -d '{"mode":"new","bars":64,"num":4,"seed":1}' "${url}api/generate" |
       grep -o '"job":[0-9]*' | cut -d: -f2)
sleep 0.5
echo "during a long generation: poll $(poll_ms "/api/jobs/$long"), roll $(poll_ms /api/takes/2)"
curl -s "${url}api/jobs/$long" | grep -q '"state":"running"' && echo "(the long request was still running)"
echo "== load after: $(uptime | sed 's/.*load average/load average/')"
kill -INT "$pid"; wait "$pid"; pid=
