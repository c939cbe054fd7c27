#!/usr/bin/env python3
"""summarize.py: the tables of experiments/seqgan-oracle/RESULTS.md from a
work folder of run.sh: oracle NLL per seed with mean and sample standard
deviation, and a summary of the adversarial runs' log.jsonl (phases disc,
adv, eval). Usage: summarize.py WORK_DIR"""
import glob
import json
import os
import statistics
import sys

PAPER = {"uniform": "10.310", "mle": "9.038", "seqgan": "8.736", "control": "-"}
LABEL = {"uniform": "random (uniform ids)", "mle": "MLE", "seqgan": "MLE then SeqGAN",
         "control": "MLE then constant reward (control)",
         "seqgan-remedy": "MLE then SeqGAN with KL 0.1, lr 1e-4, MLE mix 1",
         "control-remedy": "the same with a constant reward (control)"}


def nll_rows(work):
    rows = {}  # (name, temperature) -> {seed: (nll, entropy, special mass)}
    for path in sorted(glob.glob(os.path.join(work, "seed*", "nll*.jsonl"))):
        seed = int(os.path.basename(os.path.dirname(path))[4:])
        for line in open(path):
            r = json.loads(line)
            name = os.path.basename(r["generator"].rstrip("/"))
            rows.setdefault((name, r["temperature"]), {})[seed] = (
                r["oracle_nll"], r["oracle_entropy"], r["special_mass"])
    return rows


def mean_std(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else float("nan"))


def print_nll(rows):
    seeds = sorted({s for r in rows.values() for s in r})
    print("| generator | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± std | paper |")
    print("|---" * (len(seeds) + 3) + "|")
    order = ["uniform", "mle", "seqgan", "control", "seqgan-remedy", "control-remedy"]
    keys = sorted(rows, key=lambda k: (order.index(k[0]) if k[0] in order else 9, -k[1]))
    for name, temp in keys:
        r = rows[(name, temp)]
        label = LABEL.get(name, name) + ("" if temp == 1 else f", temperature {temp:g}")
        vals = [r[s][0] for s in seeds if s in r]
        m, sd = mean_std(vals)
        paper = PAPER.get(name, "-") if temp == 1 else "-"
        print(f"| {label} | " + " | ".join(f"{r[s][0]:.3f}" if s in r else "-" for s in seeds)
              + f" | {m:.3f} ± {sd:.3f} | {paper} |")
    for name, temp in [("seqgan", 1), ("control", 1), ("seqgan-remedy", 1), ("control-remedy", 1), ("mle", 0.9),
                       ("mle", 0.8)]:
        if (name, temp) not in rows or ("mle", 1) not in rows:
            continue
        d = [rows[(name, temp)][s][0] - rows[("mle", 1)][s][0] for s in seeds
             if s in rows[(name, temp)] and s in rows[("mle", 1)]]
        m, sd = mean_std(d)
        print(f"\n{name}@{temp:g} minus MLE, per seed: " + ", ".join(f"{x:+.3f}" for x in d)
              + f"; mean {m:+.3f} ± {sd:.3f}")
    mass = {k: max(v[2] for v in rows[k].values()) for k in keys}
    print("\nlargest generator mass on PAD/BOS/EOS over seeds: " +
          ", ".join(f"{k[0]}@{k[1]:g} {v:.2g}" for k, v in mass.items()))


def load_log(path):
    return [json.loads(l) for l in open(path)]


def avg(xs):
    return statistics.mean(xs) if xs else float("nan")


def print_logs(work):
    print("\n| seed | run | D acc after pre-training | D acc rounds 1-10 / last 10 | reward rounds 1-10 / last 10 "
          "| G entropy first / last | KL(G‖MLE) last | val NLL start / end |")
    print("|---" * 8 + "|")
    for path in sorted(glob.glob(os.path.join(work, "seed*", "*", "log.jsonl"))):
        run = os.path.basename(os.path.dirname(path))
        if run == "mle":
            continue
        seed = os.path.basename(os.path.dirname(os.path.dirname(path)))[4:]
        log = load_log(path)
        disc = [l for l in log if l["phase"] == "disc"]
        pre = [l for l in disc if l["round"] == 0]
        rnd = [l for l in disc if l["round"] > 0]
        adv = [l for l in log if l["phase"] == "adv"]
        ev = [l for l in log if l["phase"] == "eval"]
        print(f"| {seed} | {run} | {pre[-1]['d_acc']:.3f} | {avg([l['d_acc'] for l in rnd[:10]]):.3f} / "
              f"{avg([l['d_acc'] for l in rnd[-10:]]):.3f} | {avg([l['reward_mean'] for l in adv[:10]]):.3f} / "
              f"{avg([l['reward_mean'] for l in adv[-10:]]):.3f} | {adv[0]['entropy']:.3f} / {adv[-1]['entropy']:.3f} "
              f"| {adv[-1]['kl']:.4f} | {ev[0]['val_nll']:.4f} / {ev[-1]['val_nll']:.4f} |")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    work = sys.argv[1]
    print_nll(nll_rows(work))
    print_logs(work)


if __name__ == "__main__":
    main()
