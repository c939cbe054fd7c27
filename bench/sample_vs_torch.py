#!/usr/bin/python3
"""sample_vs_torch.py: generation speed with a key/value cache, tunegan against
PyTorch (eager, fp32, no_grad) running the same model (tools/torch_ref.py's
weights layout, small preset shapes, remi vocabulary 577, random weights) with
a KV cache written here: each step feeds one token per sequence, appends its
keys and values, and attends over the cache with Music Transformer's relative
term q_i . E[j - i] for the rows in use. Both sample with temperature 1 from
BOS for N new tokens, batch 1 and 16, same thread count (both BLAS pools
pinned), median of the repetitions; the ratios are printed last, over wall
time and over each process's CPU time (steadier when other jobs share the
cores: a time slice taken by another process counts in the wall time only).

  /usr/bin/python3 bench/sample_vs_torch.py [--build build] [--new 256] [--reps 3] [--threads 2]
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_child(a):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(HERE, "..", "tools"))
    import torch_ref
    torch.set_num_threads(a.threads)
    cfg = {"kind": "generator", "attention": "relative", "vocab_size": 577, "d_model": 256, "n_layers": 4,
           "n_heads": 4, "context": 256, "ff_mult": 4, "dropout": 0.0}
    torch.manual_seed(1)
    m = torch_ref.Model(cfg).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, 0.0, 0.02)
    C, H, T = cfg["d_model"], cfg["n_heads"], cfg["context"]
    D = C // H

    @torch.no_grad()
    def generate(B, N):
        ks = [torch.zeros(B, H, T, D) for _ in m.blocks]
        vs = [torch.zeros(B, H, T, D) for _ in m.blocks]
        tok = torch.ones(B, dtype=torch.long)  # BOS
        for pos in range(N):
            x = m.wte(tok)  # (B,C)
            for li, blk in enumerate(m.blocks):
                at = blk.attn
                q, k, v = at.qkv(blk.ln1(x)).split(C, dim=1)
                q, k, v = (t.reshape(B, H, D) for t in (q, k, v))
                ks[li][:, :, pos] = k
                vs[li][:, :, pos] = v
                kk, vv = ks[li][:, :, :pos + 1], vs[li][:, :, :pos + 1]
                logits = torch.einsum("bhd,bhjd->bhj", q, kk)
                z = at.R - 1
                rel = at.rel[:, z - pos:z + 1, :]  # distances -pos..0 for keys 0..pos
                logits = logits + torch.einsum("bhd,hjd->bhj", q, rel)
                att = torch.softmax(logits / math.sqrt(D), dim=-1)
                y = torch.einsum("bhj,bhjd->bhd", att, vv).reshape(B, C)
                x = x + at.proj(y)
                x = x + blk.mlp(blk.ln2(x))
            out = m.lnf(x) @ m.wte.weight.t()
            tok = torch.multinomial(F.softmax(out, dim=-1), 1).squeeze(1)
        return tok

    res, res_cpu = {}, {}
    for B in (1, 16):
        times, cpus = [], []
        for r in range(a.reps + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            generate(B, a.new)
            if r:
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
        times.sort()
        cpus.sort()
        res[B] = B * a.new / times[len(times) // 2]
        res_cpu[B] = B * a.new / cpus[len(cpus) // 2]
    print(json.dumps({"impl": "pytorch " + torch.__version__, "tok_per_s": res, "tok_per_cpu_s": res_cpu}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_child:
        torch_child(a)
        return
    if a.new > 255:
        ap.error("--new must leave room for BOS in the context of 256 (at most 255)")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    ours_txt = subprocess.run([os.path.join(a.build, "bench_sample_speed"), str(a.threads), str(a.new), str(a.reps),
                               "cached"], check=True, capture_output=True, text=True, env=env).stdout
    ours, ours_cpu = {}, {}
    for line in ours_txt.splitlines():
        m = re.match(r"\| (\d+) \| (\d+) \|.*\| (\d+) \|$", line)
        if m:
            ours[int(m.group(1))] = float(m.group(2))
            ours_cpu[int(m.group(1))] = float(m.group(3))
    theirs = json.loads(subprocess.run([sys.executable, __file__, "--torch-child", "--new", str(a.new),
                                        "--reps", str(a.reps), "--threads", str(a.threads)],
                                       check=True, capture_output=True, text=True, env=env).stdout.splitlines()[-1])
    print(ours_txt)
    print(f"{'batch':>5} {'tunegan tok/s':>14} {'pytorch tok/s':>14} {'tunegan tok/CPU-s':>18} {'pytorch tok/CPU-s':>18}")
    for B in (1, 16):
        print(f"{B:>5} {ours[B]:>14.0f} {theirs['tok_per_s'][str(B)]:>14.0f} {ours_cpu[B]:>18.0f} "
              f"{theirs['tok_per_cpu_s'][str(B)]:>18.0f}")
    for B in (1, 16):
        print(f"ratio tunegan/pytorch, KV-cached generation, small preset, batch {B}, {a.threads} threads, "
              f"{a.new} new tokens: {ours[B] / theirs['tok_per_s'][str(B)]:.2f} (wall), "
              f"{ours_cpu[B] / theirs['tok_per_cpu_s'][str(B)]:.2f} (CPU time)")


if __name__ == "__main__":
    main()
