#!/usr/bin/python3
"""test_bleu_vs_nltk.py: our BLEU against NLTK's own (python3-nltk, Debian).

For random token sets (small and large vocabularies, empty and short
sequences, 1 to 12 hypotheses and references) and for real pieces (the MIDI
fixtures, and Nottingham pieces when ../shared/data is present, with the remi
and grid tokenizers), the figures of src/eval/bleu.c must equal NLTK's:
  bleu                 corpus_bleu(hyps, [refs] * len(hyps), method1)
  bleu_sentence_mean   mean of sentence_bleu(refs, h, method1) (Texygen's BLEU)
  self_bleu            mean over i of sentence_bleu(hyps without i, hyps[i]) (Texygen)
all with weights (0.25,) * 4 and SmoothingFunction().method1. Random sets go
through `test_eval bleu FILE`; real pieces through `tunegan eval --json`
end to end. Skips (exit 77) when nltk is missing.

usage: test_bleu_vs_nltk.py TEST_EVAL   (TG_BIN, TG_TEST_DATA, TG_SHARED_DATA from ctest)
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

try:
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu
except ImportError:
    print("skipped: python3-nltk is not installed (apt-get install python3-nltk)")
    sys.exit(77)

warnings.filterwarnings("ignore")
TOL = 1e-12
W = (0.25, 0.25, 0.25, 0.25)
SM = SmoothingFunction().method1
failures = 0
checks = 0
worst = 0.0


def nltk_figures(hyps, refs):
    out = {
        "bleu": corpus_bleu([refs] * len(hyps), hyps, W, SM),
        "bleu_sentence_mean": sum(sentence_bleu(refs, h, W, SM) for h in hyps) / len(hyps),
    }
    if len(hyps) >= 2:
        out["self_bleu"] = sum(
            sentence_bleu(hyps[:i] + hyps[i + 1:], hyps[i], W, SM) for i in range(len(hyps))
        ) / len(hyps)
    return out


def compare(what, ours, theirs):
    global failures, checks, worst
    for key, want in theirs.items():
        checks += 1
        got = ours.get(key)
        if got is None:
            failures += 1
            print(f"FAIL {what}: no {key} in our output", file=sys.stderr)
            continue
        diff = abs(got - want)
        worst = max(worst, diff)
        if diff > TOL * max(1.0, abs(want)):
            failures += 1
            print(f"FAIL {what}: {key} {got!r} != NLTK {want!r} (diff {diff:.3g})", file=sys.stderr)


def run_test_eval(test_eval, hyps, refs, tmp):
    path = os.path.join(tmp, "seqs.txt")
    with open(path, "w") as f:
        f.write(f"H {len(hyps)}\n")
        for h in hyps:
            f.write(" ".join(map(str, h)) + "\n")
        f.write(f"R {len(refs)}\n")
        for r in refs:
            f.write(" ".join(map(str, r)) + "\n")
    out = subprocess.run([test_eval, "bleu", path], check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


def random_sets(test_eval, tmp):
    rng = random.Random(2024)
    for case in range(60):
        vocab = rng.choice([2, 3, 5, 20, 577])
        nh, nr = rng.randint(1, 12), rng.randint(1, 12)
        maxlen = rng.choice([3, 8, 40, 200])
        seq = lambda: [rng.randrange(3, 3 + vocab) for _ in range(rng.randint(0, maxlen))]
        hyps = [seq() for _ in range(nh)]
        refs = [seq() for _ in range(nr)]
        if all(len(r) == 0 for r in refs):
            refs[0] = [3]
        compare(f"random case {case}", run_test_eval(test_eval, hyps, refs, tmp), nltk_figures(hyps, refs))


def tokens_of(binary, path, tokenizer):
    out = subprocess.run([binary, "tokenize", "--ids", "--tokenizer", tokenizer, path], capture_output=True,
                         text=True)
    if out.returncode != 0:
        return None
    ids = [int(x) for x in out.stdout.split()]
    return [i for i in ids if i > 2]  # content only: PAD 0, BOS 1, EOS 2 left out, as eval does


def has_notes(binary, path):
    out = subprocess.run([binary, "notes", path], capture_output=True, text=True)
    return out.returncode == 0 and any(line and not line.startswith("#") for line in out.stdout.splitlines())


def segments(seqs, n):
    if n == 0:
        return seqs
    out = []
    for s in seqs:
        out += [s[i:i + n] for i in range(0, len(s), n)] or [[]]
    return out


def real_pieces(binary, hyp_files, ref_files, tokenizer, segment, tmp, what):
    """tunegan eval --json on two folders against NLTK on the same tokens."""
    dirs = []
    for name, files in (("hyp", hyp_files), ("ref", ref_files)):
        d = os.path.join(tmp, f"{what}-{name}")
        os.makedirs(d)
        for i, f in enumerate(files):
            os.symlink(os.path.abspath(f), os.path.join(d, f"{i:04d}_{os.path.basename(f)}"))
        dirs.append(d)
    # the order eval reads them in: path order of the links, i.e. the order given
    hyps = [tokens_of(binary, f, tokenizer) for f in hyp_files]
    refs = [tokens_of(binary, f, tokenizer) for f in ref_files]
    hyps = [h for h in hyps if h is not None]
    refs = [r for r in refs if r is not None]
    t0 = time.time()
    out = subprocess.run([binary, "eval", "--samples", dirs[0], "--reference", dirs[1], "--tokenizer", tokenizer,
                          "--segment", str(segment), "--json"], capture_output=True, text=True)
    t_ours = time.time() - t0
    global failures
    if out.returncode != 0:
        failures += 1
        print(f"FAIL {what}: tunegan eval exited {out.returncode}: {out.stderr}", file=sys.stderr)
        return
    ours = json.loads(out.stdout)
    if ours["samples"]["pieces"] != len(hyps) or ours["reference"]["pieces"] != len(refs):
        failures += 1
        print(f"FAIL {what}: eval read {ours['samples']['pieces']} and {ours['reference']['pieces']} pieces, "
              f"the test {len(hyps)} and {len(refs)}", file=sys.stderr)
        return
    t0 = time.time()
    theirs = nltk_figures(segments(hyps, segment), segments(refs, segment))
    t_nltk = time.time() - t0
    theirs_ref = nltk_figures(segments(refs, segment), segments(hyps, segment)) if len(refs) >= 2 else {}
    if "self_bleu" in theirs_ref:
        theirs["self_bleu_reference"] = theirs_ref["self_bleu"]
    compare(what, ours, theirs)
    print(f"{what}: {len(hyps)} vs {len(refs)} pieces ({tokenizer}, segment {segment}): BLEU {ours['bleu']:.6f}, "
          f"self-BLEU {ours['self_bleu']}; tunegan eval {t_ours:.2f} s (all metrics), NLTK {t_nltk:.2f} s (BLEU only)")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    test_eval = sys.argv[1]
    binary = os.environ.get("TG_BIN")
    data = os.environ.get("TG_TEST_DATA")
    shared = os.environ.get("TG_SHARED_DATA")
    tmp = tempfile.mkdtemp(prefix="tg_bleu_nltk.")
    try:
        random_sets(test_eval, tmp)
        if binary and data and os.access(binary, os.X_OK):
            fixtures = sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".mid"))
            good = [f for f in fixtures if has_notes(binary, f) and tokens_of(binary, f, "remi") is not None]
            real_pieces(binary, good[: len(good) // 2], good[len(good) // 2:], "remi", 0, tmp, "fixtures-remi")
            nott = os.path.join(shared or "", "nottingham")
            if shared and os.path.isfile(os.path.join(nott, "split.tsv")):
                split = dict(line.split() for line in open(os.path.join(nott, "split.tsv")) if line.strip()
                             and not line.startswith("#"))
                valid = sorted(os.path.join(nott, "full", f) for f, s in split.items() if s == "valid")[:15]
                test = sorted(os.path.join(nott, "full", f) for f, s in split.items() if s == "test")[:40]
                real_pieces(binary, valid, test, "remi", 0, tmp, "nottingham-remi")
                real_pieces(binary, valid, test, "grid", 32, tmp, "nottingham-grid-32")
            else:
                print("note: ../shared/data/nottingham not found: real pieces are the fixtures only")
        else:
            print("note: TG_BIN not set: random sets only")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"test_bleu_vs_nltk: {checks} checks, {failures} failed; largest difference {worst:.3g}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
