#!/bin/sh
# What `accompany --rerank N` (or `infill --rerank N`) costs: the whole command (loading, drawing N
# candidates in one batch, scoring each twice by batched forward passes,
# writing) on a 32-bar melody, one thread, for N = 1 (the reference: no
# scoring), 4, 8 and 16, alternated in every round; CPU time (user + system,
# /usr/bin/time: what one free core would take on a shared machine), best of
# ROUNDS, and its ratio to N = 1. The sampling loop's own wall time (printed
# by accompany) is shown beside it, so what scoring adds can be read off.
# With INFILL=1 the command is `infill PIECE --bars 5-8` instead (the whole
# tune, melody and chords; the whole-tune model or an any-track one).
#   bench/accompany_rerank.sh [MODEL (models/accompany-nottingham)] [MELODY] [ROUNDS (3)] ["N..." ("1 4 8 16")]
#   INFILL=1 bench/accompany_rerank.sh models/default ../shared/data/nottingham/full/ashover13.mid 3 "1 8"
# PRECISIONS="fp32 bf16" runs every N at each --precision, alternated in every
# round, and prints each against the first (the reference: fp32); EXTRA adds
# flags to every command (e.g. "-T 0.6 --rerank-weight 1 --rerank-per-token").
#   PRECISIONS="fp32 bf16" bench/accompany_rerank.sh MODEL MELODY 3 "1 16"
set -eu
bin=${TG_BIN:-build/tunegan}
model=${1:-models/accompany-nottingham}
mel=${2:-../shared/data/nottingham/melody/ashover13.mid}  # a test tune of 32 bars
cmd="accompany"
[ "${INFILL:-0}" = 1 ] && cmd="infill"
gap=""
[ "$cmd" = infill ] && gap="--bars 5-8"
rounds=${3:-3}
ns=${4:-1 4 8 16}
precs=${PRECISIONS:-auto}
extra=${EXTRA:-}
[ -f "$mel" ] || { echo "bench/accompany_rerank.sh: $mel is missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/accompany_rerank.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "== $(date '+%Y-%m-%d %H:%M'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" --version | grep precision || true
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
for p in $precs; do for n in $ns; do eval "cpu_${p}_$n=999 samp_${p}_$n=999"; done; done
for r in $(seq "$rounds"); do
    for n in $ns; do
        for p in $precs; do
            /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin" $cmd "$mel" $gap --model "$model" -o "$tmp/a.mid" \
                --rerank "$n" --seed "$r" --threads 1 --precision "$p" $extra >"$tmp/out" 2>"$tmp/err" \
                || { echo "bench/accompany_rerank.sh: $cmd failed:" >&2; cat "$tmp/err" >&2; exit 1; }
            c=$(awk '{print $1 + $2}' "$tmp/time")
            s=$(sed -n 's/.* tokens sampled in \([0-9.]*\) s.*/\1/p' "$tmp/out")
            eval "cpu_${p}_$n=\$(min \$cpu_${p}_$n $c) samp_${p}_$n=\$(min \$samp_${p}_$n $s)"
        done
    done
done
first_n=$(echo $ns | cut -d' ' -f1)
first_p=$(echo $precs | cut -d' ' -f1)
echo "$cmd $mel $gap $extra, model $model, 1 thread, whole command, best of $rounds (load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
for p in $precs; do
    eval "ref=\$cpu_${p}_$first_n"
    for n in $ns; do
        eval "c=\$cpu_${p}_$n s=\$samp_${p}_$n f=\$cpu_${first_p}_$n"
        line="precision $p, rerank $n: CPU $c s (x$(echo "$c $ref" | awk '{printf "%.2f", $1 / $2}') of rerank $first_n), sampling loop $s s wall"
        [ "$p" != "$first_p" ] && line="$line; $first_p / $p: $(echo "$f $c" | awk '{printf "%.2f", $1 / $2}')x"
        echo "$line"
    done
done
