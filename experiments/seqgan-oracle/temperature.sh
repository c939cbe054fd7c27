#!/bin/bash
# Issue 19 on the synthetic oracle: the MLE generator's NLL_oracle (of its
# samples, under the oracle: quality) against its NLL_test (of held-out oracle
# sequences, under the generator at the same temperature: coverage) over
# temperatures, the curve on which Caccia et al. ("Language GANs Falling
# Short", ICLR 2020) place every GAN. Same oracle, data and MLE generator as
# run.sh (steps whose output exists are skipped, so a run.sh work folder is
# reused); then `oracle nll --temperature T --test CORPUS` per temperature.
#
#   bash experiments/seqgan-oracle/temperature.sh [WORK_DIR]
# Environment: BUILD (build), SEEDS ("1"), THREADS (1), TEMPS.
# Results: WORK_DIR/seed*/temperature.jsonl and WORK_DIR/temperature.tsv with
# the plot WORK_DIR/temperature.png (tunegan plot --table).
set -eu
. experiments/seqgan-oracle/setup.sh
work=${1:-/tmp/tg-seqgan-oracle}
build=${BUILD:-build}
bin=$build/tunegan
oracle=${ORACLE:-$build/tools/oracle}
seeds=${SEEDS:-1}
threads=${THREADS:-1}
temps=${TEMPS:-"0.6 0.7 0.8 0.9 1.0 1.1 1.2"}
for exe in "$bin" "$oracle"; do
    [ -x "$exe" ] || { echo "temperature.sh: $exe is not built (cmake --build $build)" >&2; exit 77; }
done
mkdir -p "$work"
printf 'series\tlabel\tseed\ttemperature\toracle_nll\ttest_nll\n' >"$work/temperature.tsv"
for seed in $seeds; do
    w=$work/seed$seed
    oracle_setup "$w" $seed 10000 3000
    if [ ! -f "$w/temperature.jsonl" ]; then
        for t in $temps; do
            "$oracle" nll "$w/oracle.safetensors" "$w/mle" -n 10000 --length 20 --seed $seed \
                --threads $threads --temperature $t --test "$w/train.corpus" --json
        done >"$w/temperature.tmp"
        mv "$w/temperature.tmp" "$w/temperature.jsonl"
    fi
    /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("MLE seed %s\tT%g\t%s\t%g\t%.6f\t%.6f" % (sys.argv[2], r["temperature"], sys.argv[2], r["temperature"],
                                                   r["oracle_nll"], r["test_nll"]))' \
        "$w/temperature.jsonl" $seed >>"$work/temperature.tsv"
done
"$bin" plot --table "$work/temperature.tsv" --x test_nll --y oracle_nll -o "$work/temperature.png"
column -t -s "$(printf '\t')" "$work/temperature.tsv"
