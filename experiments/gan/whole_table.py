#!/usr/bin/env python3
"""The quality-diversity table of whole_tune.sh's sets (issue 19's protocol on
whole tunes): one row per run folder and temperature, from RUN/sweep-T<T>.json
(tunegan eval) and RUN/sweep-T<T>-critic-s<S>.json (tunegan critic):

  stat distance   mean over MusPy's ten statistics of |samples' mean -
                  test split's mean| / test split's sd (as protocol.py)
  sim. error      bar-similarity profile's error; sim. 8 at distance 8
  critic          the fresh critic's accuracy per critic seed, and the mean
  self-BLEU, distinct 4-bar windows: diversity

  /usr/bin/python3 experiments/gan/whole_table.py [--temps "0.9 0.95 1.0"] [--seeds "21 22"] [--csv] RUN [RUN ...]

(--seeds: the generation seeds of sweep.sh's SEED, 21 its default; the critic
files of seed S are RUN/sweep-T<T>-sS-critic-s<C>.json.)
"""
import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import STATS  # noqa: E402


def stat_distance(ev):
    dist = []
    for k in STATS:
        s, r = ev["stats"][k]["samples"], ev["stats"][k]["reference"]
        if s["mean"] is not None and r["mean"] is not None and r["sd"]:
            dist.append(abs(s["mean"] - r["mean"]) / r["sd"])
    return sum(dist) / len(dist)


def row(run, T, seed):
    name = "sweep-T%s" % T + ("" if seed == 21 else "-s%d" % seed)  # sweep.sh's names
    path = os.path.join(run, name + ".json")
    if not os.path.exists(path):
        return None
    ev = json.load(open(path))
    critics = [json.load(open(p))["accuracy"] for p in sorted(glob.glob(os.path.join(run, name + "-critic-s*.json")))]
    return {
        "run": run.rstrip("/"),
        "T": T if seed == 21 else "%s (seed %d)" % (T, seed),
        "stat_distance": stat_distance(ev),
        "similarity_error": ev["similarity_error"],
        "sim8": ev["bar_similarity"]["samples"][7] if isinstance(ev["bar_similarity"]["samples"], list) else None,
        "critic": critics,
        "critic_mean": sum(critics) / len(critics) if critics else float("nan"),
        "self_bleu": ev["self_bleu"],
        "distinct": ev["distinct_windows"]["share"],
        "copy_rate": ev["copy_rate"]["rate"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--temps", default="0.9 0.95 1.0")
    ap.add_argument("--csv", action="store_true")
    ap.add_argument("--seeds", default="21", help="generation seeds of sweep.sh (21: its default names)")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    rows = [r for run in a.runs for T in a.temps.split() for seed in map(int, a.seeds.split())
            for r in [row(run, T, seed)] if r]
    if a.csv:
        print("run,T,stat_distance,similarity_error,sim8,critic_mean,self_bleu,distinct,copy_rate")
        for r in rows:
            print("%s,%s,%.4f,%.4f,%s,%.4f,%.4f,%.4f,%.4f" % (r["run"], r["T"], r["stat_distance"], r["similarity_error"],
                  "%.4f" % r["sim8"] if r["sim8"] is not None else "", r["critic_mean"], r["self_bleu"], r["distinct"],
                  r["copy_rate"]))
        return
    print("| run | T | stat distance | sim. error | sim. 8 | critic, seeds 1 / 2 / 3 (mean) | self-BLEU | distinct 4-bar | copies |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| %s | %s | %.3f | %.3f | %s | %s (%.3f) | %.3f | %.3f | %.3f |" % (
            r["run"], r["T"], r["stat_distance"], r["similarity_error"],
            "%.3f" % r["sim8"] if r["sim8"] is not None else "-", " / ".join("%.3f" % c for c in r["critic"]),
            r["critic_mean"], r["self_bleu"], r["distinct"], r["copy_rate"]))


if __name__ == "__main__":
    main()
