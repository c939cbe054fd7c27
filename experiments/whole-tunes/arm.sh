#!/bin/sh
# The ablation's measures of one trained run (issue 18), as RESULTS.md's
# table has them for `today` and `fc`: whole-piece NLL per token of the valid
# and test pieces (eval's default stride, half the model's context: every
# token with at least half a context before it), 100 tunes of 32 bars at
# T 1.0 and 0.9 (sweep.sh, generation seed 21) against the test split, and
# the fresh critic (seeds 1-3) on each set. From the project root:
#   BIN=... sh experiments/whole-tunes/arm.sh CORPUS RUN_DIR
# writes RUN_DIR/nll-valid.json, nll-test.json, sweep-T<T>/ and .json,
# sweep-T<T>-critic.jsonl; prints one line per measure.
set -eu
bin=${BIN:-build/tunegan}
corpus=$1 run=$2
[ -f "$run/model.safetensors" ] || { echo "arm.sh: $run/model.safetensors is missing" >&2; exit 1; }
for split in valid test; do
    [ -f "$run/nll-$split.json" ] || {
        "$bin" eval --model "$run" --corpus "$corpus" --split "$split" --threads 1 --json >"$run/nll-$split.json.tmp"
        mv "$run/nll-$split.json.tmp" "$run/nll-$split.json"
    }
    echo "$run NLL $split: $(cat "$run/nll-$split.json")"
done
BIN=$bin TEMPS="1.0 0.9" SEED=21 sh "$(dirname "$0")/sweep.sh" "$corpus" "$run"
for T in 1.0 0.9; do
    c=$run/sweep-T$T-critic.jsonl
    [ -s "$c" ] || {
        for s in 1 2 3; do
            "$bin" critic --real "$corpus:test" --fake "$run/sweep-T$T" --tokenizer remi-compact --seed "$s" --json
        done >"$c.tmp"
        mv "$c.tmp" "$c"
    }
    /usr/bin/python3 - "$run/sweep-T$T.json" "$c" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
acc = [json.loads(l)["accuracy"] for l in open(sys.argv[2])]
sim = ev["bar_similarity"]
print("%s: similarity error %.3f, at 8 bars %.3f (real %.3f), at 1 bar %.3f, at 4 bars %.3f, distinct 4-bar windows %.3f, "
      "copies %.3f; fresh critic %s (mean %.3f)" % (
          sys.argv[1], ev["similarity_error"], sim["samples"][7], sim["reference"][7], sim["samples"][0],
          sim["samples"][3], ev["distinct_windows"]["share"], ev["copy_rate"]["rate"],
          " / ".join("%.3f" % a for a in acc), sum(acc) / len(acc)))
PY
done
