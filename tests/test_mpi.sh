#!/bin/bash
# test_mpi.sh: data-parallel `tunegan pretrain` and `tunegan train` under
# mpirun (src/dist/dist.c, mle.c, seqgan.c), on a corpus built from the
# fixtures with micro models:
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
# Then `tunegan train` (src/train/seqgan.c) from the pretrain run above, 2
# rounds with rollouts, an MLE mix and no dropout (dropout masks are drawn
# per rank, so with dropout only runs on the same number of ranks agree):
#  - 1 rank under mpirun writes the same bytes as 1 plain process;
#  - 2 and 3 ranks (batch 5: shares of 2/3 and 1/2/2 rows; D's minibatches
#    of 5, 5 and 4 rows): generator, discriminator and rollout policy match one
#    process's to the tolerance below, the logs line for line; rank 0 alone
#    prints; the log has comm_ms; the dense reward on 2 ranks too;
#    control: 2 rollouts instead of 3 must not match;
#  - stopped after phase 2 on 2 ranks and resumed by one process (and 1 -> 2
#    after phase 3): the end matches the uninterrupted run;
#  - errors: a rank whose corpus is missing, --batch below the rank count,
#    a rank killed mid-run (mpirun exits non-zero within 60 s, not by the
#    timeout).
# Tolerance (tools in tests/mpi_compare.py), the same for pretrain and train:
# ranks sum their weight gradients in another order than one process's
# kernels, so weights differ by rounding (train on this fixture: relative L2
# about 2.5e-7, worst weight 1e-6, on 2 and 3 ranks):
# relative L2 difference over the model <= 1e-5, and each weight
# |a - b| <= 1e-5 |a| + 2e-6. The absolute term covers the key biases, whose
# true gradient is zero (softmax ignores a constant added to a row's logits):
# AdamW turns their rounding noise into steps that differ between runs.
# These tolerances are fp32's: the runs use --precision fp32 (through
# TUNEGAN_PRECISION). With bf16 products the ranks' smaller batches round
# their activations in other blocks, and the sampled sequences of train part
# ways after a few steps (checked by hand: pretrain stays near, train does not).
# Skipped (77) without mpirun, numpy, or a build without MPI.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA. Argument: test_dist.
set -u
export TUNEGAN_PRECISION=fp32
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
# rank1_missing SCRIPT COMMAND ARGS OUT: writes SCRIPT, which runs tunegan
# COMMAND ARGS (ARGS naming $tmp/c.corpus) with rank 1 alone given a corpus
# that does not exist
rank1_missing() {
    cat >"$1" <<EOS
#!/bin/sh
c="$tmp/c.corpus"
[ "\$OMPI_COMM_WORLD_RANK" = 1 ] && c="$tmp/none.corpus"
exec "$BIN" $2 ${3/--corpus $tmp\/c.corpus/} --corpus "\$c" -o "$4"
EOS
    chmod +x "$1"
}
rank1_missing "$tmp/rank1_missing.sh" pretrain "$M" "$tmp/e1"
run 1 "rank 1 fails to start" $MPI -np 2 "$tmp/rank1_missing.sh"
has_err "rank 1: " "rank 1 fails to start"; has_err "none.corpus" "rank 1 fails to start"
[ "$(grep -c 'none.corpus' "$tmp/err")" -eq 1 ] && ok || fail "rank 1 fails to start: want the message once"
run 1 "batch below the rank count" $MPI -np 2 "$BIN" pretrain ${M/--batch 5/--batch 1} -o "$tmp/e2"
has_err "smaller than the number of ranks" "batch below the rank count"

# a rank killed mid-run: mpirun must notice and stop the job. The ranks are
# found by their command line and environment (not the process tree, which
# depends on the launcher); a loaded machine may take a while to start them.
#   kill_rank1 WHAT RUN_DIR CMD...: starts CMD (writing RUN_DIR/log.jsonl)
#   under mpirun on 2 ranks and kills rank 1 once the log has a line.
kill_rank1() {
    local what=$1 dir=$2 victim="" st t0 p
    shift 2
    timeout 180 mpirun --oversubscribe -np 2 "$@" >"$tmp/kill.out" 2>"$tmp/kill.err" &
    local mpirun_pid=$!
    for i in $(seq 1 600); do
        if [ -s "$dir/log.jsonl" ]; then
            for p in $(pgrep -f -- "-o $dir"); do
                if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$p; fi
            done
            [ -n "$victim" ] && break
        fi
        sleep 0.2
    done
    if [ -z "$victim" ]; then
        fail "$what: could not find rank 1 of the long run"
        kill $mpirun_pid 2>/dev/null
        wait $mpirun_pid
        return
    fi
    t0=$(date +%s)
    kill -KILL "$victim"
    wait $mpirun_pid
    st=$?
    [ "$st" -ne 0 ] && ok || fail "$what: mpirun exited 0 after a rank was killed"
    [ "$st" -ne 124 ] && ok || fail "$what: mpirun did not stop after a rank was killed (timeout)"
    [ $(( $(date +%s) - t0 )) -lt 60 ] && ok || fail "$what: the job took more than 60 s to stop after the kill"
}
kill_rank1 "pretrain" "$tmp/kill" "$BIN" pretrain $M --steps 100000000 --eval-every 100000000 -o "$tmp/kill"

# ---------------------------------------------------------------------------
# train: the adversarial phase from the pretrain run "$tmp/ref"
A="--corpus $tmp/c.corpus --init $tmp/ref --seq-len 16 --batch 5 --rounds 2 --d-pretrain 2 --d-steps 1 \
--d-epochs 2 --d-samples 7 --rollouts 3 --rollout-every 2 --disc-d-model 32 --disc-layers 1 --disc-heads 2 \
--disc-dropout 0 --mle-mix 1 --lr-g 1e-3 --seed 3 --threads 1"
compare_train() { # WHAT DIR_A DIR_B [D's FILE]: the three models and the log
    for f in model ${4:-disc} rollout; do run 0 "$1: $f" compare weights "$2/$f.safetensors" "$3/$f.safetensors"; done
    run 0 "$1: log" compare log "$2/log.jsonl" "$3/log.jsonl"
}
run 0 "train: one process" "$BIN" train $A -o "$tmp/t1"
run 0 "train: 1 rank" $MPI -np 1 "$BIN" train $A -o "$tmp/t1m"
for f in model disc rollout optimizer disc_optimizer; do
    cmp -s "$tmp/t1/$f.safetensors" "$tmp/t1m/$f.safetensors" && ok || fail "train, 1 rank under mpirun: $f differs"
done
run 0 "train: 2 ranks" $MPI -np 2 "$BIN" train $A -o "$tmp/t2"
has_err "data parallel: 2 ranks" "train: 2 ranks announced"
[ "$(grep -c 'finished after phase 5 of 5' "$tmp/out")" -eq 1 ] && ok || fail "train, 2 ranks: want one summary (rank 0 only)"
[ "$(grep -c 'generator: mean reward' "$tmp/err")" -eq 2 ] && ok || fail "train, 2 ranks: want 2 generator lines on stderr (rank 0 only)"
compare_train "train, 2 ranks" "$tmp/t1" "$tmp/t2"
grep -q '"phase":"adv".*"comm_ms":' "$tmp/t2/log.jsonl" && ok || fail "train, 2 ranks: no comm_ms in the adv lines"
grep -q '"phase":"disc".*"comm_ms":' "$tmp/t2/log.jsonl" && ok || fail "train, 2 ranks: no comm_ms in the disc lines"
run 0 "train: 3 ranks" $MPI -np 3 "$BIN" train $A -o "$tmp/t3"
compare_train "train, 3 ranks" "$tmp/t1" "$tmp/t3"
run 0 "train, dense: one process" "$BIN" train $A --reward dense -o "$tmp/td1"
run 0 "train, dense: 2 ranks" $MPI -np 2 "$BIN" train $A --reward dense -o "$tmp/td2"
compare_train "train, dense, 2 ranks" "$tmp/td1" "$tmp/td2"
run 0 "train, critic: one process" "$BIN" train $A --reward critic -o "$tmp/tk1"
run 0 "train, critic: 2 ranks" $MPI -np 2 "$BIN" train $A --reward critic -o "$tmp/tk2"
compare_train "train, critic, 2 ranks" "$tmp/tk1" "$tmp/tk2" critic
run 0 "train, critic: one process to phase 3" "$BIN" train $A --reward critic -o "$tmp/tk12" --stop-after 3
run 0 "train, critic: resumed by 2 ranks" $MPI -np 2 "$BIN" train $A --reward critic -o "$tmp/tk12" --resume
compare_train "train, critic, 1 -> 2 ranks" "$tmp/tk1" "$tmp/tk12" critic
# the critic's memory (its ring of generated sequences) goes to every rank on a resume
run 0 "train, critic memory: one process" "$BIN" train $A --reward critic --critic-memory 9 -o "$tmp/tkm1"
run 0 "train, critic memory: one process to phase 3" "$BIN" train $A --reward critic --critic-memory 9 -o "$tmp/tkm12" --stop-after 3
run 0 "train, critic memory: resumed by 2 ranks" $MPI -np 2 "$BIN" train $A --reward critic --critic-memory 9 -o "$tmp/tkm12" --resume
compare_train "train, critic memory, 1 -> 2 ranks" "$tmp/tkm1" "$tmp/tkm12" critic
grep -q '"remembered":9' "$tmp/tkm1/log.jsonl" && ok || fail "train, critic memory: no fit read 9 remembered sequences"
run 0 "train, control: 2 rollouts" "$BIN" train ${A/--rollouts 3/--rollouts 2} -o "$tmp/tc"
run 1 "train, control: 2 rollouts against 3" compare weights "$tmp/tc/model.safetensors" "$tmp/t2/model.safetensors"

run 0 "train: 2 ranks to phase 2" $MPI -np 2 "$BIN" train $A -o "$tmp/tr21" --stop-after 2
run 0 "train: resumed by one process" "$BIN" train $A -o "$tmp/tr21" --resume
compare_train "train, 2 -> 1 ranks" "$tmp/t1" "$tmp/tr21"
run 0 "train: one process to phase 3" "$BIN" train $A -o "$tmp/tr12" --stop-after 3
run 0 "train: resumed by 2 ranks" $MPI -np 2 "$BIN" train $A -o "$tmp/tr12" --resume
compare_train "train, 1 -> 2 ranks" "$tmp/t1" "$tmp/tr12"

rank1_missing "$tmp/train_rank1_missing.sh" train "$A" "$tmp/te1"
run 1 "train: rank 1 fails to start" $MPI -np 2 "$tmp/train_rank1_missing.sh"
has_err "rank 1: " "train: rank 1 fails to start"
[ "$(grep -c 'none.corpus' "$tmp/err")" -eq 1 ] && ok || fail "train: rank 1 fails to start: want the message once"
run 1 "train: batch below the rank count" $MPI -np 2 "$BIN" train ${A/--batch 5/--batch 1} -o "$tmp/te2"
has_err "smaller than the number of ranks" "train: batch below the rank count"
kill_rank1 "train" "$tmp/tkill" "$BIN" train $A --rounds 100000000 -o "$tmp/tkill"

finish test_mpi
