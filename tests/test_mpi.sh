#!/bin/bash
# test_mpi.sh: data-parallel `tunegan pretrain` under mpirun (src/train/dist.c,
# src/train/mle.c), on a corpus built from the fixtures with a micro model:
#  - the dist layer's collectives on 2 and 3 ranks (test_dist), and a rank late
#    at a barrier with a timeout ends the job with a message (MPI_Abort);
#  - 1 rank under mpirun writes the same bytes as 1 plain process;
#  - 2 ranks, 20 steps, batch 5 (shards of 2 and 3 rows): the weights match
#    one process's to the tolerance below, the log has each step once;
#    a different global batch (control) does not match, so the check can fail;
#  - a run stopped at step 10 resumes with another number of ranks (2 -> 1,
#    1 -> 2) and ends within the tolerance of the uninterrupted run;
#  - with dropout, two 2-rank runs give the same bytes (per-rank streams);
#  - errors: one rank failing at the start (its corpus is missing) makes every
#    rank exit non-zero with one message; --batch below the rank count is
#    refused; a rank killed mid-run makes mpirun exit non-zero within 60 s.
# Tolerance (tools in tests/mpi_compare.py): ranks sum their weight gradients
# in another order than one process's kernels, so weights differ by rounding:
# relative L2 difference over the model <= 1e-5, and each weight
# |a - b| <= 1e-5 |a| + 2e-6. The absolute term covers the key biases, whose
# true gradient is zero (softmax ignores a constant added to a row's logits):
# AdamW turns their rounding noise into steps that differ between runs.
# Skipped (77) without mpirun, numpy, or a build without MPI.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA. Argument: test_dist.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
TEST_DIST=${1:?usage: test_mpi.sh PATH/TO/test_dist}
HERE=$(cd "$(dirname "$0")" && pwd)
if ! command -v mpirun >/dev/null 2>&1; then echo "skipped: mpirun not found (apt-get install openmpi-bin)"; exit 77; fi
if ! "$BIN" --version | grep -q mpi; then echo "skipped: tunegan was built without MPI (TG_WITH_MPI)"; exit 77; fi
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then echo "skipped: /usr/bin/python3 has no numpy"; exit 77; fi
tmp=$(mktemp -d /tmp/tg_mpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$HERE/cli_lib.sh"
# CI runs as root; Open MPI refuses that unless told
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# sanitizer builds: Open MPI's components leak at exit from dlclose'd code that
# no suppression can name; our leaks are checked by the one-process tests
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPI="timeout 120 mpirun --oversubscribe"
compare() { /usr/bin/python3 "$HERE/mpi_compare.py" "$@"; }

# the dist layer
run 0 "test_dist on 2 ranks" $MPI -np 2 "$TEST_DIST"
run 0 "test_dist on 3 ranks" $MPI -np 3 "$TEST_DIST"
t0=$(date +%s)
run 1 "a rank late at a barrier" $MPI -np 2 "$TEST_DIST" timeout
grep -q "did not reach the test barrier within 1 s" "$tmp/err" && ok || { fail "no timeout message"; cat "$tmp/err" >&2; }
[ $(( $(date +%s) - t0 )) -lt 60 ] && ok || fail "the barrier timeout took more than 60 s"

# the corpus: every fixture piece in train but one in valid
fixture_midi format0.mid format1.mid format2.mid running_status.mid tempo_map_f1.mid tempo_map_f2.mid overlap.mid metas.mid
fixture_split
run 0 "data build" "$BIN" data build --tokenizer remi --split "$tmp/split.tsv" -o "$tmp/c.corpus" "$tmp/midi"

M="--corpus $tmp/c.corpus --d-model 32 --layers 1 --heads 2 --context 32 --batch 5 --steps 20 --eval-every 10 --warmup 2 --seed 5 --threads 1 --dropout 0"
run 0 "one process" "$BIN" pretrain $M -o "$tmp/ref"
run 0 "1 rank" $MPI -np 1 "$BIN" pretrain $M -o "$tmp/np1"
for f in model.safetensors optimizer.safetensors; do
    cmp -s "$tmp/ref/$f" "$tmp/np1/$f" && ok || fail "1 rank under mpirun: $f differs from one process's"
done

run 0 "2 ranks" $MPI -np 2 "$BIN" pretrain $M -o "$tmp/np2"
has_err "2 MPI ranks" "2 ranks announced"
[ "$(grep -c 'validation NLL' "$tmp/err")" -eq 2 ] && ok || fail "2 ranks: want 2 validation lines on stderr (rank 0 only)"
run 0 "2 ranks: weights" compare weights "$tmp/ref/model.safetensors" "$tmp/np2/model.safetensors"
run 0 "2 ranks: log" compare log "$tmp/ref/log.jsonl" "$tmp/np2/log.jsonl"
grep -q '"comm_ms":' "$tmp/np2/log.jsonl" && ok || fail "2 ranks: no comm_ms in the log"

# control: another global batch must not pass the comparison
run 0 "one process, batch 4" "$BIN" pretrain ${M/--batch 5/--batch 4} -o "$tmp/b4"
run 1 "control: batch 4 against batch 5" compare weights "$tmp/b4/model.safetensors" "$tmp/np2/model.safetensors"

# resume with another number of ranks
run 0 "2 ranks to step 10" $MPI -np 2 "$BIN" pretrain $M -o "$tmp/r21" --stop-at 10
run 0 "resumed by one process" "$BIN" pretrain $M -o "$tmp/r21" --resume
run 0 "2 -> 1 ranks: weights" compare weights "$tmp/ref/model.safetensors" "$tmp/r21/model.safetensors"
run 0 "2 -> 1 ranks: log" compare log "$tmp/ref/log.jsonl" "$tmp/r21/log.jsonl"
run 0 "one process to step 10" "$BIN" pretrain $M -o "$tmp/r12" --stop-at 10
run 0 "resumed by 2 ranks" $MPI -np 2 "$BIN" pretrain $M -o "$tmp/r12" --resume
run 0 "1 -> 2 ranks: weights" compare weights "$tmp/ref/model.safetensors" "$tmp/r12/model.safetensors"

# dropout: repeatable for a given number of ranks
D="${M/--dropout 0/--dropout 0.1} --steps 6 --eval-every 6"
run 0 "2 ranks with dropout" $MPI -np 2 "$BIN" pretrain $D -o "$tmp/d1"
run 0 "2 ranks with dropout again" $MPI -np 2 "$BIN" pretrain $D -o "$tmp/d2"
cmp -s "$tmp/d1/model.safetensors" "$tmp/d2/model.safetensors" && ok || fail "dropout runs on 2 ranks differ"

# errors
cat >"$tmp/rank1_missing.sh" <<EOS
#!/bin/sh
# rank 1 alone is given a corpus that does not exist
c="$tmp/c.corpus"
[ "\$OMPI_COMM_WORLD_RANK" = 1 ] && c="$tmp/none.corpus"
exec "$BIN" pretrain ${M/--corpus $tmp\/c.corpus/} --corpus "\$c" -o "$tmp/e1"
EOS
chmod +x "$tmp/rank1_missing.sh"
run 1 "rank 1 fails to start" $MPI -np 2 "$tmp/rank1_missing.sh"
has_err "rank 1: " "rank 1 fails to start"; has_err "none.corpus" "rank 1 fails to start"
[ "$(grep -c 'none.corpus' "$tmp/err")" -eq 1 ] && ok || fail "rank 1 fails to start: want the message once"
run 1 "batch below the rank count" $MPI -np 2 "$BIN" pretrain ${M/--batch 5/--batch 1} -o "$tmp/e2"
has_err "smaller than the number of ranks" "batch below the rank count"

# a rank killed mid-run: mpirun must notice and stop the job. The ranks are
# found by their command line and environment (not the process tree, which
# depends on the launcher); a loaded machine may take a while to start them.
timeout 180 mpirun --oversubscribe -np 2 "$BIN" pretrain $M --steps 100000000 --eval-every 100000000 \
    -o "$tmp/kill" >"$tmp/kill.out" 2>"$tmp/kill.err" &
mpirun_pid=$!
victim=""
for i in $(seq 1 600); do
    if [ -s "$tmp/kill/log.jsonl" ]; then
        for p in $(pgrep -f -- "-o $tmp/kill"); do
            if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$p; fi
        done
        [ -n "$victim" ] && break
    fi
    sleep 0.2
done
if [ -n "$victim" ]; then
    t0=$(date +%s)
    kill -KILL "$victim"
    wait $mpirun_pid
    st=$?
    [ "$st" -ne 0 ] && ok || fail "mpirun exited 0 after a rank was killed"
    [ "$st" -ne 124 ] && ok || fail "mpirun did not stop after a rank was killed (timeout)"
    [ $(( $(date +%s) - t0 )) -lt 60 ] && ok || fail "the job took more than 60 s to stop after the kill"
else
    fail "could not find rank 1 of the long run"
    kill $mpirun_pid 2>/dev/null
    wait $mpirun_pid
fi

finish test_mpi
