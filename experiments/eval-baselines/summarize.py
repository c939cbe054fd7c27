#!/usr/bin/python3
"""summarize.py RESULTS_DIR: the markdown tables of RESULTS.md from the JSON
files run.sh wrote (one per `tunegan eval --json`) and times.tsv."""
import json
import os
import sys

out = sys.argv[1]
times = dict(line.split("\t") for line in open(os.path.join(out, "times.tsv")).read().splitlines() if line)
RUNS = [("test-vs-train", "test split vs train split (ceiling)"),
        ("valid-vs-test", "valid split vs test split (ceiling, model-sized)"),
        ("bigram-vs-test", "bigram samples vs test split"),
        ("unigram-vs-test", "unigram samples vs test split"),
        ("bigram-vs-train", "bigram samples vs train split"),
        ("unigram-vs-train", "unigram samples vs train split")]


def load(tok, run):
    path = os.path.join(out, f"{tok}-{run}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def f(x, d=4):
    return "n/a" if x is None else f"{x:.{d}f}"


for tok in ("remi", "grid"):
    if not load(tok, "test-vs-train"):
        continue
    seg = load(tok, "test-vs-train")["segment"]
    print(f"\n### {tok}" + (f" (BLEU over segments of {seg} tokens)" if seg else " (BLEU over whole pieces)") + "\n")
    print("| samples vs reference | pieces | BLEU-4 | Texygen BLEU | self-BLEU samples | self-BLEU ref "
          "| zipf_mse | zipf_mse_nearest | pitch_mse | eval time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run, label in RUNS:
        j = load(tok, run)
        if not j:
            continue
        pieces = f"{j['samples']['pieces']} / {j['reference']['pieces']}"
        if j["samples"]["skipped"]:
            pieces += f" ({j['samples']['skipped']} empty skipped)"
        print(f"| {label} | {pieces} | {f(j['bleu'])} | {f(j['bleu_sentence_mean'])} | {f(j['self_bleu'])} | "
              f"{f(j['self_bleu_reference'])} | {f(j['zipf_mse'], 5)} | {f(j['zipf_mse_nearest'], 5)} | "
              f"{f(j['pitch_mse'], 2)} | {times.get(f'{tok}-{run}', '?')} |")
    # statistics: train and test from the ceiling, the floors from their runs against train
    tt = load(tok, "test-vs-train")
    cols = [("train", tt, "reference"), ("test", tt, "samples")]
    for name in ("bigram", "unigram"):
        j = load(tok, f"{name}-vs-train")
        if j:
            cols.append((name, j, "samples"))
    print(f"\nMusPy statistics, {tok} (mean ± sd over pieces)\n")
    print("| statistic | " + " | ".join(c[0] for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for stat in tt["stats"]:
        cells = []
        for _, j, side in cols:
            s = j["stats"][stat][side]
            cells.append("n/a" if s["mean"] is None else f"{s['mean']:.3f} ± {s['sd']:.3f}")
        print(f"| {stat} | " + " | ".join(cells) + " |")
    print(f"\nOverlap against the train split, {tok}: OA(train intra, inter) / KLD / OA(intra, intra)\n")
    runs = [("test", tt)] + [(c[0], c[1]) for c in cols[2:]]
    print("| feature | " + " | ".join(r[0] for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for feat in tt["overlap"]:
        cells = []
        for _, j in runs:
            o = j["overlap"][feat]
            cells.append(f"{f(o['oa'], 3)} / {f(o['kld'], 3)} / {f(o['oa_intra'], 3)}")
        print(f"| {feat} | " + " | ".join(cells) + " |")
