#!/usr/bin/python3
"""MusicXML written by `tunegan export`, read back by MuseScore 3.

Exports every file of the Nottingham test split (../shared/data, when
present), five pieces and one continuation of the bundled primer from the
bundled model (models/default, when present) and a few of the project's
MIDI fixtures; MuseScore 3 (mscore3, headless) converts them all back to
MIDI in one process (a JSON job file), and one to PDF and PNG as well, to
prove engraving works. Checks, for every file:
  - MuseScore prints no error while importing it;
  - per part, the notes MuseScore plays (pitch, onset and duration in grid
    steps, MuseScore's ticks converted through its ticks per quarter) equal
    the quantised notes the documented rule (include/tunegan.h,
    tg_musicxml_options) gives from the original file, as computed here
    from mido's parse, independently of the C code.
Prints how long MuseScore took. Exit 77 when mscore3 or mido is missing.
Environment (set by ctest): TG_BIN, TG_TEST_DATA, TG_SHARED_DATA, TG_SOURCE_DIR.
"""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

GRID = 12  # remi's steps per quarter, the exporter's default

try:
    import mido
except ImportError:
    print("skipped: python3-mido is not installed (seen by /usr/bin/python3)")
    sys.exit(77)

MSCORE = shutil.which("mscore3") or shutil.which("musescore3")
if not MSCORE:
    print("skipped: MuseScore 3 (Debian musescore3: mscore3) is not installed")
    sys.exit(77)

BIN = os.environ["TG_BIN"]
SRC = os.environ["TG_SOURCE_DIR"]
FIXTURES = os.environ["TG_TEST_DATA"]
SHARED = os.environ.get("TG_SHARED_DATA", os.path.join(SRC, "..", "shared", "data"))
sys.path.insert(0, os.path.join(SRC, "tools"))
import mido_notes  # noqa: E402  tunegan's reader policies on mido's parse

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def unit_of(grid):
    binary = 1
    while binary < 32 and grid % (binary * 2) == 0:
        binary *= 2
    return grid // binary


def read_parts(path):
    """Notes per part, in tunegan's track order (chunk, then channel): lists of
    (start_ticks, end_ticks, pitch) paired as tunegan's reader pairs them."""
    mid = mido.MidiFile(path)
    notes = []
    for i, track in enumerate(mid.tracks):
        mido_notes.read_track(i, track, notes, [], [], [], -1)
    parts = collections.defaultdict(list)
    for start, chunk, channel, pitch, end, _vel in notes:
        parts[(chunk, channel)].append((start, end, pitch))
    return mid.ticks_per_beat, [parts[k] for k in sorted(parts)]


def quantised(notes, tpq, grid=GRID):
    """The documented rule: onset and end to the nearest unit (ties later),
    at least one unit long; one pitch never overlaps itself (a note starting
    with another of its pitch merges into the longer, an earlier one ends
    where the next starts). Sorted (pitch, start, end) in grid steps."""
    unit = unit_of(grid)
    per_quarter = grid // unit

    def steps(ticks):
        return (ticks * per_quarter * 2 + tpq) // (2 * tpq) * unit

    q = []
    for start, end, pitch in notes:
        s, e = steps(start), steps(end)
        q.append([pitch, s, max(e, s + unit)])
    q.sort(key=lambda n: (n[0], n[1], -n[2]))
    kept = []
    for n in q:
        if kept and kept[-1][0] == n[0] and kept[-1][1] == n[1]:
            continue
        if kept and kept[-1][0] == n[0] and n[1] < kept[-1][2]:
            kept[-1][2] = n[1]
        kept.append(n)
    return sorted(tuple(n) for n in kept)


def musescore_parts(mid_path, staves):
    """MuseScore's playback MIDI: one track per staff after the tempo track;
    staves[i] staves make part i. Notes as sorted (pitch, start, end) in steps."""
    tpq, tracks = read_parts_by_chunk(mid_path)
    out, at = [], 1
    for n in staves:
        notes = []
        for chunk in range(at, at + n):
            notes += tracks.get(chunk, [])
        at += n
        out.append(sorted((p, round(s * GRID / tpq), round(e * GRID / tpq)) for s, e, p in notes))
    return out


def read_parts_by_chunk(path):
    mid = mido.MidiFile(path)
    notes = []
    for i, track in enumerate(mid.tracks):
        mido_notes.read_track(i, track, notes, [], [], [], -1)
    tracks = collections.defaultdict(list)
    for start, chunk, _channel, pitch, end, _vel in notes:
        tracks[chunk].append((start, end, pitch))
    return mid.ticks_per_beat, tracks


def staves_per_part(xml_path):
    root = ET.parse(xml_path).getroot()
    out = []
    for part in root.findall("part"):
        s = part.find("measure/attributes/staves")
        out.append(int(s.text) if s is not None else 1)
    return out


def inputs(tmp):
    """(name, MIDI path) of everything to export."""
    files = []
    split = os.path.join(SHARED, "nottingham", "split.tsv")
    if os.path.exists(split):
        with open(split) as f:
            for line in f:
                cols = line.split()
                if len(cols) == 2 and cols[1] == "test":
                    files.append(("nottingham-" + cols[0][:-4], os.path.join(SHARED, "nottingham", "full", cols[0])))
        print("Nottingham test split: %d files" % len(files))
    else:
        print("Nottingham not found beside the project (%s): its part skipped" % split)
    model = os.path.join(SRC, "models", "default", "model.safetensors")
    if os.path.exists(model):
        gen = os.path.join(tmp, "gen")
        run([BIN, "generate", "--model", model, "-o", gen, "--num", "5", "--bars", "16", "--seed", "1",
             "--threads", "1"])
        primer = os.path.join(tmp, "primer.mid")
        run([BIN, "detokenize", "-o", primer, os.path.join(SRC, "assets", "primers", "twinkle.txt")])
        run([BIN, "generate", "--model", model, "-o", os.path.join(tmp, "cont"), "--primer", primer,
             "--primer-bars", "4", "--bars", "12", "--num", "1", "--seed", "1", "--threads", "1"])
        files += [("generated-%d" % i, os.path.join(gen, "sample-%03d.mid" % i)) for i in range(5)]
        files.append(("continuation", os.path.join(tmp, "cont", "sample-000.mid")))
    else:
        print("no bundled model (%s): generated samples skipped" % model)
    for f in ("format0.mid", "format1.mid", "overlap.mid", "tempo_map_f1.mid", "drums_only.mid",
              "program_shared.mid", "metas.mid"):
        if os.path.exists(os.path.join(FIXTURES, f)):
            files.append(("fixture-" + f[:-4], os.path.join(FIXTURES, f)))
    crafted(os.path.join(tmp, "crafted.mid"))
    files.append(("crafted", os.path.join(tmp, "crafted.mid")))  # last: also engraved to PDF and PNG
    return files


def crafted(path):
    """A file of what the layout must get right: a pickup bar (1/4 then 4/4),
    3/4 -> 6/8, a meter change inside a bar, a key change, triplets (rounded
    to 16ths), one pitch overlapping itself, a piano part on a grand staff
    with six voices at once (two staves above middle C), and drums."""
    tpq = 480
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    meta = mido.MidiTrack()
    events = [(0, mido.MetaMessage("time_signature", numerator=1, denominator=4)),
              (tpq, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
              (0, mido.MetaMessage("key_signature", key="Bb")),
              (9 * tpq, mido.MetaMessage("time_signature", numerator=3, denominator=4)),
              (12 * tpq, mido.MetaMessage("time_signature", numerator=6, denominator=8)),
              (16 * tpq, mido.MetaMessage("key_signature", key="E")),
              (16 * tpq, mido.MetaMessage("time_signature", numerator=2, denominator=2)),  # inside a 6/8 bar
              (24 * tpq, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    add_track(meta, events)
    mid.tracks.append(meta)
    piano, drums = [], []
    for i in range(6):  # staggered, all sounding together: six voices
        piano.append((tpq + i * tpq // 4, 5 * tpq, 60 + 2 * i, 0))
    for i in range(8):  # a bass line below middle C
        piano.append((tpq + i * tpq, tpq + (i + 1) * tpq, 40 + i, 0))
    for i in range(9):  # triplet eighths from bar 6
        piano.append((9 * tpq + i * tpq // 3, 9 * tpq + (i + 1) * tpq // 3, 72 + i % 3, 0))
    piano.append((12 * tpq, 14 * tpq, 67, 0))
    piano.append((13 * tpq, 15 * tpq, 67, 0))  # overlaps itself: the first ends at 13
    piano.append((15 * tpq + 5, 23 * tpq - 7, 55, 0))  # across the meter change
    for i in range(16):
        drums.append((tpq + i * tpq // 2, tpq + i * tpq // 2 + 60, 42 if i % 2 else 36, 9))
    for notes in (piano, drums):
        track = mido.MidiTrack()
        msgs = []
        for start, end, pitch, ch in notes:
            msgs.append((start, mido.Message("note_on", channel=ch, note=pitch, velocity=80)))
            msgs.append((end, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
        add_track(track, msgs)
        mid.tracks.append(track)
    mid.save(path)


def add_track(track, events):
    """(absolute tick, message) pairs into track, in time order (note-offs first at a tick)."""
    events.sort(key=lambda e: (e[0], 0 if e[1].type == "note_off" else 1))
    at = 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - at))
        at = tick


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def import_errors(log):
    """MuseScore's messages per input file: lines after 'convert <FILE>...'."""
    errors = collections.defaultdict(list)
    current = None
    for line in log.splitlines():
        m = re.match(r"convert <(.*)>\.\.\.", line)
        if m:
            current = m.group(1)
        elif current and re.search(r"error", line, re.I):
            errors[current].append(line.strip())
    return errors


def musescore(tmp, name, jobs):
    """Runs one MuseScore process over a job file; returns what it printed."""
    if not jobs:
        return ""
    path = os.path.join(tmp, name + ".jobs.json")
    with open(path, "w") as f:
        json.dump(jobs, f)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.time()
    r = subprocess.run([MSCORE, "-j", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, env=env)
    print("MuseScore converted %d files (%s) in %.1f s, one process" % (len(jobs), name, time.time() - t0))
    if r.returncode != 0:
        fail("mscore3 -j %s exited %d:\n%s" % (path, r.returncode, r.stdout[-2000:]))
    return r.stdout


def main():
    tmp = tempfile.mkdtemp(prefix="tg_musicxml_")
    try:
        files = inputs(tmp)
        jobs = []
        for name, mid in files:
            xml = os.path.join(tmp, name + ".musicxml")
            run([BIN, "export", mid, "-o", xml])
            jobs.append({"in": xml, "out": os.path.join(tmp, name + ".back.mid")})
        jobs[-1]["out"] = [jobs[-1]["out"], os.path.join(tmp, "engraved.pdf"), os.path.join(tmp, "engraved.png")]
        nottingham = [j for (name, _), j in zip(files, jobs) if name.startswith("nottingham-")]
        others = [j for (name, _), j in zip(files, jobs) if not name.startswith("nottingham-")]
        log = musescore(tmp, "nottingham", nottingham) + musescore(tmp, "others", others)
        errors = import_errors(log)
        pdf = os.path.join(tmp, "engraved.pdf")
        if not (os.path.exists(pdf) and open(pdf, "rb").read(5) == b"%PDF-"):
            fail("MuseScore wrote no PDF of %s" % files[-1][0])
        if not any(f.startswith("engraved") and f.endswith(".png") for f in os.listdir(tmp)):
            fail("MuseScore wrote no PNG of %s" % files[-1][0])
        notes_checked = 0
        for (name, mid), job in zip(files, jobs):
            xml = job["in"]
            if errors.get(xml):
                fail("%s: MuseScore: %s" % (name, "; ".join(errors[xml][:3])))
            back = os.path.join(tmp, name + ".back.mid")
            if not os.path.exists(back):
                fail("%s: MuseScore wrote no MIDI" % name)
                continue
            tpq, parts = read_parts(mid)
            want = [quantised(p, tpq) for p in parts]
            staves = staves_per_part(xml)
            if not want:
                want = [[]]
            if len(staves) != len(want):
                fail("%s: %d parts written, %d tracks with notes" % (name, len(staves), len(want)))
                continue
            got = musescore_parts(back, staves)
            for i, (w, g) in enumerate(zip(want, got)):
                notes_checked += len(w)
                if w != g:
                    missing = sorted(set(w) - set(g))[:5]
                    extra = sorted(set(g) - set(w))[:5]
                    fail("%s part %d: %d notes wanted, MuseScore plays %d; (pitch, start, end) missing %s, extra %s"
                         % (name, i + 1, len(w), len(g), missing, extra))
        print("%d files, %d notes compared with MuseScore's playback, %d failures"
              % (len(files), notes_checked, len(failures)))
    finally:
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
