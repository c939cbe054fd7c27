#!/usr/bin/python3
"""Issue 19's protocol: quality against diversity over temperatures and top-p.

Language GANs Falling Short (Caccia et al., ICLR 2020): a GAN that looks
better than maximum likelihood at temperature 1 may only have traded
diversity for quality, which lowering the MLE model's temperature does too.
So every model is sampled at several temperatures (and top-p at T = 1), and
each sample set is placed on a quality-diversity plane:

  quality    stat_distance: the mean over MusPy's ten statistics of
             |samples' mean - reference's mean| / reference's sd (tunegan
             eval), the reference being the test split cut to the samples'
             bar count; similarity_error (bar-similarity profile, Museformer);
             critic_accuracy: a fresh critic (tunegan critic) telling the
             test split from the samples, 0.5 = indistinguishable; copy_rate
             (4-bar windows found in the training split) as a guard.
  diversity  1 - self-BLEU (Texygen) and the share of distinct 4-bar windows.

For every model, setting and seed: tunegan generate (one thread), tunegan
eval --json, tunegan critic --json. The valid split, cut the same way, is the
"real" point (what real music scores against the test split). Writes
results/raw.tsv (one row per sample set), results/points.tsv (mean, min and
max over seeds), results/commands.txt, and the plots results/qd-*.png with
tunegan plot --table. Run from the project root after building:

  /usr/bin/python3 experiments/gan/protocol.py [--model NAME=RUN_DIR ...]
      [--num 100] [--bars 16] [--seeds 3] [--work /tmp/tg-gan-protocol]

Without --model the remi MLE model (models/mle, the bundled default until
2026-12-06, which the adversarial runs start from) is the one model, "MLE".
Only the standard library is used (Debian's python3 has no matplotlib here).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPERATURES = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
TOP_P = [0.8, 0.9, 0.95]
STATS = ["pitch_range", "n_pitches_used", "n_pitch_classes_used", "polyphony", "polyphony_rate",
         "scale_consistency", "pitch_entropy", "pitch_class_entropy", "empty_beat_rate", "groove_consistency"]
METRICS = ["stat_distance", "similarity_error", "critic_accuracy", "critic_auc", "copy_rate",
           "diversity_bleu", "distinct_windows", "self_bleu", "scale_consistency", "pitch_class_entropy",
           "gen_seconds"]


class Runner:
    def __init__(self, binary, log_path):
        self.binary = binary
        self.log = open(log_path, "w")

    def run(self, args, capture=True):
        self.log.write(" ".join([self.binary] + args) + "\n")
        self.log.flush()
        r = subprocess.run([self.binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("protocol: %s %s failed (%d):\n%s" % (self.binary, " ".join(args), r.returncode, r.stderr))
        return r.stdout


def crop_split(runner, data_dir, split, bars, out_dir):
    """The pieces of one split as MIDI files cut to their first `bars` bars
    (kept from an earlier run: written into a .tmp folder, then renamed)."""
    if os.path.isdir(out_dir):
        return
    final, out_dir = out_dir, out_dir + ".tmp"
    os.makedirs(out_dir, exist_ok=True)
    names = [l.split("\t") for l in open(os.path.join(data_dir, "split.tsv")) if not l.startswith("#")]
    for name, sp in ((n.strip(), s.strip()) for n, s in names):
        if sp != split:
            continue
        tokens = runner.run(["tokenize", os.path.join(data_dir, "full", name)]).split()
        kept, seen = [], 0
        for t in tokens:
            if t == "Bar":
                seen += 1
                if seen > bars:
                    break
            if t != "EOS":
                kept.append(t)
        path = os.path.join(out_dir, name + ".tokens")
        with open(path, "w") as f:
            f.write("\n".join(kept + ["EOS"]) + "\n")
        runner.run(["detokenize", "-o", os.path.join(out_dir, name), path])
        os.remove(path)
    os.rename(out_dir, final)


def measure(runner, samples, reference, corpus, bars, seed):
    """eval and critic figures of one sample set."""
    ev = json.loads(runner.run(["eval", "--samples", samples, "--reference", reference,
                                "--train", corpus + ":train", "--bars", str(bars), "--json"]))
    cr = json.loads(runner.run(["critic", "--real", reference, "--fake", samples, "--seed", str(seed),
                                "--json"]))
    dist = []
    for k in STATS:
        s, r = ev["stats"][k]["samples"], ev["stats"][k]["reference"]
        if s["mean"] is not None and r["mean"] is not None and r["sd"]:
            dist.append(abs(s["mean"] - r["mean"]) / r["sd"])
    return {
        "stat_distance": sum(dist) / len(dist),
        "similarity_error": ev["similarity_error"],
        "critic_accuracy": cr["accuracy"],
        "critic_auc": cr["auc"],
        "copy_rate": ev["copy_rate"]["rate"],
        "self_bleu": ev["self_bleu"],
        "diversity_bleu": 1 - ev["self_bleu"],
        "distinct_windows": ev["distinct_windows"]["share"],
        "scale_consistency": ev["stats"]["scale_consistency"]["samples"]["mean"],
        "pitch_class_entropy": ev["stats"]["pitch_class_entropy"]["samples"]["mean"],
    }


def settings(only):
    """(label, generate flags, temperature, top-p), in the order of only (labels) when given."""
    all_ = [("T%.1f" % t, ["--temperature", str(t)], t, 1.0) for t in TEMPERATURES]
    all_ += [("p%g" % p, ["--temperature", "1", "--top-p", str(p)], 1.0, p) for p in TOP_P]
    if not only:
        return all_
    by_label = dict((s[0], s) for s in all_)
    return [by_label[l] for l in only.split(",")]


def fmt(v):
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.6g" % v


def write_points(rows, path):
    """Mean, min and max over seeds of every metric, per (series, label)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["series"], r["label"]), []).append(r)
    cols = ["series", "label", "temperature", "top_p", "seeds"]
    for m in METRICS:
        cols += [m, m + "_lo", m + "_hi"]
    with open(path, "w") as f:
        f.write("\t".join(cols) + "\n")
        for (series, label), g in groups.items():
            out = [series, label, fmt(g[0]["temperature"]), fmt(g[0]["top_p"]), str(len(g))]
            for m in METRICS:
                v = [r[m] for r in g if r[m] is not None]
                out += [fmt(sum(v) / len(v)), fmt(min(v)), fmt(max(v))] if v else ["nan"] * 3
            f.write("\t".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", default=[], help="NAME=RUN_DIR (repeatable)")
    ap.add_argument("--num", type=int, default=100)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--work", default="/tmp/tg-gan-protocol")
    ap.add_argument("--bin", default="build/tunegan")
    ap.add_argument("--data", default="../shared/data/nottingham")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--settings", default="", help="comma-separated labels (T0.6 ... p0.95) to run, in order "
                    "(default all); a second process with other labels and another --out generates them in "
                    "parallel, and the full run then finds their sample sets")
    a = ap.parse_args()
    models = [m.split("=", 1) for m in a.model] or [["MLE", "models/mle"]]
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    runner = Runner(a.bin, os.path.join(a.out, "commands.txt"))
    corpus = os.path.join(a.work, "nott.corpus")
    runner.run(["data", "build", "-t", "remi", "--split", os.path.join(a.data, "split.tsv"), "-j", "1",
                "-o", corpus, os.path.join(a.data, "full")])
    ref, valid = os.path.join(a.work, "test-%d" % a.bars), os.path.join(a.work, "valid-%d" % a.bars)
    crop_split(runner, a.data, "test", a.bars, ref)
    crop_split(runner, a.data, "valid", a.bars, valid)
    rows = []
    for seed in range(1, a.seeds + 1):
        r = measure(runner, valid, ref, corpus, a.bars, seed)
        rows.append(dict(r, series="real (valid split)", label="valid", temperature=None, top_p=None,
                         seed=seed, gen_seconds=None))
    for name, path in models:
        for label, flags, t, p in settings(a.settings):
            for seed in range(1, a.seeds + 1):
                d = os.path.join(a.work, name, label, "seed%d" % seed)
                t0 = time.time()
                if not os.path.isdir(d):
                    runner.run(["generate", "--model", path, "-o", d + ".tmp", "--num", str(a.num), "--bars",
                                str(a.bars), "--seed", str(seed), "--threads", "1"] + flags)
                    os.rename(d + ".tmp", d)
                secs = time.time() - t0
                r = measure(runner, d, ref, corpus, a.bars, seed)
                series = name + (" temperature" if label.startswith("T") else " top-p (T 1)")
                rows.append(dict(r, series=series, label=label, temperature=t, top_p=p, seed=seed, gen_seconds=secs))
                print("%s %s seed %d: critic %.3f, stat distance %.3f, self-BLEU %.3f, distinct %.3f (%.0f s)" % (
                    name, label, seed, r["critic_accuracy"], r["stat_distance"], r["self_bleu"],
                    r["distinct_windows"], secs), flush=True)
    cols = ["series", "label", "temperature", "top_p", "seed"] + METRICS
    with open(os.path.join(a.out, "raw.tsv"), "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(r[c] if isinstance(r[c], str) else fmt(r[c]) for c in cols) + "\n")
    points = os.path.join(a.out, "points.tsv")
    write_points(rows, points)
    for x, ys, png in [("diversity_bleu", "stat_distance,similarity_error,critic_accuracy", "qd-self-bleu.png"),
                       ("distinct_windows", "stat_distance,critic_accuracy", "qd-distinct-windows.png")]:
        runner.run(["plot", "--table", points, "--x", x, "--y", ys, "-o", os.path.join(a.out, png)])
    print("wrote %s, %s and the plots in %s" % (os.path.join(a.out, "raw.tsv"), points, a.out))


if __name__ == "__main__":
    main()
