# Sourced by the studio's benches (serve_latency.sh, serve_memory.sh), after
# $bin is set: $tmp, a folder removed on exit (the server, $pid, killed then
# too), one thread, the machine and its load printed; serve_start MODEL
# starts `tunegan serve` on a free port with its output in $tmp/out and
# $tmp/err, and sets $pid and $url (exits when the server does not start).
tmp=$(mktemp -d "/tmp/tg_$(basename "$0" .sh).XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) cores"
echo "== load: $(uptime | sed 's/.*load average/load average/')"

serve_start() {
    "$bin" serve --port 0 --threads 1 --model "$1" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    url=
    for _ in $(seq 1 100); do
        url=$(sed -n 's/.*studio is at \(http:[^ ]*\)$/\1/p' "$tmp/out")
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    echo "$0: the server did not start" >&2
    cat "$tmp/err" >&2
    exit 1
}
