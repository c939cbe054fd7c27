#!/bin/sh
# Installs the Debian packages tunegan needs, only those missing.
#   tools/install-deps.sh          build and run
#   tools/install-deps.sh --test   also what the tests use as references
set -eu
pkgs="build-essential cmake pkg-config libcjson-dev libopenblas-dev libfluidsynth-dev fluid-soundfont-gm libcairo2-dev libopenmpi-dev openmpi-bin libdnnl-dev"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs clang python3 python3-mido python3-nltk python3-numpy python3-torch"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "tools/install-deps.sh: run as root (or install:$missing)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing
fi
