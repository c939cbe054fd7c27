#!/usr/bin/python3
"""crop_bars.py: bars FIRST..LAST of every piece in a folder, alone (notes
starting in them, cut at their end, moved to the start; tempo and meter
kept), so that the critic can read written bars without the bars around
them.

    /usr/bin/python3 experiments/any-track/crop_bars.py DIR OUT [FIRST (5)] [LAST (8)]

Bars from tick 0 with the first time signature, as swap_bars.py counts them.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swap_bars as sb  # noqa: E402


def main():
    src, out = sys.argv[1:3]
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    last = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    os.makedirs(out, exist_ok=True)
    for f in sorted(os.listdir(src)):
        if not f.endswith(".mid"):
            continue
        m, tracks, _, bar = sb.read(os.path.join(src, f))
        lo, hi = (first - 1) * bar, last * bar
        crop = [([(s - lo, min(e, hi) - lo, p, v, c) for s, e, p, v, c in notes if lo <= s < hi],
                 [(max(t - lo, 0), msg) for t, msg in meta if t < hi]) for notes, meta in tracks]
        sb.write(m, crop, os.path.join(out, f))


if __name__ == "__main__":
    main()
