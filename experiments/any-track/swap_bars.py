#!/usr/bin/python3
"""swap_bars.py: a control for the infill critic. Bars 5-8 of every real tune
are replaced by bars 5-8 of another real tune: of the tunes with the same
meter, ticks per beat and tracks, one of the FIVE whose bars 5-8 best match
the pitch classes of the tune they go into as they are (not transposed, so
that their register is a real one), drawn at random (--seed). The bars written are real music,
but not written for that tune: if the fresh critic cannot tell these from the
real tunes, it reads each bar's own statistics and not whether bars 5-8 fit
the bars around them.

    /usr/bin/python3 experiments/any-track/swap_bars.py REAL OUT [SEED (1)]
    /usr/bin/python3 experiments/any-track/swap_bars.py REAL OUT --own K

With --own K the bars come from the same tune instead, its bars K..K+3 (a
tune with fewer than K+3 bars is left out): the tune's own music, in the
wrong place.

Bars are counted from tick 0 with the first time signature (the one meter of
every Nottingham test tune but jigs168, whose bars 1-8 it keeps). Notes
starting in the bars are swapped track for track (track k of the donor into
track k), as tunegan infill treats them: a note held into the bars or out of
them is kept whole, and a moved note that would sound a pitch its channel
already sounds is dropped (starting under it) or shortened (running into it).
"""
import os
import random
import sys

import mido


def read(path):
    m = mido.MidiFile(path)
    tracks, ts = [], None
    for track in m.tracks:
        now, on, notes, meta = 0, {}, [], []
        for msg in track:
            now += msg.time
            if msg.type == "time_signature" and ts is None:
                ts = (msg.numerator, msg.denominator)
            if msg.type == "note_on" and msg.velocity > 0:
                on[msg.note] = (now, msg.velocity, msg.channel)
            elif msg.type in ("note_off", "note_on"):
                if msg.note in on:
                    s, v, c = on.pop(msg.note)
                    notes.append((s, now, msg.note, v, c))
            elif msg.type != "end_of_track":
                meta.append((now, msg))
        tracks.append((notes, meta))
    ts = ts or (4, 4)
    return m, tracks, ts, m.ticks_per_beat * 4 * ts[0] // ts[1]


def write(m, tracks, path):
    out = mido.MidiFile(ticks_per_beat=m.ticks_per_beat, type=m.type)
    for notes, meta in tracks:
        events = [(t, 1, msg) for t, msg in meta]
        for s, e, p, v, c in notes:
            events.append((s, 2, mido.Message("note_on", note=p, velocity=v, channel=c)))
            events.append((e, 0, mido.Message("note_off", note=p, velocity=0, channel=c)))
        events.sort(key=lambda x: (x[0], x[1]))
        track, now = mido.MidiTrack(), 0
        for t, _, msg in events:
            track.append(msg.copy(time=t - now))
            now = t
        track.append(mido.MetaMessage("end_of_track", time=0))
        out.tracks.append(track)
    tmp = path + ".tmp"
    out.save(tmp)
    os.replace(tmp, path)


def in_bars(notes, lo, hi):
    return [n for n in notes if lo <= n[0] < hi]


def key_match(target, donor):
    """Cosine of the two sets' pitch-class histograms (weighted by duration)."""
    def hist(notes):
        h = [0] * 12
        for s, e, p, v, c in notes:
            h[p % 12] += e - s
        return h
    a, b = hist(target), hist(donor)
    norm = (sum(x * x for x in a) * sum(x * x for x in b)) ** 0.5
    return sum(x * y for x, y in zip(a, b)) / norm if norm else 0


def fit_in(kept, moved):
    """moved notes that do not collide with a kept note of their channel and pitch"""
    out = []
    for s, e, p, v, c in moved:
        same = [(a, b) for a, b, q, _, d in kept if q == p and d == c]
        if any(a <= s < b for a, b in same):
            continue
        e = min([e] + [a for a, b in same if s < a < e])
        out.append((s, e, p, v, c))
    return out


def own_bars(f, tracks, bar, k):
    """the tune's bars k..k+3 moved to bars 5-8, or None if it is too short"""
    lo = (k - 1) * bar
    if not any(n[0] >= lo + 3 * bar for notes, _ in tracks for n in notes):
        print("%s: no bars %d-%d, left out" % (f, k, k + 3), file=sys.stderr)
        return None
    return [[(s - lo + 4 * bar, e - lo + 4 * bar, p, v, c) for s, e, p, v, c in in_bars(notes, lo, lo + 4 * bar)]
            for notes, _ in tracks]


def main():
    real, out = sys.argv[1:3]
    own = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--own" else 0
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 and not own else 1)
    os.makedirs(out, exist_ok=True)
    names = sorted(f for f in os.listdir(real) if f.endswith(".mid"))
    pieces = {f: read(os.path.join(real, f)) for f in names}
    for i, f in enumerate(names):
        m, tracks, ts, bar = pieces[f]
        lo, hi = 4 * bar, 8 * bar
        if own:
            moved = own_bars(f, tracks, bar, own)
            if moved is None:
                continue
            new = []
            for (notes, meta), mine in zip(tracks, moved):
                kept = [n for n in notes if not lo <= n[0] < hi]
                new.append((kept + fit_in(kept, mine), meta))
            write(m, new, os.path.join(out, f))
            print("%s: bars 5-8 from its own bars %d-%d" % (f, own, own + 3))
            continue
        around = [n for t, _ in tracks for n in t if not lo <= n[0] < hi]
        donors = [g for g in names if g != f and pieces[g][2] == ts
                  and pieces[g][0].ticks_per_beat == m.ticks_per_beat and len(pieces[g][1]) == len(tracks)
                  and any(in_bars(n, lo, hi) for n, _ in pieces[g][1])]
        if not donors:
            print("%s: no donor with its meter, left out" % f, file=sys.stderr)
            continue
        donors.sort(key=lambda g: -key_match(around, [n for t, _ in pieces[g][1] for n in in_bars(t, lo, hi)]))
        donor = rng.choice(donors[:5])
        dtracks = pieces[donor][1]
        match = key_match(around, [n for t, _ in dtracks for n in in_bars(t, lo, hi)])
        new = []
        for (notes, meta), (dnotes, _) in zip(tracks, dtracks):
            kept = [n for n in notes if not lo <= n[0] < hi]
            new.append((kept + fit_in(kept, in_bars(dnotes, lo, hi)), meta))
        write(m, new, os.path.join(out, f))
        print("%s: bars 5-8 from %s (pitch classes match %.3f)" % (f, donor, match))


if __name__ == "__main__":
    main()
