"""One folder of accompanied takes measured as rerank_pick.py measures a
rule's picks: harmonic fit (tunegan eval, melody track 0, against the real
tunes), chord statistics, pitch classes and polyphony, and the paired fresh
critic (critic seeds 1-3) on the whole pieces.
    /usr/bin/python3 experiments/any-track/measure_takes.py TAKES REAL
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rerank_pick import chord_stats, critic, eval_acc  # noqa: E402


def main():
    folder, real = sys.argv[1:3]
    fit, piece, stats = eval_acc(folder, real)
    acc = [critic(folder, real, cs, 0) for cs in (1, 2, 3)]
    try:
        mean = "%.3f" % (sum(float(a) for a in acc) / 3)
    except ValueError:
        mean = "?"
    print("%s fit %s (real %s) per piece %s +- %s | %s | pcs %s (real %s) poly %s (real %s) | critic %s mean %s" % (
        os.path.basename(folder.rstrip("/")), fit.group(1), fit.group(2), piece.group(1), piece.group(2),
        chord_stats(folder), stats["n_pitch_classes_used"][0], stats["n_pitch_classes_used"][1],
        stats["polyphony"][0], stats["polyphony"][1], " ".join(acc), mean), flush=True)


if __name__ == "__main__":
    main()
