#!/usr/bin/python3
"""Harmonic fit and voice-leading counts (src/eval/harmony.c) computed again
from mido's parse of the same files, written from the definitions in
harmony.c's opening comment with plain loops, and compared file by file with
`test_harmony counts FILE...` (every count must be equal).

Files: 60 random pieces this script writes with mido (four voices on a
16th grid with rests, crossings and repeated pitches, some off the grid;
melody over chords; a drum track), and when ../shared/data is present
Nottingham's test and valid tunes (full/) and Bach's test chorales.
Argument: the test_harmony binary. Environment (set by ctest):
TG_SHARED_DATA. Exits 77 (skipped) when mido is missing.
"""
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("TG_SHARED_DATA", os.path.join(HERE, "..", "..", "shared", "data"))
RANGES = [(60, 79), (55, 74), (48, 67), (40, 60)]


def read_tracks(path):
    """Notes (start, end, pitch) of each track holding notes, drums apart."""
    import mido
    mf = mido.MidiFile(path)
    tracks = []
    for tr in mf.tracks:
        t, on, notes, drum = 0, {}, [], False
        for m in tr:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                on.setdefault((m.channel, m.note), []).append(t)
                drum = drum or m.channel == 9
            elif m.type in ("note_on", "note_off") and on.get((m.channel, m.note)):
                s = on[(m.channel, m.note)].pop(0)
                notes.append((s, max(t, s + 1), m.note))
        if notes:
            tracks.append((sorted(notes, key=lambda n: (n[0], n[2], n[1])), drum))
    return mf.ticks_per_beat, tracks


def fit(tracks, melody):
    """(onsets, silent, fits): melody = index into tracks, or None: top line."""
    notes = [(s, e, p, k) for k, (ns, drum) in enumerate(tracks) if not drum for (s, e, p) in ns]
    is_mel = {}
    onsets = silent = fits = 0
    for t in sorted({n[0] for n in notes}):
        sounding = [n for n in notes if n[0] <= t < n[1]]
        starting = [n for n in notes if n[0] == t]
        top = max(n[2] for n in sounding)
        for n in starting:
            is_mel[n] = (n[2] == top) if melody is None else (n[3] == melody)
        pcs = {n[2] % 12 for n in sounding if not is_mel.get(n, n[3] == melody)}
        for n in starting:
            if not is_mel[n]:
                continue
            onsets += 1
            if not pcs:
                silent += 1
            elif n[2] % 12 in pcs:
                fits += 1
    return onsets, silent, fits


def voices(tpq, tracks):
    vs = [ns for ns, drum in tracks if not drum]
    if len(vs) != 4:
        return None
    end = max(n[1] for ns in vs for n in ns)
    n = -(-end * 4 // tpq)
    grid, onset = [], []
    for ns in vs:
        g, o = [None] * n, [False] * n
        for s, e, p in ns:  # sorted by (start, pitch): later ones win
            for i in range(s * 4 // tpq, min(n, -(-e * 4 // tpq))):
                g[i] = p
            o[s * 4 // tpq] = True
        grid.append(g)
        onset.append(o)
    fifths = octaves = crossings = begun = 0
    for a in range(4):
        for b in range(a + 1, 4):
            u, l = grid[a], grid[b]
            for i in range(1, n):
                if None in (u[i - 1], u[i], l[i - 1], l[i]):
                    continue
                du, dl = u[i] - u[i - 1], l[i] - l[i - 1]
                if du == 0 or dl == 0 or (du > 0) != (dl > 0):
                    continue
                before, after = (u[i - 1] - l[i - 1]) % 12, (u[i] - l[i]) % 12
                fifths += before == 7 and after == 7
                octaves += before == 0 and after == 0
    for a in range(3):
        u, l, was = grid[a], grid[a + 1], False
        for i in range(n):
            crossed = u[i] is not None and l[i] is not None and l[i] > u[i]
            crossings += crossed and (onset[a][i] or onset[a + 1][i])
            begun += crossed and not was
            was = crossed
    oor = [sum(1 for s, e, p in ns if not lo <= p <= hi) for ns, (lo, hi) in zip(vs, RANGES)]
    return "%.2f %d %d %d %d %d %s" % (n / 4, sum(len(ns) for ns in vs), fifths, octaves, crossings, begun,
                                       " ".join(map(str, oor)))


def expected(path):
    tpq, tracks = read_tracks(path)
    line = "%s top %d %d %d" % ((path,) + fit(tracks, None))
    pitched = [k for k, (ns, drum) in enumerate(tracks) if not drum]
    line += " first %d %d %d" % fit(tracks, pitched[0]) if len(pitched) >= 2 else " first n/a"
    v = voices(tpq, tracks)
    return line + (" voices " + v if v else " voices n/a")


def split_files(root, sub, splits):
    path = os.path.join(root, "split.tsv")
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        f = line.split()
        if len(f) == 2 and not line.startswith("#") and f[1] in splits:
            out.append(os.path.join(root, sub, f[0]))
    return sorted(out)


def write_random(path, rng, kind):
    """A random piece: kind 0 four voices on one shared rhythm (each voice a
    random walk, so parallels, crossings and ranges all occur), 1 melody and
    chords, 2 one track with a drum track beside it. Times in 16ths of 480
    ticks, a few shifted off the grid; rests."""
    import mido
    mf = mido.MidiFile(type=1, ticks_per_beat=480)
    rhythm = [rng.choice((120, 240, 240, 480)) for _ in range(rng.randint(8, 48))]
    for k in range(4 if kind == 0 else 2):
        drum = kind == 2 and k == 1
        events, t = [], 0
        p = (72, 65, 57, 48)[k] if kind == 0 else (74 if k == 0 else 55)
        durs = rhythm if kind == 0 else [rng.choice((120, 240, 360, 480, 960)) for _ in range(rng.randint(5, 40))]
        for d in durs:
            p = max(20, min(110, p + rng.choice((-4, -2, -1, 0, 1, 2, 3, 5))))
            if rng.random() < 0.1:  # a rest
                t += d
                continue
            off = rng.choice((0,) * 8 + (7, -7)) if t > 10 else 0
            chord = 1 if kind == 0 or k == 0 else rng.randint(1, 3)
            for c in range(chord):
                q = min(127, p + 4 * c)
                events.append((t + off, 1, q))
                events.append((t + off + d, 0, q))
            t += d
        events.sort(key=lambda e: (e[0], e[1]))
        tr = mido.MidiTrack()
        ch = 9 if drum else k
        now = 0
        for when, on, q in events:
            tr.append(mido.Message("note_on" if on else "note_off", channel=ch, note=q, velocity=80 if on else 0,
                                   time=when - now))
            now = when
        mf.tracks.append(tr)
    mf.save(path)


def main():
    try:
        import mido  # noqa: F401
    except ImportError:
        print("skipped: python3-mido is not installed")
        return 77
    files = split_files(os.path.join(SHARED, "nottingham"), "full", ("test", "valid"))
    files += split_files(os.path.join(SHARED, "jsb-chorales"), "midi", ("test",))
    tmp = tempfile.TemporaryDirectory(prefix="tg_harmony_")
    rng = random.Random(20)
    for i in range(60):
        files.append(os.path.join(tmp.name, "random-%02d.mid" % i))
        write_random(files[-1], rng, i % 3)
    run = subprocess.run([sys.argv[1], "counts"] + files, capture_output=True, text=True)
    if run.returncode != 0:
        print("test_harmony counts failed: %s" % run.stderr)
        return 1
    got = run.stdout.splitlines()
    bad = 0
    for f, g in zip(files, got):
        want = expected(f)
        if g != want:
            bad += 1
            print("differs: %s\n  tunegan %s\n  mido    %s" % (f, g, want))
    if len(got) != len(files):
        print("test_harmony printed %d lines for %d files" % (len(got), len(files)))
        bad += 1
    print("harmony counts of %d files: %d differ" % (len(files), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
