#!/usr/bin/python3
"""Table of the bundled model's samples against real music, from the JSON of
`tunegan eval` that run.sh writes: summarize.py WORK_DIR (markdown on stdout)."""
import json
import sys


def row(name, d):
    st = d["stats"]
    oa = [v["oa"] for v in d["overlap"].values()]
    cells = [name, d["samples"]["pieces"], f'{d["bleu"]:.4f}', f'{d["self_bleu"]:.4f}',
             f'{d["zipf_mse"]:.5f}', f'{d["pitch_mse"]:.2f}']
    for k in ("n_pitch_classes_used", "polyphony", "scale_consistency", "empty_beat_rate",
              "groove_consistency"):
        cells.append(f'{st[k]["samples"]["mean"]:.3f}')
    cells.append(f"{sum(oa) / len(oa):.3f}")
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main():
    work = sys.argv[1]
    heads = ["set (against the test split)", "pieces", "BLEU-4", "self-BLEU", "zipf_mse", "pitch_mse",
             "pitch classes", "polyphony", "scale consistency", "empty beats", "groove",
             "mean overlap (OA)"]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    ref = json.load(open(f"{work}/eval-samples.json"))
    print(row("bundled model, 16 bars, seed 1", ref))
    print(row("valid split (real music)", json.load(open(f"{work}/eval-valid-vs-test.json"))))
    st = ref["stats"]
    cells = ["test split itself", ref["reference"]["pieces"], "", "", "", ""]
    for k in ("n_pitch_classes_used", "polyphony", "scale_consistency", "empty_beat_rate",
              "groove_consistency"):
        cells.append(f'{st[k]["reference"]["mean"]:.3f}')
    cells.append("")
    print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
