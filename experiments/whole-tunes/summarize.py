#!/usr/bin/env python3
"""Tables of the whole-tunes experiment (issue 18) from run.sh's output:
   python3 experiments/whole-tunes/summarize.py OUT_DIR [OUT_DIR ...]
   python3 experiments/whole-tunes/summarize.py --sweep RUN_DIR [RUN_DIR ...]
One row per run folder (CONFIG-seedS) and bar count: whole-piece NLL per token
(valid, test), then for the generated tunes against the test split: the
similarity error (mean |difference| of the bar-similarity profile, d = 1..16),
the similarity at distances 4 and 8 (samples / real), the verbatim 4-bar copy
rate against the training split and the share of distinct 4-bar windows."""
import json
import glob
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rows(out_dir):
    for name in sorted(os.listdir(out_dir)):
        run = os.path.join(out_dir, name)
        if not os.path.isdir(run) or "-seed" not in name:
            continue
        nll = {s: load(os.path.join(run, "nll-%s.json" % s)) for s in ("valid", "test")}
        for bars in (32, 64):
            ev = load(os.path.join(run, "eval-%d.json" % bars))
            if not ev:
                continue
            sim = ev["bar_similarity"]
            yield {
                "run": "%s (%s)" % (name, os.path.basename(os.path.normpath(out_dir))),
                "bars": bars,
                "valid": nll["valid"]["nll"] if nll["valid"] else None,
                "test": nll["test"]["nll"] if nll["test"] else None,
                "err": ev["similarity_error"],
                "d4": (sim["samples"][3], sim["reference"][3]),
                "d8": (sim["samples"][7], sim["reference"][7]),
                "copy": ev["copy_rate"]["rate"],
                "distinct": ev["distinct_windows"]["share"],
            }


def fmt(x, p=4):
    return "-" if x is None else ("%.*f" % (p, x))


def sweep(runs):
    """sweep.sh's sets: one row per run and temperature."""
    print("| run | T | similarity error | sim. d=1 | sim. d=4 | sim. d=8 (real) | copy rate | distinct 4-bar | scale consistency (real) | pitch-class entropy (real) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        for path in sorted(glob.glob(os.path.join(run, "sweep-T*.json"))):
            T = os.path.basename(path)[len("sweep-T"):-len(".json")].replace("-p", ", top-p ").replace("-s", ", seed ")
            ev = load(path)
            if not ev or "bar_similarity" not in ev:  # the fresh critic's verdicts on a set sit beside it
                continue
            s, r = ev["bar_similarity"]["samples"], ev["bar_similarity"]["reference"]
            st = ev["stats"]
            sc, pe = st.get("scale_consistency"), st.get("pitch_class_entropy")
            print("| %s | %s | %.3f | %.3f | %.3f | %.3f (%.3f) | %.3f | %.3f | %s | %s |" % (
                run, T, ev["similarity_error"], s[0], s[3], s[7], r[7], ev["copy_rate"]["rate"],
                ev["distinct_windows"]["share"],
                "%.3f (%.3f)" % (sc["samples"]["mean"], sc["reference"]["mean"]) if sc else "-",
                "%.3f (%.3f)" % (pe["samples"]["mean"], pe["reference"]["mean"]) if pe else "-"))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sweep":
        sweep(sys.argv[2:])
        return
    print("| run | bars | NLL valid | NLL test | similarity error | sim. d=4 (real) | sim. d=8 (real) | copy rate | distinct 4-bar |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for out_dir in sys.argv[1:]:
        for r in rows(out_dir):
            print("| %s | %d | %s | %s | %s | %.3f (%.3f) | %.3f (%.3f) | %.3f | %.3f |" % (
                r["run"], r["bars"], fmt(r["valid"]), fmt(r["test"]), fmt(r["err"], 3),
                r["d4"][0], r["d4"][1], r["d8"][0], r["d8"][1], r["copy"], r["distinct"]))


if __name__ == "__main__":
    main()
