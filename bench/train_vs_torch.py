#!/usr/bin/python3
"""train_vs_torch.py: tokens per second of one generator training step
(forward + backward + clipping + AdamW), tunegan against PyTorch (eager, the
same architecture: tools/torch_ref.py's Model, relative attention written
naively as the paper's first version), same shapes, same thread count, all run
as child processes of this script so that each one's peak memory is its own.
Four runs per attention kind: tunegan fp32 and bf16 (--precision bf16's mixed
precision, where the CPU has it) and PyTorch fp32 and with
torch.autocast("cpu", dtype=torch.bfloat16) around the forward pass (its
mixed precision: bf16 matrix products through its oneDNN, fp32 weights and
optimizer). --repeat N runs the four N times, interleaved, and prints each
run; the table gives the median over the repeats. Median of the timed steps
after warm-up; the ratios are printed last, over wall time and over each
process's CPU time (CLOCK_PROCESS_CPUTIME_ID, time.process_time()), the one to
read on a shared, loaded machine.

  /usr/bin/python3 bench/train_vs_torch.py [--build build] [--preset small] \
      [--attention relative|absolute|both] [--batch 16] [--steps 10] [--threads 2] \
      [--repeat 1] [--fp32-only]
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
    bf16 = a.torch_precision == "bf16"
    for s in range(2 + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
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
    impl = "pytorch " + torch.__version__.split("+")[0] + (" bf16 autocast" if bf16 else " fp32")
    print(json.dumps({"impl": impl, "precision": a.torch_precision, "preset": a.preset, "attention": a.attention,
                      "batch": a.batch, "context": T, "threads": torch.get_num_threads(),
                      "step_ms_median": med * 1e3, "tok_per_s": a.batch * T / med,
                      "step_cpu_ms_median": cpu_med * 1e3, "tok_per_cpu_s": a.batch * T / cpu_med,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "loss": float(loss)}))


def run(cmd, threads):
    # PyTorch's matrix products go through Debian's OpenBLAS, whose own thread
    # pool ignores torch.set_num_threads: give both pools the same count.
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode == 77:  # bench_train_step: no bf16 here
        return None
    if p.returncode != 0:
        sys.exit(f"train_vs_torch: {' '.join(cmd)} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def median_row(runs):
    """The run with the median tokens per second (whole rows, so columns agree)."""
    runs = sorted(runs, key=lambda r: r["tok_per_s"])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--preset", default="small", choices=sorted(PRESETS))
    ap.add_argument("--attention", default="both", choices=["relative", "absolute", "both"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--vocab", type=int, default=577)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--fp32-only", action="store_true", help="leave out both bf16 runs")
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-precision", default="fp32", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_child:
        torch_child(a)
        return
    kinds = ["relative", "absolute"] if a.attention == "both" else [a.attention]
    bench = os.path.join(a.build, "bench_train_step")
    precisions = ["fp32"] if a.fp32_only else ["fp32", "bf16"]
    rows = []
    for kind in kinds:
        runs = {}
        for rep in range(a.repeat):
            for prec in precisions:  # interleaved: ours, theirs, at each precision
                ours = run([bench, a.preset, kind, str(a.batch), str(a.steps), str(a.threads), str(a.vocab),
                            "2", prec], a.threads)
                theirs = run([sys.executable, __file__, "--torch-child", "--preset", a.preset, "--attention", kind,
                              "--batch", str(a.batch), "--steps", str(a.steps), "--threads", str(a.threads),
                              "--vocab", str(a.vocab), "--torch-precision", prec], a.threads)
                for key, r in (("tunegan " + prec, ours), ("pytorch " + prec, theirs)):
                    if r is None:
                        continue
                    runs.setdefault(key, []).append(r)
                    print(f"run {rep + 1}: {kind} {r['impl']}: {r['tok_per_s']:.0f} tok/s, "
                          f"{r['tok_per_cpu_s']:.0f} tok/CPU-s, loss {r['loss']:.4f}", flush=True)
        rows.append((kind, {k: median_row(v) for k, v in runs.items()}, runs))
    print(f"{'attention':<10} {'impl':<30} {'step ms':>9} {'tok/s':>9} {'CPU ms':>9} {'tok/CPU-s':>10} "
          f"{'max RSS MB':>11} {'tok/s over repeats':>20}")
    for kind, med, runs in rows:
        for key, r in med.items():
            spread = "-".join(f"{x:.0f}" for x in (min(q["tok_per_s"] for q in runs[key]),
                                                    max(q["tok_per_s"] for q in runs[key])))
            print(f"{kind:<10} {r['impl']:<30} {r['step_ms_median']:9.1f} {r['tok_per_s']:9.0f} "
                  f"{r['step_cpu_ms_median']:9.1f} {r['tok_per_cpu_s']:10.0f} {r['max_rss_mb']:11.0f} {spread:>20}")
    print(f"blas: {rows[0][1]['tunegan fp32']['blas']}")

    def ratio(med, x, y):
        if x not in med or y not in med:
            return None
        return (med[x]["tok_per_s"] / med[y]["tok_per_s"], med[x]["tok_per_cpu_s"] / med[y]["tok_per_cpu_s"])

    for kind, med, _ in rows:
        for x, y in (("tunegan fp32", "pytorch fp32"), ("tunegan bf16", "tunegan fp32"),
                     ("tunegan bf16", "pytorch bf16"), ("pytorch bf16", "pytorch fp32")):
            r = ratio(med, x, y)
            if r:
                print(f"ratio {x}/{y} tokens per second, {a.preset} {kind}, batch {a.batch}, "
                      f"{a.threads} threads: {r[0]:.2f} (wall), {r[1]:.2f} (CPU time)")


if __name__ == "__main__":
    main()
