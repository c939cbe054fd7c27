#!/usr/bin/python3
"""The table of experiments/gan/RESULTS.md from results/points.tsv (protocol.py):
one row per sample set kind, each figure the mean over seeds with [min, max].

  /usr/bin/python3 experiments/gan/summarize.py [experiments/gan/results/points.tsv]
"""
import os
import sys

COLUMNS = [("critic_accuracy", "critic acc.", 3), ("critic_auc", "critic AUC", 3),
           ("stat_distance", "stat distance", 3), ("similarity_error", "similarity error", 4),
           ("self_bleu", "self-BLEU", 3), ("distinct_windows", "distinct 4-bar", 3),
           ("copy_rate", "copy rate", 4), ("scale_consistency", "scale consistency", 3),
           ("pitch_class_entropy", "pitch-class entropy", 3)]


def cell(row, key, digits):
    v, lo, hi = row[key], row[key + "_lo"], row[key + "_hi"]
    if v == "nan":
        return "-"
    f = "%%.%df" % digits
    if lo == hi:
        return f % float(v)
    return (f + " [" + f + ", " + f + "]") % (float(v), float(lo), float(hi))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "points.tsv")
    lines = [l.rstrip("\n").split("\t") for l in open(path)]
    head, rows = lines[0], [dict(zip(lines[0], l)) for l in lines[1:]]
    print("| set | seeds | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("| --- | --- |" + " --- |" * len(COLUMNS))
    for r in rows:
        name = r["series"].split(" ")[0] + " " + r["label"] if r["label"] != "valid" else "valid split (real)"
        print("| %s | %s | %s |" % (name, r["seeds"], " | ".join(cell(r, k, d) for k, _, d in COLUMNS)))


if __name__ == "__main__":
    main()
