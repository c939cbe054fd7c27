#!/bin/sh
# corpus_scale.sh: `tunegan data build` on a large collection (issue 22):
# makes N MIDI files by hard-linking (or copying) ../shared/data/nottingham's
# full/ files under distinct paths (folders c0000, c0001, ... of one copy of
# the set each) in a scratch folder under ${TMPDIR:-/tmp}, then runs
# `/usr/bin/time -v BIN data build -t remi -o OUT DIR` with each binary given
# and prints its maximum resident set size, wall time and corpus size, and
# whether the corpus is byte-identical to the first binary's. The folder and
# the corpora are deleted afterwards.
#   bench/corpus_scale.sh N [BIN...]        (BIN: build/tunegan)
# e.g. bench/corpus_scale.sh 100000 /work/ref/tunegan-old build/tunegan
# On a shared machine the wall time moves with the other jobs: run it more
# than once and report the load (uptime) with the figures.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=${1:?usage: corpus_scale.sh N [BIN...]}
shift
[ $# -gt 0 ] || set -- "$SRC/build/tunegan"
MIDI=${TG_SHARED_DATA:-$SRC/../shared/data}/nottingham/full
[ -d "$MIDI" ] || { echo "corpus_scale: $MIDI not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "corpus_scale: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tg_corpus_scale.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# the files: whole copies of the set, then the first files of one more
ls "$MIDI" | grep -i '\.mid$' | sort > "$tmp/names"
per=$(wc -l < "$tmp/names")
made=0 k=0
while [ "$made" -lt "$N" ]; do
  d=$(printf '%s/files/c%04d' "$tmp" "$k")
  mkdir -p "$d"
  take=$((N - made < per ? N - made : per))
  head -n "$take" "$tmp/names" | sed "s|^|$MIDI/|" > "$tmp/take"
  xargs ln -t "$d" < "$tmp/take" 2>/dev/null || xargs cp -t "$d" < "$tmp/take"
  made=$((made + take))
  k=$((k + 1))
done
echo "corpus_scale: $made files in $k folders ($per distinct files) under $tmp/files"

first=
for bin in "$@"; do
  rm -f "$tmp/out.corpus"
  /usr/bin/time -v "$bin" data build -t remi -o "$tmp/out.corpus" "$tmp/files" \
    > "$tmp/log" 2> "$tmp/err" || { tail -5 "$tmp/err" >&2; exit 1; }
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/err")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/err")
  user=$(sed -n 's/.*User time (seconds): //p' "$tmp/err")
  sys=$(sed -n 's/.*System time (seconds): //p' "$tmp/err")
  size=$(stat -c %s "$tmp/out.corpus")
  summary=$(tr '\r' '\n' < "$tmp/err" | grep '^tunegan: wrote' | sed 's/.*: pieces/pieces/')
  echo "$bin: $N files: max RSS $((rss_kb / 1024)) MiB, wall $wall (user $user s, sys $sys s), corpus $size bytes"
  same=
  if [ -z "$first" ]; then
    first=$bin
    mv "$tmp/out.corpus" "$tmp/first.corpus"
  elif cmp -s "$tmp/first.corpus" "$tmp/out.corpus"; then
    same=" (byte-identical to $first's)"
  else
    same=" (DIFFERS from $first's)"
  fi
  echo "  $summary$same"
done
