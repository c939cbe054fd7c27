#!/bin/bash
# serve_load.sh: the load test of `tunegan serve` at bench length: N clients
# (4) for 60 s, every answer checked, the server's memory before and after
# (tests/serve_load.sh does the work; ctest runs it for 10 s).
#   bench/serve_load.sh [build folder (build)] [clients (4)] [seconds (60)]
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(getconf _NPROCESSORS_ONLN) cores"
echo "== load: $(uptime | sed 's/.*load average/load average/')"
TG_BIN=$build/tunegan TG_SOURCE_DIR=$here bash "$here/tests/serve_load.sh" "${2:-4}" "${3:-60}"
status=$?
echo "== load after: $(uptime | sed 's/.*load average/load average/')"
exit $status
