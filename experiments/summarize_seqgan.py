#!/usr/bin/python3
"""Tables for the SeqGAN experiments (seqgan-music, seqgan-remi) from their
work folders: per run kind (mle, seqgan, dense, control), the mean and the
sample standard deviation over seeds of the `tunegan eval` figures, of the
validation NLL, and of the adversarial runs' discriminator accuracy and mean
reward (first and last round).

    summarize_seqgan.py WORK_DIR [--nll]     (markdown on stdout)

WORK_DIR/seedS/eval-RUN.json (tunegan eval --json), WORK_DIR/seedS/RUN/log.jsonl
(train's log) and, with --nll, WORK_DIR/seedS/nll-RUN.txt (tunegan eval --model).
"""
import glob
import json
import math
import os
import re
import sys

RUNS = ["mle", "seqgan", "dense", "control", "seqgan-strong", "control-strong"]
REF = {"scale consistency": "scale_consistency", "empty beats": "empty_beat_rate"}
EVAL = [("BLEU-4", lambda d: d["bleu"]), ("self-BLEU", lambda d: d["self_bleu"]),
        ("zipf_mse", lambda d: d["zipf_mse"]), ("pitch_mse", lambda d: d["pitch_mse"]),
        ("scale consistency", lambda d: d["stats"]["scale_consistency"]["samples"]["mean"]),
        ("empty beats", lambda d: d["stats"]["empty_beat_rate"]["samples"]["mean"]),
        ("mean overlap", lambda d: sum(v["oa"] for v in d["overlap"].values()) / len(d["overlap"]))]


def mean_sd(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return "n/a"
    m = sum(xs) / len(xs)
    if len(xs) == 1:
        return f"{m:.4g} (1 seed)"
    if all(x == xs[0] for x in xs):
        return f"{m:.4g} ± 0"
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return f"{m:.4g} ± {sd:.2g}"


def log_lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def adv_figures(lines):
    """first and last D accuracy, first and last mean reward, last val NLL"""
    disc = [l["d_acc"] for l in lines if l.get("phase") == "disc"]
    adv = [l["reward_mean"] for l in lines if l.get("phase") == "adv"]
    ev = [l["val_nll"] for l in lines if l.get("phase") == "eval"]
    pick = lambda xs, i: xs[i] if xs else None
    return {"d_acc first": pick(disc, 0), "d_acc last": pick(disc, -1), "reward first": pick(adv, 0),
            "reward last": pick(adv, -1), "val_nll start": pick(ev, 0), "val_nll end": pick(ev, -1)}


def nll_of(path):
    if not os.path.exists(path):
        return None
    m = re.search(r"^NLL\s+([0-9.]+)", open(path).read(), re.M)
    return float(m.group(1)) if m else None


def ref_row(seeds, runs, with_nll):
    """the reference set's own statistics (the test split), where eval reports them"""
    d = json.load(open(f"{seeds[0]}/eval-{runs[0]}.json"))
    cells = ["test split (reference)", ""] + ([""] if with_nll else [])
    for h, _ in EVAL:
        key = REF.get(h)
        cells.append(f'{d["stats"][key]["reference"]["mean"]:.4g}' if key else "")
    print("| " + " | ".join(cells) + " |")


def paired(seeds, runs):
    """adversarial run minus its control and minus MLE, paired by seed"""
    pairs = [(a, b) for a, b in [("seqgan", "control"), ("dense", "control"), ("seqgan", "mle"),
                                 ("seqgan-strong", "control-strong"), ("seqgan-strong", "mle")]
             if a in runs and b in runs]
    if not pairs:
        return
    print("\nPaired by seed (difference of the two runs' figures, mean ± sd over the seeds that have both):\n")
    print("| difference | seeds | " + " | ".join(h for h, _ in EVAL) + " |\n|" + "---|" * (len(EVAL) + 2))
    for a, b in pairs:
        both = [s for s in seeds if os.path.exists(f"{s}/eval-{a}.json") and os.path.exists(f"{s}/eval-{b}.json")]
        if not both:
            continue
        ea = [json.load(open(f"{s}/eval-{a}.json")) for s in both]
        eb = [json.load(open(f"{s}/eval-{b}.json")) for s in both]
        cells = [f"{a} - {b}", str(len(both))]
        cells += [mean_sd([f(x) - f(y) for x, y in zip(ea, eb)]) for _, f in EVAL]
        print("| " + " | ".join(cells) + " |")


def main():
    work = sys.argv[1]
    with_nll = "--nll" in sys.argv
    seeds = sorted(glob.glob(os.path.join(work, "seed*")))
    runs = [r for r in RUNS if any(os.path.exists(f"{s}/eval-{r}.json") for s in seeds)]
    print(f"seeds: {', '.join(os.path.basename(s) for s in seeds)}\n")
    heads = ["run", "seeds"] + ([] if not with_nll else ["valid NLL"]) + [h for h, _ in EVAL]
    print("| " + " | ".join(heads) + " |\n|" + "---|" * len(heads))
    for r in runs:
        evs = [json.load(open(f"{s}/eval-{r}.json")) for s in seeds if os.path.exists(f"{s}/eval-{r}.json")]
        cells = [r, str(len(evs))]
        if with_nll:
            cells.append(mean_sd([nll_of(f"{s}/nll-{r}.txt") for s in seeds]))
        cells += [mean_sd([f(d) for d in evs]) for _, f in EVAL]
        print("| " + " | ".join(cells) + " |")
    ref_row(seeds, runs, with_nll)
    paired(seeds, runs)
    print()
    keys = ["d_acc first", "d_acc last", "reward first", "reward last", "val_nll start", "val_nll end"]
    print("| run | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 1))
    for r in runs:
        if r == "mle":
            continue
        figs = [adv_figures(log_lines(f"{s}/{r}/log.jsonl")) for s in seeds]
        print(f"| {r} | " + " | ".join(mean_sd([f[k] for f in figs]) for k in keys) + " |")


if __name__ == "__main__":
    main()
