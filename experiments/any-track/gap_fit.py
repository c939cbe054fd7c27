#!/usr/bin/python3
"""gap_fit.py: the harmonic fit and chord texture inside an infilled gap,
beside the real tune's same span. For each tune in REAL found in every
folder, the span is the ticks from the first to the last onset of a note
that any folder's version does not share with the real tune (so the span is
the written bars, wherever the piece's bar 1 starts). Inside it: the share of
melody onsets (track 0) whose pitch class the other tracks sound at that
moment (the harmonic fit of tunegan eval), chord onsets per melody onset, and
the mean chord-note duration in quarters.

    /usr/bin/python3 experiments/any-track/gap_fit.py REAL DIR ...
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rerank_pick import read_notes  # noqa: E402


def notes(path):
    """[(track, pitch, start, end)] (track 0: the first that holds notes)
    and ticks per beat."""
    tracks, _, tpq = read_notes(path)
    return [(t, p, s, e) for t, ns in enumerate(tracks) for s, e, p in ns], tpq


def span(real, versions):
    r = set(real)
    starts = [n[2] for v in versions for n in set(v) ^ r]
    return (min(starts), max(starts)) if starts else None


def measure(ns, tpb, lo, hi):
    mel = [n for n in ns if n[0] == 0 and lo <= n[2] <= hi]
    acc = [n for n in ns if n[0] != 0]
    fit = sum(1 for _, p, s, _ in mel if p % 12 in {q % 12 for _, q, a, b in acc if a <= s < b})
    chords = [n for n in acc if lo <= n[2] <= hi]
    onsets = len({n[2] for n in chords})
    dur = statistics.mean((b - a) / tpb for _, _, a, b in chords) if chords else 0
    return fit, len(mel), onsets, dur


def main():
    real, dirs = sys.argv[1], sys.argv[2:]
    tunes = sorted(set(os.listdir(real)).intersection(*(set(os.listdir(d)) for d in dirs)))
    rows = {d: [0, 0, 0, []] for d in [real] + dirs}
    for f in tunes:
        r, tpb = notes(os.path.join(real, f))
        vs = {d: notes(os.path.join(d, f))[0] for d in dirs}
        s = span(r, vs.values())
        if not s:
            continue
        for d, ns in [(real, r)] + list(vs.items()):
            fit, mel, onsets, dur = measure(ns, tpb, *s)
            row = rows[d]
            row[0] += fit
            row[1] += mel
            row[2] += onsets
            row[3].append(dur)
    for d, (fit, mel, onsets, durs) in rows.items():
        print("%-40s fit %.3f (%d melody onsets)  chord onsets per melody onset %.3f  chord note %.2f quarters" % (
            os.path.basename(d.rstrip("/")), fit / mel, mel, onsets / mel, statistics.mean(durs)))


if __name__ == "__main__":
    main()
