#!/usr/bin/python3
"""The dump of `tunegan notes FILE.mid [--meta]`, written from mido's parse.

usage: tools/mido_notes.py FILE.mid [--meta]

mido (python3-mido) parses the file; this script then applies tunegan's
documented policies (src/midi/midi_track.c) so that the two dumps agree
line for line on every file both readers understand:
  - notes pair per (track chunk, channel, key), first in first out; a
    note-on with velocity 0 is a note-off; note-offs with nothing sounding
    are ignored; notes still sounding when the track ends close at the
    track's last tick; a note whose on and off share a tick lasts 1 tick;
  - a track ends at its end-of-track event;
  - tempo 0, time signatures with 0 beats or a beat shorter than a 256th
    are skipped; formats 0 and 1 merge the maps of all tracks, format 2 keeps
    one per track;
  - seconds follow tg_score_ticks_to_sec's arithmetic, operation for
    operation, so that both print the same 6 decimals.
The comparison itself is tests/test_notes_vs_mido.py.
"""
import collections
import sys

import mido
from mido.midifiles.meta import _key_signature_encode


def division_text(mid):
    tpb = mid.ticks_per_beat
    if tpb > 0:
        return str(tpb), tpb, 0, 0
    hi = (tpb >> 8) & 0xFF
    fps = 256 - hi
    tpf = tpb & 0xFF
    return "smpte:%dx%d" % (fps, tpf), 0, fps, tpf


def ticks_to_sec(tempos, tpq, fps, tpf, ticks):
    """tempos: [(ticks, usec)] of the map that applies, in map order."""
    if tpq <= 0:
        rate = 29.97 if fps == 29 else float(fps)
        per_sec = rate * float(tpf)
        return float(ticks) / per_sec if per_sec > 0 else 0.0
    tpq = float(tpq)
    sec = 0.0
    at = 0
    usec = 500000
    for t, u in tempos:
        if t >= ticks:
            break
        sec += float(t - at) * usec / (tpq * 1e6)
        at = t
        usec = u
    return sec + float(ticks - at) * usec / (tpq * 1e6)


def read_track(index, track, notes, tempos, timesigs, keysigs, chunk_key):
    pending = collections.defaultdict(collections.deque)
    ticks = 0
    for msg in track:
        ticks += msg.time
        kind = msg.type
        if kind == "note_on" and msg.velocity > 0:
            pending[(msg.channel, msg.note)].append((ticks, msg.velocity))
        elif kind in ("note_on", "note_off"):
            queue = pending.get((msg.channel, msg.note))
            if queue:
                start, vel = queue.popleft()
                notes.append((start, index, msg.channel, msg.note,
                              ticks if ticks > start else start + 1, vel))
        elif kind == "end_of_track":
            break
        elif kind == "set_tempo":
            if msg.tempo > 0:
                tempos.append((ticks, msg.tempo, chunk_key))
        elif kind == "time_signature":
            if msg.numerator > 0 and msg.denominator <= 256:
                timesigs.append((ticks, msg.numerator, msg.denominator, chunk_key))
        elif kind == "key_signature":
            sharps, minor = _key_signature_encode[msg.key]
            keysigs.append((ticks, sharps, minor, chunk_key))
    for (channel, pitch), queue in pending.items():
        for start, vel in queue:
            notes.append((start, index, channel, pitch, ticks if ticks > start else start + 1, vel))


def dump(path, meta=False):
    """The dump as a string; raises whatever mido raises on a file it refuses."""
    mid = mido.MidiFile(path)
    div, tpq, fps, tpf = division_text(mid)
    notes, tempos, timesigs, keysigs = [], [], [], []
    for i, track in enumerate(mid.tracks):
        read_track(i, track, notes, tempos, timesigs, keysigs, i if mid.type == 2 else -1)
    # Stable sorts by tick keep ties in file order (chunk, then position), as the C score does.
    tempos.sort(key=lambda e: e[0])
    timesigs.sort(key=lambda e: e[0])
    keysigs.sort(key=lambda e: e[0])
    notes.sort()
    out = ["# format=%d tracks=%d division=%s" % (mid.type, len(mid.tracks), div)]

    def track_text(key):
        return "all" if key < 0 else str(key)

    if meta:
        for t, usec, key in tempos:
            out.append("# tempo\ttick=%d\tusec_per_quarter=%d\tbpm=%.3f\ttrack=%s"
                       % (t, usec, 60000000.0 / usec, track_text(key)))
        for t, num, den, key in timesigs:
            out.append("# timesig\ttick=%d\t%d/%d\ttrack=%s" % (t, num, den, track_text(key)))
        for t, sharps, minor, key in keysigs:
            out.append("# keysig\ttick=%d\tsharps=%d\t%s\ttrack=%s"
                       % (t, sharps, "minor" if minor else "major", track_text(key)))
    maps = {}
    for start, track, channel, pitch, end, vel in notes:
        key = track if mid.type == 2 else -1
        if key not in maps:
            maps[key] = [(t, u) for t, u, k in tempos if k == key]
        m = maps[key]
        out.append("%d\t%d\t%d\t%d\t%d\t%d\t%.6f\t%.6f" % (
            track, channel, pitch, start, end, vel,
            ticks_to_sec(m, tpq, fps, tpf, start), ticks_to_sec(m, tpq, fps, tpf, end)))
    return "\n".join(out) + "\n"


def main(argv):
    args = [a for a in argv[1:] if a != "--meta"]
    if len(args) != 1 or any(a.startswith("-") for a in args):
        sys.stderr.write("usage: mido_notes.py FILE.mid [--meta]\n")
        return 2
    try:
        text = dump(args[0], "--meta" in argv[1:])
    except Exception as e:  # mido raises many kinds on damaged files
        sys.stderr.write("mido_notes.py: %s: %s: %s\n" % (args[0], type(e).__name__, e))
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
