#!/usr/bin/python3
"""take_variety.py: how alike two takes of the same melodies are, and the
chords' own statistics (rerank_pick.chord_stats) of the first set.

    /usr/bin/python3 experiments/any-track/take_variety.py NAME DIR_SEED1 DIR_SEED2 DIR_SEED3

Each DIR holds one accompaniment per test tune (same file names). For each
pair of take seeds: the share of melody onsets (over all tunes) at which the
two takes sound the same set of accompaniment pitch classes.
"""
import sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rerank_pick as rp

def sounding(path):
    """{melody onset: the accompaniment's pitch classes sounding then}"""
    tracks = rp.read_notes(path)[0]
    mel = sorted(set(s for s, _, _ in tracks[0]))
    acc = [n for tr in tracks[1:] for n in tr]
    return {m: frozenset(p % 12 for s, e, p in acc if s <= m < e) for m in mel}

def variety(d1, d2):
    same = tot = 0
    for f in os.listdir(d1):
        if not os.path.exists(os.path.join(d2, f)): continue
        a, b = sounding(os.path.join(d1, f)), sounding(os.path.join(d2, f))
        for m in a:
            if m in b: tot += 1; same += a[m] == b[m]
    return same / tot

name, d1, d2, d3 = sys.argv[1:5]
print("%-10s %s | same chord under a melody onset, seeds 1-2 %.3f, 1-3 %.3f, 2-3 %.3f" % (
    name, rp.chord_stats(d1), variety(d1, d2), variety(d1, d3), variety(d2, d3)))
