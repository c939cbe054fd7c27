#!/usr/bin/python3
"""The distance of each recipe's points above MLE's temperature curve
(issue 19, Caccia et al. 2020) from oracle_curve.sh's curve.tsv files:
for every series, seed and temperature, its NLL_oracle minus MLE's curve
at the same NLL_test (MLE's points of that seed joined by straight lines,
the end segments extended); positive = worse quality than MLE at equal
coverage. Prints mean +- sd (n-1) over the seeds as a Markdown table.

    /usr/bin/python3 experiments/gan/curve_distance.py CURVE.tsv [CURVE.tsv ...]
"""
import statistics
import sys
from collections import defaultdict


def mle_curve_at(points, x):
    """MLE's NLL_oracle at NLL_test x: points (test, oracle) sorted by test."""
    i = 0
    while i < len(points) - 2 and x > points[i + 1][0]:
        i += 1
    (x0, y0), (x1, y1) = points[i], points[i + 1]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def main(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            head = f.readline().rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(head, line.rstrip("\n").split("\t")))
                rows.append((r["series"], int(r["seed"]), float(r["temperature"]),
                             float(r["oracle_nll"]), float(r["test_nll"])))
    mle = defaultdict(list)
    for s, seed, t, o, x in rows:
        if s == "mle":
            mle[seed].append((x, o))
    for seed in mle:
        mle[seed].sort()
    dist = defaultdict(lambda: defaultdict(dict))
    for s, seed, t, o, x in rows:
        if s != "mle" and seed in mle:
            dist[s][t][seed] = o - mle_curve_at(mle[seed], x)
    temps = sorted({t for s in dist for t in dist[s]})
    print("| recipe | seeds | " + " | ".join("T %.1f" % t for t in temps) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in temps) + " |")
    for s in dist:
        cells, seeds = [], set()
        for t in temps:
            v = list(dist[s][t].values())
            seeds |= set(dist[s][t])
            if len(v) > 1:
                cells.append("%+.3f +- %.3f" % (statistics.mean(v), statistics.stdev(v)))
            elif v:
                cells.append("%+.3f" % v[0])
            else:
                cells.append("")
        print("| %s | %s | %s |" % (s, ",".join(map(str, sorted(seeds))), " | ".join(cells)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
