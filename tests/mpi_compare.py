"""mpi_compare.py: compares two tunegan runs for tests/test_mpi.sh.

  mpi_compare.py weights A.safetensors B.safetensors
      the same tensors (F32, or I32 token ids, which the tolerance leaves
      exact); relative L2 difference over all of them <= 1e-5 and every
      weight |a - b| <= 1e-5 |a| + 2e-6 (see test_mpi.sh for why)
  mpi_compare.py log A/log.jsonl B/log.jsonl
      the same steps and phases; the values that do not depend on timing
      (pretrain: loss, val_nll; train: also d_loss, d_acc, reward_mean,
      pg_loss, kl, entropy, len_mean) within 1e-5 relative plus 1e-6

Exit status 0 when within the tolerance, 1 otherwise (with what differs).
"""
import json
import struct
import sys

import numpy as np

RTOL, ATOL, L2 = 1e-5, 2e-6, 1e-5
VALUES = ("loss", "val_nll", "d_loss", "d_acc", "reward_mean", "pg_loss", "kl", "entropy", "len_mean")


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        kinds = {"F32": "<f4", "I32": "<i4"}  # I32: a critic's memory of token ids
        if info["dtype"] not in kinds:
            sys.exit(f"{path}: {name} is {info['dtype']}, want F32 or I32")
        lo, hi = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + lo:8 + n + hi], dtype=kinds[info["dtype"]]).astype(np.float64)
    return out


def weights(a_path, b_path):
    a, b = load(a_path), load(b_path)
    if sorted(a) != sorted(b):
        print(f"the tensors differ: {sorted(set(a) ^ set(b))}")
        return 1
    num = sum(((a[k] - b[k]) ** 2).sum() for k in a)
    den = sum((a[k] ** 2).sum() for k in a)
    rel = (num / den) ** 0.5
    bad = 0
    for k in a:
        d = np.abs(a[k] - b[k])
        over = d > RTOL * np.abs(a[k]) + ATOL
        if over.any():
            i = int(np.argmax(d))
            print(f"{k}: {int(over.sum())} weights beyond the tolerance, worst [{i}] {a[k][i]:.9g} vs {b[k][i]:.9g}")
            bad += 1
    print(f"relative L2 difference {rel:.3g} (limit {L2:g}); worst |a-b| {max(np.abs(a[k] - b[k]).max() for k in a):.3g}")
    return 1 if bad or not rel <= L2 else 0


def log(a_path, b_path):
    def read(p):
        return [json.loads(line) for line in open(p)]
    a, b = read(a_path), read(b_path)
    if [(x["step"], x["phase"]) for x in a] != [(x["step"], x["phase"]) for x in b]:
        print(f"the logs hold different lines: {len(a)} and {len(b)}")
        return 1
    for x, y in zip(a, b):
        for key in VALUES:
            if key in x and abs(x[key] - y[key]) > RTOL * abs(x[key]) + 1e-6:
                print(f"step {x['step']}: {key} {x[key]} vs {y[key]}")
                return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("weights", "log"):
        sys.exit(__doc__)
    sys.exit(weights(sys.argv[2], sys.argv[3]) if sys.argv[1] == "weights" else log(sys.argv[2], sys.argv[3]))
