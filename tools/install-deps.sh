#!/bin/sh
# Installs the Debian packages tunegan needs, only those missing.
#   tools/install-deps.sh          build and run
#   tools/install-deps.sh --test   also what the tests use as references
set -eu
pkgs="build-essential cmake pkg-config libcjson-dev libopenblas-dev libfluidsynth-dev fluid-soundfont-gm libcairo2-dev libopenmpi-dev openmpi-bin libmicrohttpd-dev libdnnl-dev"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs clang python3 python3-mido python3-nltk python3-numpy python3-torch curl chromium musescore3"
    # node and npm for the studio's browser test: Debian's packages unless a
    # node (with its npm, as NodeSource's nodejs has) is already installed
    command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
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
# The studio's browser test drives Chromium through puppeteer-core, pinned in
# tests/browser/package-lock.json (no browser download: Debian's chromium).
if [ "${1:-}" = "--test" ] && [ ! -d "$(dirname "$0")/../tests/browser/node_modules/puppeteer-core" ]; then
    (cd "$(dirname "$0")/../tests/browser" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund) ||
        echo "tools/install-deps.sh: npm ci failed in tests/browser: the browser test will say it is skipped" >&2
fi
