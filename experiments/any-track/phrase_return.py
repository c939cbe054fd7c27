#!/usr/bin/python3
"""phrase_return.py: does an infill bring back the phrase before it? For each
folder of pieces, the mean similarity (|A & B| / |A | B|, notes as
(onset on a 12-per-quarter grid, pitch, duration) as in src/eval/structure.c)
between the melody register (pitch >= 60, middle C up: on Nottingham's test
split the melody track's own) of bar k and bar k + GAP, for k = FIRST-GAP ..
FIRST+BARS-GAP-1 (1-based bars; default: bars 5-8 against bars 1-4), pairs of
empty bars skipped. Bars from the first time signature (one per tune here).

    /usr/bin/python3 experiments/any-track/phrase_return.py [--first 5 --bars 4 --gap 4] DIR ...
"""
import argparse
import glob
import os
import statistics

import mido


def notes(path):
    """(pitch, start, end) of every note, the bar length and ticks per beat."""
    m = mido.MidiFile(path)
    out, ts = [], None
    for track in m.tracks:
        now, on = 0, {}
        for msg in track:
            now += msg.time
            if msg.type == "time_signature" and ts is None:
                ts = (msg.numerator, msg.denominator)
            if msg.type == "note_on" and msg.velocity > 0:
                on[msg.note] = now
            elif msg.type in ("note_off", "note_on") and msg.note in on:
                out.append((msg.note, on.pop(msg.note), now))
    ts = ts or (4, 4)
    return out, m.ticks_per_beat * 4 * ts[0] // ts[1], m.ticks_per_beat


def bar_set(ns, k, bar, tpb):
    return {((s - k * bar) * 12 // tpb, p, (e - s) * 12 // tpb) for p, s, e in ns if k * bar <= s < (k + 1) * bar and p >= 60}


def bar_sims(path, first=5, bars=4, gap=4):
    """The similarity of bar k and bar k - gap for k = first .. first+bars-1
    (1-based), pairs of empty bars skipped."""
    ns, bar, tpb = notes(path)
    sims = []
    for k in range(first - 1, first - 1 + bars):
        x, y = bar_set(ns, k - gap, bar, tpb), bar_set(ns, k, bar, tpb)
        if x or y:
            sims.append(len(x & y) / len(x | y))
    return sims


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--first", type=int, default=5)
    ap.add_argument("--bars", type=int, default=4)
    ap.add_argument("--gap", type=int, default=4)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    for d in a.dirs:
        sims = []
        for path in sorted(glob.glob(os.path.join(d, "*.mid"))):
            sims += bar_sims(path, a.first, a.bars, a.gap)
        print("%s: bars %d-%d against %d bars earlier: %.3f (%d bar pairs)" % (
            d, a.first, a.first + a.bars - 1, a.gap, statistics.mean(sims), len(sims)))


if __name__ == "__main__":
    main()
