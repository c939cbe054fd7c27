#!/usr/bin/python3
"""torch_ref.py: the reference for src/model. Builds the same Transformer in
PyTorch (generator: causal decoder with tied LM head; discriminator: encoder
with mean pooling and one logit), loads OUR checkpoints' weights, runs a fixed
batch and writes what the C model must reproduce to tests/ref/ as safetensors:

  <params>            the weights as loaded (names as in the checkpoint)
  input.tokens        (B,T) int32; input.targets (B,T) int32, -1 = ignored
  input.lengths       (B) int32 and input.labels (B) float (discriminator)
  out.logits          (B,T,V) generator / (B) discriminator
  out.probs           (B) discriminator
  out.loss            (1) mean cross-entropy / mean binary cross-entropy
  grad.<name>         every parameter's gradient of out.loss
  out.grad_norms      (3) global gradient norm before clipping, steps 1..3
  out.step_losses     (3) the loss at steps 1..3
  step3.<name>        the parameters after three steps of clipping + AdamW
                      (torch.optim.AdamW, weight decay on the weights of
                      linear layers only: qkv, proj, fc, fc2, head)
  __metadata__        config (our JSON), hparams (JSON), dtype, torch version

Relative attention is computed the naive way, as the paper's first version:
the O(T*T*D) tensor Er[h,i,j] = rel[h, z + j - i] is gathered explicitly and
contracted with the queries (z = R-1 causal, (R-1)/2 bidirectional, as
src/nn/nn.h lays out the table). Everything runs in float64 by default (the
committed references; the C float32 results are compared to 1e-4) or in
float32 (--dtype float32). Safetensors are read and written with json +
struct + numpy only.

Regenerate the committed references (from the project root, with a build):
  cmake --build build --target model_ref_regen
which runs
  build/tests/test_model_ref --write-checkpoints build/model_ref_ckpt
  /usr/bin/python3 tools/torch_ref.py --checkpoints build/model_ref_ckpt --out tests/ref
Compare two reference folders (the live ctest does, against a fresh run):
  /usr/bin/python3 tools/torch_ref.py --compare tests/ref OTHER_DIR
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # the caller (ctest) skips
    torch = None

# The reference models: checkpoint name -> batch shape. The C side
# (tests/test_model_ref.c --write-checkpoints) writes the checkpoints.
MODELS = ["model_gen_rel", "model_gen_abs", "model_disc_rel", "model_disc_abs"]
BATCH, GEN_T, DISC_LENGTHS = 3, 10, [12, 7, 3]
HPARAMS = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1,
           "clip": 0.5, "steps": 3}
PAD = 0

# ---------------------------------------------------------------------------
# safetensors with json + struct + numpy

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + a:8 + n + b], dtype=DTYPES[info["dtype"]])
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, meta


def write_safetensors(path, tensors, meta):
    names = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
             np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)

# ---------------------------------------------------------------------------
# The model (module names = our tensor names)


class Attention(nn.Module if torch else object):
    def __init__(self, cfg, causal):
        super().__init__()
        C, H = cfg["d_model"], cfg["n_heads"]
        self.C, self.H, self.D, self.causal = C, H, C // H, causal
        self.qkv = nn.Linear(C, 3 * C)
        self.relative = cfg["attention"] == "relative"
        if self.relative:
            self.R = cfg["context"] if causal else 2 * cfg["context"] - 1
            self.rel = nn.Parameter(torch.zeros(H, self.R, self.D))
        self.proj = nn.Linear(C, C)

    def forward(self, x, lengths):
        B, T, C = x.shape
        H, D = self.H, self.D
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in (q, k, v))  # (B,H,T,D)
        logits = q @ k.transpose(-1, -2)
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        if self.relative:
            z = self.R - 1 if self.causal else (self.R - 1) // 2
            idx = (z + j - i).clamp(0, self.R - 1)  # out-of-table only where masked
            er = self.rel[:, idx, :]  # (H,T,T,D): the naive O(T*T*D) gather
            logits = logits + torch.einsum("bhid,hijd->bhij", q, er)
        logits = logits / math.sqrt(D)
        mask = torch.zeros(B, 1, T, T, dtype=torch.bool)
        if self.causal:
            mask = mask | (j > i)[None, None]
        if lengths is not None:
            mask = mask | (torch.arange(T)[None, :] >= lengths[:, None])[:, None, None, :]
        att = torch.softmax(logits.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.proj(y)


class MLP(nn.Module if torch else object):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["d_model"]
        self.fc = nn.Linear(C, cfg["ff_mult"] * C)
        self.fc2 = nn.Linear(cfg["ff_mult"] * C, C)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module if torch else object):
    def __init__(self, cfg, causal):
        super().__init__()
        C = cfg["d_model"]
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = Attention(cfg, causal)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = MLP(cfg)

    def forward(self, x, lengths):
        x = x + self.attn(self.ln1(x), lengths)
        return x + self.mlp(self.ln2(x))


class Model(nn.Module if torch else object):
    """Pre-LayerNorm Transformer; dropout left out (the comparison runs in
    evaluation mode, as the C side does with a NULL dropout rng)."""

    def __init__(self, cfg):
        super().__init__()
        C = cfg["d_model"]
        self.gen = cfg["kind"] == "generator"
        self.wte = nn.Embedding(cfg["vocab_size"], C)
        if cfg["attention"] == "absolute":
            self.wpe = nn.Embedding(cfg["context"], C)
        self.blocks = nn.ModuleList([Block(cfg, self.gen) for _ in range(cfg["n_layers"])])
        self.lnf = nn.LayerNorm(C, eps=1e-5)
        if not self.gen:
            self.head = nn.Linear(C, 1)

    def forward(self, tokens, targets=None, lengths=None, labels=None):
        B, T = tokens.shape
        x = self.wte(tokens)
        if hasattr(self, "wpe"):
            x = x + self.wpe(torch.arange(T))[None]
        for blk in self.blocks:
            x = blk(x, lengths)
        h = self.lnf(x)
        if self.gen:
            logits = h @ self.wte.weight.t()  # tied LM head
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), ignore_index=-1)
            return logits, None, loss
        keep = (torch.arange(T)[None, :] < lengths[:, None]).to(h.dtype)[:, :, None]
        pooled = (h * keep).sum(1) / lengths[:, None].to(h.dtype)
        logit = self.head(pooled).squeeze(-1)
        loss = F.binary_cross_entropy_with_logits(logit, labels)
        return logit, torch.sigmoid(logit), loss


def decayed(name):
    return name.endswith(".weight") and any(k in name for k in ("attn.qkv", "attn.proj", "mlp.fc", "head"))

# ---------------------------------------------------------------------------


def make_inputs(cfg, seed):
    rs = np.random.RandomState(seed)
    V, T_max = cfg["vocab_size"], cfg["context"]
    out = {}
    if cfg["kind"] == "generator":
        seq = rs.randint(0, V, size=(BATCH, GEN_T + 1)).astype(np.int32)
        out["input.tokens"] = seq[:, :-1].copy()
        targets = seq[:, 1:].copy()
        targets[2, -3:] = -1  # a padded tail: ignored targets
        out["input.targets"] = targets
    else:
        tokens = rs.randint(1, V, size=(BATCH, T_max)).astype(np.int32)
        lengths = np.array(DISC_LENGTHS, dtype=np.int32)
        for b in range(BATCH):
            tokens[b, lengths[b]:] = PAD
        out["input.tokens"] = tokens
        out["input.lengths"] = lengths
        out["input.labels"] = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    return out


def run_model(ckpt_path, dtype):
    params, meta = read_safetensors(ckpt_path)
    cfg = json.loads(meta["config"])
    torch.manual_seed(0)
    model = Model(cfg).to(dtype)
    state = {k: torch.tensor(v, dtype=dtype) for k, v in params.items()}
    model.load_state_dict(state, strict=True)
    inputs = make_inputs(cfg, seed=1234)
    tokens = torch.tensor(inputs["input.tokens"], dtype=torch.long)
    kw = {}
    if cfg["kind"] == "generator":
        kw["targets"] = torch.tensor(inputs["input.targets"], dtype=torch.long)
    else:
        kw["lengths"] = torch.tensor(inputs["input.lengths"], dtype=torch.long)
        kw["labels"] = torch.tensor(inputs["input.labels"], dtype=dtype)

    hp = HPARAMS
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if decayed(n)], "weight_decay": hp["weight_decay"]},
              {"params": [p for n, p in named if not decayed(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])

    out = {name: params[name] for name in params}  # the weights as loaded
    out.update(inputs)
    norms, losses = [], []
    for step in range(hp["steps"]):
        opt.zero_grad(set_to_none=False)
        logits, probs, loss = model(tokens, **kw)
        loss.backward()
        if step == 0:
            out["out.logits"] = logits.detach().numpy().astype(np.float32)
            if probs is not None:
                out["out.probs"] = probs.detach().numpy().astype(np.float32)
            out["out.loss"] = np.array([loss.item()], dtype=np.float32)
            for n, p in named:
                out["grad." + n] = p.grad.detach().numpy().astype(np.float32)
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in named], hp["clip"])
        norms.append(float(norm))
        losses.append(loss.item())
        opt.step()
    out["out.grad_norms"] = np.array(norms, dtype=np.float32)
    out["out.step_losses"] = np.array(losses, dtype=np.float32)
    for n, p in named:
        out["step%d.%s" % (hp["steps"], n)] = p.detach().numpy().astype(np.float32)
    meta_out = {"config": meta["config"], "hparams": json.dumps(hp), "dtype": str(dtype).replace("torch.", ""),
                "torch": torch.__version__, "source": "tools/torch_ref.py"}
    return out, meta_out


def compare(dir_a, dir_b, tol):
    """Every tensor of every reference in dir_a against dir_b: integers
    exactly, floats to tol (max abs difference over max abs value)."""
    worst, bad = 0.0, 0
    for name in MODELS:
        ta, _ = read_safetensors(os.path.join(dir_a, name + ".safetensors"))
        tb, _ = read_safetensors(os.path.join(dir_b, name + ".safetensors"))
        if set(ta) != set(tb):
            print("%s: tensor names differ: %s" % (name, sorted(set(ta) ^ set(tb))))
            bad += 1
            continue
        for k in ta:
            a, b = ta[k].astype(np.float64), tb[k].astype(np.float64)
            if a.shape != b.shape:
                print("%s %s: shape %s vs %s" % (name, k, a.shape, b.shape))
                bad += 1
                continue
            if ta[k].dtype.kind == "i":
                err = float(np.any(a != b))
            else:
                err = float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(b), initial=0.0), 1e-30))
            worst = max(worst, err)
            if err > tol:
                print("%s %s: relative difference %.3g > %.3g" % (name, k, err, tol))
                bad += 1
    print("compare %s vs %s: worst relative difference %.3g, %d mismatches" % (dir_a, dir_b, worst, bad))
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoints", help="folder with the checkpoints test_model_ref wrote")
    ap.add_argument("--out", help="folder for the reference files (tests/ref)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"))
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    if args.compare:
        return 0 if compare(args.compare[0], args.compare[1], args.tol) else 1
    if torch is None:
        print("torch_ref.py: python3-torch is not installed")
        return 77
    if not args.checkpoints or not args.out:
        ap.error("--checkpoints and --out are required")
    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    os.makedirs(args.out, exist_ok=True)
    for name in MODELS:
        out, meta = run_model(os.path.join(args.checkpoints, name + ".safetensors"), dtype)
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, out, meta)
        print("%s: loss %.6f, grad norms %s -> %s" % (name, out["out.loss"][0],
              " ".join("%.4f" % x for x in out["out.grad_norms"]), path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
