#!/usr/bin/python3
"""context_summary.py: the table of context.sh's measures, one row per model,
temperature and seed, then each model's mean and sd over seeds.

    /usr/bin/python3 experiments/any-track/context_summary.py OUT NAME ...

Columns: harmonic fit of the accompaniments (real: the reference's own);
the fresh critic's accuracy on infilled bars 5-8 (mean of critic seeds 1-3;
0.5: indistinguishable); the melody's return, bars 5-8 against 1-4
(phrase_return.py; real beside); the share of tunes in which the model saw
all 4 bars before the gap, and the mean bars seen before / after.
"""
import glob
import json
import os
import re
import statistics
import sys


def fit(path):
    with open(path) as f:
        h = json.load(f)["harmony"]
    return h["samples"]["fit"], h.get("reference", {}).get("fit")


def critic(path):
    with open(path) as f:
        acc = [json.loads(line)["accuracy"] for line in f if line.startswith("{")]
    return statistics.mean(acc)


def ret(path):
    with open(path) as f:
        m = re.search(r": ([0-9.]+) \(", f.read())
    return float(m.group(1))


def seen(path):
    rows = [line.split("\t") for line in open(path) if line.strip()]
    before = [int(r[1]) for r in rows]
    after = [int(r[2]) for r in rows]
    if not rows:
        return 0.0, 0.0, 0.0
    return sum(b >= 4 for b in before) / len(rows), statistics.mean(before), statistics.mean(after)


def spread(xs):
    return "%.3f +- %.3f" % (statistics.mean(xs), statistics.stdev(xs)) if len(xs) > 1 else "%.3f" % xs[0]


def main():
    out, names = sys.argv[1], sys.argv[2:]
    print("| model | T | seed | harmonic fit | critic, infill 5-8 | return 5-8 vs 1-4 | saw bars 1-4 | bars seen before / after |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    real_fit = None
    summary = []
    for name in names:
        by_t = {}
        for acc in sorted(glob.glob(os.path.join(out, name, "acc-T*-s*.json"))):
            t, s = re.search(r"acc-T([0-9.]+)-s([0-9]+)\.json$", acc).groups()
            inf = os.path.join(out, name, "infill-T%s-s%s" % (t, s))
            f, real_fit = fit(acc)
            c, r = critic(inf + ".critic.jsonl"), ret(inf + ".return.txt")
            whole, b, a = seen(inf + ".seen")
            by_t.setdefault(t, []).append((f, c, r))
            print("| %s | %s | %s | %.3f | %.3f | %.3f | %.2f | %.1f / %.1f |" % (name, t, s, f, c, r, whole, b, a))
        for t, rows in sorted(by_t.items()):
            summary.append("| %s | %s | %d seeds | %s | %s | %s | | |" % (
                name, t, len(rows), spread([x[0] for x in rows]), spread([x[1] for x in rows]),
                spread([x[2] for x in rows])))
    for line in summary:
        print(line)
    real_ret = os.path.join(out, "real.return.txt")
    print("| real | | | %s | 0.5 | %s | | |" % (
        "%.3f" % real_fit if real_fit is not None else "", "%.3f" % ret(real_ret) if os.path.exists(real_ret) else ""))


if __name__ == "__main__":
    main()
