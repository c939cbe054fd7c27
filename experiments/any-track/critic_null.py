"""How often the fresh critic reads an accuracy this high when the two sets
do not differ: a permutation test of `tunegan critic --paired`. The real
pieces and their twins (an accompaniment or infill of the same tune, paired
by file name) are swapped between the two sets pair by pair at random (a
fair coin each), so that neither set holds what the other lacks; the
critic's accuracy on such sets is the null distribution. Prints the
observed accuracy (the sets as they are) beside the null's mean, sd and
95th percentile, and the share of the null at or above the observed
(a one-sided p-value), for each critic seed.
    /usr/bin/python3 experiments/any-track/critic_null.py REAL FAKE [PERMS (200)] [BARS (8; 0: whole; A-B: those bars alone)] [SEEDS ("1 2 3")]
Environment: TUNEGAN_BIN (build/tunegan).
"""
import os
import random
import re
import subprocess
import sys
import tempfile

BIN = os.environ.get("TUNEGAN_BIN", "build/tunegan")


def accuracy(real, fake, bars, seed):
    r = subprocess.run([BIN, "critic", "--real", real, "--fake", fake, "--bars", str(bars), "--paired",
                        "--seed", str(seed)], capture_output=True, text=True)
    m = re.search(r"^accuracy\s+(\S+)", r.stdout, re.M)
    if not m:
        sys.exit("critic failed: " + r.stdout[-300:] + r.stderr[-300:])
    return float(m.group(1))


def main():
    real, fake = sys.argv[1:3]
    perms = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    bars = sys.argv[4] if len(sys.argv) > 4 else "8"
    seeds = [int(s) for s in (sys.argv[5] if len(sys.argv) > 5 else "1 2 3").split()]
    tunes = sorted(set(os.listdir(real)) & set(os.listdir(fake)))
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for seed in seeds:
            observed = accuracy(real, fake, bars, seed)
            null = []
            for _ in range(perms):
                for d in (a, b):
                    os.makedirs(d, exist_ok=True)
                    for f in os.listdir(d):
                        os.remove(os.path.join(d, f))
                for t in tunes:
                    x, y = os.path.realpath(os.path.join(real, t)), os.path.realpath(os.path.join(fake, t))
                    if rng.random() < 0.5:
                        x, y = y, x
                    os.symlink(x, os.path.join(a, t))
                    os.symlink(y, os.path.join(b, t))
                null.append(accuracy(a, b, bars, seed))
            null.sort()
            mean = sum(null) / len(null)
            sd = (sum((v - mean) ** 2 for v in null) / (len(null) - 1)) ** 0.5
            p = sum(v >= observed for v in null) / len(null)
            print("%s seed %d: observed %.4f | null (%d swaps) mean %.4f sd %.4f 95th %.4f | p %.3f" % (
                os.path.basename(fake.rstrip("/")), seed, observed, perms, mean, sd, null[int(0.95 * len(null))], p),
                flush=True)


if __name__ == "__main__":
    main()
