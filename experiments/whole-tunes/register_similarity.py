#!/usr/bin/env python3
"""Bar similarity split by register: which part of a tune repeats where.

Museformer's bar-similarity profile (`tunegan eval`, src/eval/structure.c)
merges the tracks. For Nottingham, whose melody and chords are both program 0
and decode into one track, this script splits each bar's notes by pitch:
notes at or above middle C (MIDI 60) are the melody's register, the ones
below the chords'. On the test split the upper register's profile is the
melody track's own to three decimals (d = 1, 2, 4, 8: 0.061, 0.097, 0.329,
0.598 both ways; ../shared/data/nottingham/melody), so for real tunes the
split is the melody/chords split.

Same note triples and pooling as structure.c (onset in the bar and duration
on a 12-per-quarter grid, pitch; the first 32 bars; a pair of empty bars
skipped); bars from the file's first time signature (the collection has one
per tune).

    /usr/bin/python3 experiments/whole-tunes/register_similarity.py [--data DIR] SAMPLE_DIR ...

prints, for the test split and then each folder of MIDI files, the profile at
d = 1, 2, 4, 8, 16 of the upper register, the lower one and both.
"""
import argparse
import collections
import glob
import os

import mido

DISTANCES = (1, 2, 4, 8, 16)
SPLIT_PITCH = 60


def bars_of(path, max_bars=32):
    """Per bar: (upper-register triples, lower-register triples)."""
    mid = mido.MidiFile(path)
    tpq = mid.ticks_per_beat
    num, den = 4, 4
    found = False
    notes = []
    for track in mid.tracks:
        t, sounding = 0, {}
        for msg in track:
            t += msg.time
            if msg.type == "time_signature" and not found:
                num, den, found = msg.numerator, msg.denominator, True
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault((msg.channel, msg.note), []).append(t)
            elif msg.type in ("note_off", "note_on"):
                starts = sounding.get((msg.channel, msg.note))
                if starts:
                    s = starts.pop(0)
                    notes.append((s, t - s, msg.note))
    bar = tpq * 4 * num // den
    grid = tpq / 12
    bars = collections.defaultdict(lambda: (set(), set()))
    for start, dur, pitch in notes:
        b = start // bar
        if b < max_bars:
            bars[b][0 if pitch >= SPLIT_PITCH else 1].add((round((start - b * bar) / grid), pitch, round(dur / grid)))
    n = max(bars) + 1 if bars else 0
    return [bars[i] if i in bars else (set(), set()) for i in range(n)]


def profile(files, part):
    """Pooled mean similarity at each distance; part 0 upper, 1 lower, 2 both."""
    pairs = collections.defaultdict(list)
    for f in files:
        bars = bars_of(f)
        pick = (lambda b: b[part]) if part < 2 else (lambda b: b[0] | b[1])
        for d in DISTANCES:
            for i in range(len(bars) - d):
                a, b = pick(bars[i]), pick(bars[i + d])
                if a or b:
                    pairs[d].append(len(a & b) / len(a | b))
    return {d: sum(v) / len(v) for d, v in pairs.items() if v}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/nottingham")
    ap.add_argument("folders", nargs="*")
    args = ap.parse_args()
    sets = {}
    with open(os.path.join(args.data, "split.tsv")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if "\t" in line]
    sets["test split"] = [os.path.join(args.data, "full", r[0]) for r in rows if r[1] == "test"]
    for folder in args.folders:
        sets[folder] = sorted(glob.glob(os.path.join(folder, "*.mid")))
    print("| set | register | " + " | ".join("d %d" % d for d in DISTANCES) + " |")
    print("| --- | --- |" + " --- |" * len(DISTANCES))
    for name, files in sets.items():
        for part, label in ((0, "upper (melody)"), (1, "lower (chords)"), (2, "both")):
            p = profile(files, part)
            print("| %s | %s | " % (name, label) + " | ".join("%.3f" % p[d] if d in p else "-" for d in DISTANCES) + " |")


if __name__ == "__main__":
    main()
