# cli_lib.sh: what the CLI test scripts share; sourced after they set $tmp.
#   ok / fail MESSAGE      count a check (fail prints the message)
#   run STATUS WHAT CMD... run CMD, stdout to $tmp/out, stderr to $tmp/err, and
#                          check its exit status (stderr shown on failure)
#   has_err TEXT WHAT      the last run's stderr holds TEXT
#   has_out TEXT WHAT      the last run's stdout holds TEXT
#   finish NAME            print the tally; exit status 0 only when nothing failed
#   json KEY               the first number (or null) after "KEY": in $tmp/out
#   near A B TOL WHAT      |A - B| <= TOL
#   less A B WHAT [MARGIN] A + MARGIN < B (MARGIN 0 when not given)
fails=0
checks=0
ok() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
run() {
    want=$1; what=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else fail "$what: exit $got, want $want"; cat "$tmp/err" >&2; fi
}
has_err() { if grep -qF -- "$1" "$tmp/err"; then ok; else fail "$2: stderr lacks '$1'"; cat "$tmp/err" >&2; fi; }
has_out() { if grep -qF -- "$1" "$tmp/out"; then ok; else fail "$2: stdout lacks '$1'"; fi; }
finish() { echo "$1: $checks checks, $fails failed"; [ "$fails" -eq 0 ]; }
json() { grep -o "\"$1\":[-0-9.e+null]*" "$tmp/out" | head -n 1 | cut -d: -f2; }
near() { if awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; then ok
         else fail "$4: $1 vs $2 (tol $3)"; fi; }
less() { if awk -v a="$1" -v b="$2" -v m="${4:-0}" 'BEGIN { exit !(a != "" && b != "" && a + m < b + 0) }'; then ok
         else fail "$3: $1 is not below $2${4:+ by $4}"; fi; }
#   fixture_midi FILE...   copy those of the fixtures ($DATA) that exist into $tmp/midi
#   fixture_split          $tmp/split.tsv for $tmp/midi: format0.mid valid, the rest train
fixture_midi() {
    mkdir -p "$tmp/midi"
    for f in "$@"; do [ -f "$DATA/$f" ] && cp "$DATA/$f" "$tmp/midi/"; done
    return 0
}
fixture_split() {
    printf 'format0.mid\tvalid\n' >"$tmp/split.tsv"
    for f in "$tmp"/midi/*.mid; do
        n=$(basename "$f")
        [ "$n" = format0.mid ] || printf '%s\ttrain\n' "$n" >>"$tmp/split.tsv"
    done
}
