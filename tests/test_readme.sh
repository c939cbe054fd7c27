#!/bin/bash
# Runs every command of the README's ```sh blocks, in order, so that the
# README cannot drift from the code: a renamed flag, a changed default that a
# later command relies on, or a missing file fails here.
#
# How each command is run, in a scratch folder W that is also $HOME:
#   - W/midi holds the fixtures (tests/data: readable and broken ones), so
#     `~/midi` is a folder of MIDI files; W/my-tune.mid is the bundled primer
#     decoded to MIDI; `build` is this build folder and `bench` the source's.
#   - budgets are shrunk so that the whole README runs in a minute: --steps 3,
#     --rounds 1, --rollouts 2, --bars 2, --num / -n 2, --rerank 2,
#     --preset small or base -> tiny, --d-pretrain / --d-steps 1, --d-samples 8,
#     --new 16, --reps 1, --batch 4 (the benchmarks against PyTorch: skipped
#     without it).
#     Every flag is still parsed and checked by the real command.
#   - `make demo` runs tools/demo.sh (what it runs after building) with its
#     output in W; `make test` is skipped (it is this suite); an `mpirun` line
#     runs with --oversubscribe (and --allow-run-as-root as root) when mpirun
#     and an MPI build are here, else it is skipped with the reason; a line
#     with --hostfile is skipped (it needs several machines).
# Every command must exit 0. Environment (from ctest): TG_BIN, TG_TEST_DATA,
# TG_SOURCE_DIR.
set -u
src=${TG_SOURCE_DIR:?}
bin=${TG_BIN:?}
readme=$src/README.md
W=$(mktemp -d)
tmp=$W/.check
mkdir -p "$tmp"
trap 'rm -rf "$W"' EXIT
. "$src/tests/cli_lib.sh"

mkdir -p "$W/midi"
cp "$TG_TEST_DATA"/*.mid "$W/midi/"
ln -s "$(dirname "$bin")" "$W/build"
ln -s "$src/bench" "$W/bench"
"$bin" detokenize -o "$W/my-tune.mid" "$src/assets/primers/twinkle.txt" 2>/dev/null ||
    fail "cannot decode the bundled primer"

# The README's shell commands, one per line (continuations joined, comments
# and prompts dropped).
commands() {
    awk '/^```sh$/ { on = 1; next } /^```/ { on = 0; next }
         on { line = line $0; if (sub(/\\$/, "", line)) next; print line; line = "" }' "$readme" |
        sed -e 's/[[:space:]]#.*$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$'
}

shrink() {
    sed -E -e 's/--steps [0-9]+/--steps 3/g' -e 's/--rounds [0-9]+/--rounds 1/g' \
        -e 's/--rollouts [0-9]+/--rollouts 2/g' -e 's/--bars [0-9]+/--bars 2/g' \
        -e 's/(--num|-n) [0-9]+/\1 2/g' -e 's/--rerank [0-9]+/--rerank 2/g' \
        -e 's/--preset (small|base)/--preset tiny/g' -e 's/--d-(pretrain|steps) [0-9]+/--d-\1 1/g' \
        -e 's/--d-samples [0-9]+/--d-samples 8/g' -e 's/--new [0-9]+/--new 16/g' -e 's/--reps [0-9]+/--reps 1/g' \
        -e 's/--batch [0-9]+/--batch 4/g'
}

have_torch() {
    /usr/bin/python3 -c 'import torch' 2>/dev/null
}

have_mpi() {
    command -v mpirun >/dev/null && "$bin" --version | grep -q mpi
}

ran=0
skipped=0
run_one() {
    local cmd=$1
    case "$cmd" in
    "make demo")
        cmd="DEMO_OUT=$W/out/demo DEMO_SEED=1 sh $src/tools/demo.sh build" ;;
    "make test")
        echo "skip: make test (this suite is what it runs)"; skipped=$((skipped + 1)); return ;;
    *--hostfile*)
        echo "skip: $cmd (needs several machines)"; skipped=$((skipped + 1)); return ;;
    /usr/bin/python3*)
        if ! have_torch; then
            echo "skip: $cmd (no python3-torch)"; skipped=$((skipped + 1)); return
        fi ;;
    mpirun*)
        if ! have_mpi; then
            echo "skip: $cmd (no mpirun or a build without MPI)"; skipped=$((skipped + 1)); return
        fi
        local extra="--oversubscribe"
        [ "$(id -u)" = 0 ] && extra="$extra --allow-run-as-root"
        cmd="mpirun $extra ${cmd#mpirun }" ;;
    esac
    cmd=$(printf '%s\n' "$cmd" | shrink)
    local t0=$SECONDS
    (cd "$W" && HOME=$W timeout 600 bash -c "$cmd") >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    echo "run ($((SECONDS - t0)) s): $cmd"
    ran=$((ran + 1))
    if [ $rc -eq 0 ]; then ok; else fail "README command exits $rc: $cmd"; tail -n 20 "$tmp/err" >&2; fi
}

n=0
while IFS= read -r c; do
    run_one "$c"
    n=$((n + 1))
done < <(commands)
[ "$n" -ge 10 ] && ok || fail "found only $n commands in $readme (is the extraction broken?)"
echo "README: $n commands, $ran run, $skipped skipped"
finish readme
