#!/bin/bash
# test_oracle.sh: tools/oracle (SeqGAN's synthetic oracle) on tiny sizes:
# make writes a raw-tokenizer generator and reports its entropy; sample
# writes a corpus that `tunegan data stats` reads (BOS, L ids, EOS; train and
# valid splits); nll scores the oracle's own samples, uniform ids and a
# generator trained on the corpus; nll --test gives the generator's NLL of
# held-out sequences (the oracle's own: about its entropy, worse at T 0.5
# and 2). The check that can fail: the oracle's own
# samples must cost clearly less under it than uniform ids (and about its
# entropy), and the same seed gives the same numbers. Bad arguments and files
# are clear errors; --help exits 0.
# Usage: test_oracle.sh ORACLE. Environment (ctest): TG_BIN.
set -u
BIN=${TG_BIN:?TG_BIN not set}
ORACLE=${1:?usage: test_oracle.sh ORACLE}
tmp=$(mktemp -d /tmp/tg_oracle.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
o=$tmp/o.safetensors
small="--vocab 300 --d-model 16 --layers 1 --heads 2 --context 12 --logit-std 2.5"

run 0 "help" "$ORACLE" --help
has_out "oracle make" "help"
run 0 "make" "$ORACLE" make $small --length 10 --seed 3 -n 64 -o "$o"
has_out "raw:v=1,vocab=300" "make names its tokenizer"
has_out "entropy" "make reports the entropy"
run 0 "sample" "$ORACLE" sample "$o" -n 40 --valid 8 --length 10 --seed 3 -o "$tmp/t.corpus"
run 0 "data stats" "$BIN" data stats "$tmp/t.corpus"
has_out "raw:v=1,vocab=300" "the corpus carries the raw tokenizer"
grep -Eq "^train +40 +480" "$tmp/out" && ok || fail "40 training pieces of 12 tokens: $(grep train "$tmp/out")"
grep -Eq "^valid +8 +96" "$tmp/out" && ok || fail "8 validation pieces: $(grep valid "$tmp/out")"
has_out "min 12, p10 12, median 12, p90 12, p99 12, max 12" "every piece is BOS, 10 ids, EOS"

nll="-n 200 --length 10 --seed 5 --json"
run 0 "nll of the oracle's own samples" "$ORACLE" nll "$o" "$o" $nll
own=$(json oracle_nll); ent=$(json oracle_entropy)
run 0 "nll of uniform ids" "$ORACLE" nll "$o" --uniform $nll
uni=$(json oracle_nll)
less "$own" "$uni" "own samples cost less than uniform ids" 1.0
near "$own" "$ent" 0.3 "own samples cost about the oracle's entropy"
run 0 "nll again" "$ORACLE" nll "$o" "$o" $nll
[ "$(json oracle_nll)" = "$own" ] && ok || fail "same seed, same NLL: $(json oracle_nll) vs $own"
run 0 "sharper" "$ORACLE" nll "$o" "$o" $nll --temperature 0.5
less "$(json oracle_nll)" "$own" "temperature 0.5 samples cost less than temperature 1"

# NLL_test (--test): the oracle as its own generator scores its held-out
# sequences at about its entropy, and worse at another temperature (the
# true distribution is the best one at T = 1)
run 0 "sample a test corpus" "$ORACLE" sample "$o" -n 8 --valid 400 --length 10 --seed 4 -o "$tmp/v.corpus"
run 0 "nll --test" "$ORACLE" nll "$o" "$o" $nll --test "$tmp/v.corpus"
test1=$(json test_nll)
near "$test1" "$ent" 0.3 "the oracle's NLL_test is about its entropy"
has_out '"oracle_nll":' "--test keeps the oracle NLL"
run 0 "nll --test, temperature 0.5" "$ORACLE" nll "$o" "$o" $nll --test "$tmp/v.corpus" --temperature 0.5
less "$test1" "$(json test_nll)" "NLL_test at temperature 0.5 is worse than at 1"
run 0 "nll --test, temperature 2" "$ORACLE" nll "$o" "$o" $nll --test "$tmp/v.corpus" --temperature 2
less "$test1" "$(json test_nll)" "NLL_test at temperature 2 is worse than at 1"
run 0 "nll --test, table" "$ORACLE" nll "$o" "$o" -n 20 --length 10 --test "$tmp/v.corpus"
has_out "test NLL" "the table names NLL_test"
run 1 "--test with --uniform" "$ORACLE" nll "$o" --uniform $nll --test "$tmp/v.corpus"
has_err "--test needs a generator" "--test with --uniform"
run 1 "--test, missing corpus" "$ORACLE" nll "$o" "$o" $nll --test "$tmp/none.corpus"
has_err "none.corpus" "missing corpus named"

run 0 "pretrain on the corpus" "$BIN" pretrain --corpus "$tmp/t.corpus" --preset tiny --d-model 16 --layers 1 \
    --heads 2 --context 11 --batch 8 --steps 3 --eval-every 3 --seed 1 --threads 1 -o "$tmp/run"
run 0 "nll of a run folder" "$ORACLE" nll "$o" "$tmp/run" $nll
less "$(json oracle_nll)" 1000 "a run folder gives a number"
run 1 "generate refuses a model of abstract ids" "$BIN" generate --model "$tmp/run" -o "$tmp/gen"
has_err "abstract token ids" "generate on a raw model"

run 1 "no command" "$ORACLE"
has_err "no command" "no command"
run 1 "unknown command" "$ORACLE" frobnicate
has_err "unknown command 'frobnicate'" "unknown command"
run 1 "bad number" "$ORACLE" make --vocab 12x -o "$tmp/x"
has_err "--vocab must be a whole number" "bad number"
run 1 "unknown option" "$ORACLE" nll "$o" --bogus
has_err "unknown option '--bogus'" "unknown option"
run 1 "missing value" "$ORACLE" sample "$o" -o
has_err "-o needs a value" "missing value"
run 1 "missing oracle" "$ORACLE" nll "$tmp/none.safetensors" --uniform
has_err "none.safetensors" "missing file named"
run 1 "not an oracle" "$ORACLE" nll "$tmp/run/model.safetensors" --uniform
has_err "is not an oracle" "a plain checkpoint is not an oracle"
run 1 "length past the context" "$ORACLE" sample "$o" --length 20 -o "$tmp/y.corpus"
has_err "exceeds the oracle's context" "length past the context"
run 1 "context below length" "$ORACLE" make --context 8 --length 10 -o "$tmp/z"
has_err "must be at least --length" "context below length"
[ ! -e "$tmp/z" ] && [ ! -e "$tmp/y.corpus" ] && ok || fail "failed commands wrote files"
finish test_oracle
