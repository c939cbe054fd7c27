#!/bin/bash
# test_serve_browser.sh: the studio's page driven in a real headless Chromium
# (tests/browser/studio.test.mjs, puppeteer-core pinned in
# tests/browser/package-lock.json): load a file, continue it, see three rolls,
# play one, download its MIDI and read it back, upload a broken file and see
# the message; Ctrl-C then stops the server cleanly. Screenshots are kept in
# $TG_BINARY_DIR/serve-browser/. Skipped (77), saying why, without chromium,
# node or tests/browser/node_modules (tools/install-deps.sh --test installs
# them), or in a build without libmicrohttpd.
# Environment (set by ctest): TG_BIN, TG_SOURCE_DIR, TG_BINARY_DIR.
set -u
BIN=${TG_BIN:?TG_BIN not set}
SRC=${TG_SOURCE_DIR:?TG_SOURCE_DIR not set}
OUT=${TG_BINARY_DIR:-/tmp}/serve-browser
CHROMIUM=${TG_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "skipped: no Chromium at $CHROMIUM (Debian: chromium; tools/install-deps.sh --test)"; exit 77; }
command -v node >/dev/null || { echo "skipped: node is not installed (Debian: nodejs)"; exit 77; }
[ -d "$SRC/tests/browser/node_modules/puppeteer-core" ] ||
    { echo "skipped: tests/browser/node_modules is missing (tools/install-deps.sh --test runs npm ci there)"; exit 77; }
"$BIN" --version | grep -q microhttpd || { echo "skipped: tunegan was built without libmicrohttpd"; exit 77; }
[ -f "$SRC/models/default/model.safetensors" ] || { echo "skipped: no bundled model"; exit 77; }
tmp=$(mktemp -d /tmp/tg_serve_browser.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$OUT"
"$BIN" detokenize -o "$tmp/twinkle.mid" "$SRC/assets/primers/twinkle.txt" >/dev/null || exit 1
cd "$SRC/tests/browser" || exit 1
TG_BIN=$BIN TG_OUT=$OUT TG_PRIMER_MID=$tmp/twinkle.mid TG_CHROMIUM=$CHROMIUM \
    TUNEGAN_MODEL=$SRC/models/default/model.safetensors timeout 600 node studio.test.mjs
