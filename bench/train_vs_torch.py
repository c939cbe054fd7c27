#!/usr/bin/python3
"""train_vs_torch.py: tokens per second of one generator training step
(forward + backward + clipping + AdamW), tunegan against PyTorch (eager, fp32,
the same architecture: tools/torch_ref.py's Model, relative attention written
naively as the paper's first version), same shapes, same thread count, both run
as child processes of this script so that each one's peak memory is its own.
Median of the timed steps after warm-up; the ratios are printed last, over
wall time and over each process's CPU time (CLOCK_PROCESS_CPUTIME_ID,
time.process_time()), the one to read on a shared, loaded machine.

  /usr/bin/python3 bench/train_vs_torch.py [--build build] [--preset small] \
      [--attention relative|absolute|both] [--batch 16] [--steps 10] [--threads 2]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = {"tiny": (128, 2, 4, 128), "small": (256, 4, 4, 256), "base": (512, 6, 8, 512)}


def torch_child(a):
    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "tools"))
    import torch_ref
    torch.set_num_threads(a.threads)
    C, L, H, T = PRESETS[a.preset]
    cfg = {"kind": "generator", "attention": a.attention, "vocab_size": a.vocab, "d_model": C,
           "n_layers": L, "n_heads": H, "context": T, "ff_mult": 4, "dropout": 0.0}
    torch.manual_seed(1)
    model = torch_ref.Model(cfg)
    decay = [p for n, p in model.named_parameters() if torch_ref.decayed(n)]
    other = [p for n, p in model.named_parameters() if not torch_ref.decayed(n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    tokens = torch.randint(0, a.vocab, (a.batch, T + 1))
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    times, cpus = [], []
    for s in range(2 + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        _, _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s >= 2:
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    times.sort()
    cpus.sort()
    med, cpu_med = times[len(times) // 2], cpus[len(cpus) // 2]
    print(json.dumps({"impl": "pytorch " + torch.__version__, "preset": a.preset, "attention": a.attention,
                      "batch": a.batch, "context": T, "threads": torch.get_num_threads(),
                      "step_ms_median": med * 1e3, "tok_per_s": a.batch * T / med,
                      "step_cpu_ms_median": cpu_med * 1e3, "tok_per_cpu_s": a.batch * T / cpu_med,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "loss": float(loss)}))


def run(cmd, threads):
    # PyTorch's matrix products go through Debian's OpenBLAS, whose own thread
    # pool ignores torch.set_num_threads: give both pools the same count.
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--preset", default="small", choices=sorted(PRESETS))
    ap.add_argument("--attention", default="both", choices=["relative", "absolute", "both"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--vocab", type=int, default=577)
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_child:
        torch_child(a)
        return
    kinds = ["relative", "absolute"] if a.attention == "both" else [a.attention]
    bench = os.path.join(a.build, "bench_train_step")
    rows = []
    for kind in kinds:
        ours = run([bench, a.preset, kind, str(a.batch), str(a.steps), str(a.threads), str(a.vocab)], a.threads)
        theirs = run([sys.executable, __file__, "--torch-child", "--preset", a.preset, "--attention", kind,
                      "--batch", str(a.batch), "--steps", str(a.steps), "--threads", str(a.threads),
                      "--vocab", str(a.vocab)], a.threads)
        rows.append((kind, ours, theirs))
    print(f"{'attention':<10} {'impl':<22} {'step ms':>9} {'tok/s':>9} {'CPU ms':>9} {'tok/CPU-s':>10} "
          f"{'max RSS MB':>11}")
    for kind, ours, theirs in rows:
        for r in (ours, theirs):
            print(f"{kind:<10} {r['impl']:<22} {r['step_ms_median']:9.1f} {r['tok_per_s']:9.0f} "
                  f"{r['step_cpu_ms_median']:9.1f} {r['tok_per_cpu_s']:10.0f} {r['max_rss_mb']:11.0f}")
    print(f"blas: {rows[0][1]['blas']}")
    for kind, ours, theirs in rows:
        print(f"ratio tunegan/pytorch tokens per second, {a.preset} {kind}, batch {a.batch}, "
              f"{a.threads} threads: {ours['tok_per_s'] / theirs['tok_per_s']:.2f} (wall), "
              f"{ours['tok_per_cpu_s'] / theirs['tok_per_cpu_s']:.2f} (CPU time)")


if __name__ == "__main__":
    main()
