#!/usr/bin/python3
"""Writes the MIDI test fixtures of tests/data/ byte by byte (no MIDI library).

Each fixture is a tiny Standard MIDI File (or a damaged one) exercising one
case of the reader; tests/test_midi.c holds the expected result of each and
tests/test_notes_vs_mido.py compares `tunegan notes` with mido on them.
Run from anywhere: tools/make_midi_fixtures.py [OUTPUT_DIR]
The output is deterministic; the files are committed.
"""
import os
import random
import struct
import sys


def vlq(n):
    """A variable-length quantity (n < 2**28 for a valid one)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def ev(delta, *data):
    """An event: delta time then raw bytes."""
    return vlq(delta) + bytes(data)


def meta(delta, kind, data=b""):
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(data)) + bytes(data)


def eot(delta=0):
    return meta(delta, 0x2F)


def tempo(delta, usec):
    return meta(delta, 0x51, usec.to_bytes(3, "big"))


def timesig(delta, num, den_log2):
    return meta(delta, 0x58, bytes([num, den_log2, 24, 8]))


def keysig(delta, sharps, minor):
    return meta(delta, 0x59, bytes([sharps & 0xFF, minor]))


def name(delta, text):
    return meta(delta, 0x03, text.encode("latin-1"))


def on(delta, ch, pitch, vel):
    return ev(delta, 0x90 | ch, pitch, vel)


def off(delta, ch, pitch, vel=64):
    return ev(delta, 0x80 | ch, pitch, vel)


def chunk(kind, body, length=None):
    return kind + struct.pack(">I", len(body) if length is None else length) + body


def mtrk(*events, length=None):
    return chunk(b"MTrk", b"".join(events), length)


def mthd(fmt, ntrks, division, length=6):
    return b"MThd" + struct.pack(">IHHH", length, fmt, ntrks, division)


def smf(fmt, division, *tracks, ntrks=None):
    return mthd(fmt, len(tracks) if ntrks is None else ntrks, division) + b"".join(tracks)


FIXTURES = {}


def fixture(fn):
    FIXTURES[fn.__name__] = fn
    return fn


# --------------------------------------------------------------------------
# Well-formed files.

@fixture
def format0():
    """Format 0: one track, two channels, all three maps, a program change."""
    return smf(0, 96, mtrk(
        name(0, "Solo"), tempo(0, 500000), timesig(0, 4, 2), keysig(0, 0, 0),
        ev(0, 0xC0, 5),
        on(0, 0, 60, 100), off(96, 0, 60), on(0, 0, 64, 90), off(96, 0, 64),
        on(0, 1, 60, 80), on(0, 1, 64, 80), on(0, 1, 67, 80),
        off(192, 1, 60), off(0, 1, 64), off(0, 1, 67), eot()))


@fixture
def format1():
    """Format 1: a conductor track with two tempos, then two named tracks."""
    conductor = mtrk(tempo(0, 600000), timesig(0, 3, 2), keysig(0, -2, 1),
                     tempo(1920, 400000), eot())
    melody = mtrk(name(0, "Melody"), ev(0, 0xC0, 40),
                  on(0, 0, 72, 100), off(480, 0, 72), on(0, 0, 74, 100), off(480, 0, 74),
                  on(960, 0, 76, 110), off(960, 0, 76), eot())
    bass = mtrk(name(0, "Bass"), ev(0, 0xC1, 32),
                on(0, 1, 36, 90), off(1440, 1, 36), on(480, 1, 43, 90), off(1440, 1, 43), eot())
    return smf(1, 480, conductor, melody, bass)


@fixture
def format2():
    """Format 2: two independent patterns, each with its own tempo."""
    a = mtrk(tempo(0, 1000000), on(0, 0, 60, 100), off(240, 0, 60), eot())
    b = mtrk(tempo(0, 250000), on(0, 0, 62, 100), off(240, 0, 62), eot())
    return smf(2, 240, a, b)


@fixture
def tempo_map_f1():
    """Format 1 with tempo changes in three different tracks: one merged map."""
    t0 = mtrk(tempo(0, 500000), eot())
    t1 = mtrk(on(0, 0, 60, 100), tempo(960, 1000000), off(0, 0, 60), on(0, 0, 62, 100),
              off(960, 0, 62), eot())
    t2 = mtrk(on(1920, 1, 64, 100), tempo(0, 250000), off(960, 1, 64), eot())
    return smf(1, 480, t0, t1, t2)


@fixture
def tempo_map_f2():
    """Format 2 with tempo changes inside each track: one map per track."""
    a = mtrk(tempo(0, 500000), on(0, 0, 60, 100), tempo(480, 1000000), off(480, 0, 60), eot())
    b = mtrk(on(0, 0, 60, 100), tempo(240, 250000), off(720, 0, 60), eot())
    return smf(2, 480, a, b)


@fixture
def program_shared():
    """Format 1: program changes in one track set the program of notes in others."""
    t0 = mtrk(ev(0, 0xC0, 20), ev(200, 0xC0, 30), eot())
    t1 = mtrk(on(100, 0, 60, 100), off(50, 0, 60), eot())
    t2 = mtrk(on(300, 0, 62, 100), off(50, 0, 62), eot())
    return smf(1, 96, t0, t1, t2)


@fixture
def running_status():
    """Running status for note-ons (velocity 0 as note-off) and controllers."""
    return smf(0, 96, mtrk(
        ev(0, 0x90, 60, 100), ev(0, 64, 100), ev(0, 67, 100),
        ev(96, 60, 0), ev(0, 64, 0), ev(0, 67, 0),
        ev(0, 0xB0, 7, 100), ev(0, 10, 64), ev(0, 11, 127),
        ev(0, 0x90, 72, 80), ev(48, 72, 0), eot()))


@fixture
def running_status_meta():
    """A data byte right after a meta event: read with the earlier running status."""
    return smf(0, 96, mtrk(
        ev(0, 0x90, 60, 100), meta(0, 0x01, b"text"), ev(96, 60, 0),
        ev(0, 62, 100), ev(96, 62, 0), eot()))


@fixture
def running_status_sysex():
    """A data byte right after a sysex event: read with the earlier running status."""
    return smf(0, 96, mtrk(
        ev(0, 0x90, 60, 100), ev(0, 0xF0, 3, 0x7E, 0x01, 0xF7), ev(96, 60, 0),
        ev(0, 62, 100), ev(96, 62, 0), eot()))


@fixture
def running_status_none():
    """A track that starts with a data byte: no running status, the track is damaged."""
    good = mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot())
    bad = mtrk(ev(0, 64, 100), off(96, 0, 64), eot())
    return smf(1, 96, good, bad)


@fixture
def vlq_sizes():
    """Delta times of 1, 2, 3 and 4 bytes, at the edges of each size."""
    return smf(0, 96, mtrk(
        on(0x7F, 0, 60, 100), off(0x80, 0, 60),           # 1 byte, 2 bytes
        on(0x3FFF, 0, 61, 100), off(0x4000, 0, 61),       # 2 bytes, 3 bytes
        on(0x1FFFFF, 0, 62, 100), off(0x200000, 0, 62),   # 3 bytes, 4 bytes
        on(0, 0, 63, 100), off(0x0FFFFFFF, 0, 63), eot()))


@fixture
def vlq_5bytes():
    """A delta time of 5 bytes: the track is damaged there."""
    return smf(0, 96, mtrk(
        on(0, 0, 60, 100), off(96, 0, 60),
        b"\x80\x80\x80\x80\x00\x90\x3E\x64", off(96, 0, 62), eot()))


@fixture
def channel_messages():
    """Every channel message with its data length, between notes."""
    return smf(0, 96, mtrk(
        ev(0, 0xC3, 10),              # program change: 1 byte
        on(0, 3, 60, 100),
        ev(10, 0xA3, 60, 50),         # poly aftertouch: 2 bytes
        ev(10, 0xB3, 1, 64),          # control change: 2 bytes
        ev(10, 0xD3, 70),             # channel pressure: 1 byte
        ev(10, 0xE3, 0x00, 0x40),     # pitch bend: 2 bytes
        ev(10, 0x83, 60, 0),          # note-off: 2 bytes
        ev(0, 0xD3, 20), ev(0, 30),   # channel pressure, running status
        ev(0, 0xC3, 11), ev(0, 12),   # program change, running status
        on(0, 3, 62, 90), off(50, 3, 62), eot()))


@fixture
def sysex():
    """Sysex events: a whole F0 message, and one split in two packets (F0, then F7)."""
    return smf(0, 96, mtrk(
        ev(0, 0xF0, 5, 0x7E, 0x7F, 0x09, 0x01, 0xF7),
        on(0, 0, 60, 100),
        ev(10, 0xF0, 3, 0x43, 0x12, 0x00),
        ev(10, 0xF7, 2, 0x43, 0xF7),
        off(76, 0, 60), eot()))


@fixture
def sysex_escape():
    """An F7 escape carrying bytes that are not sysex (a song select, F3 01)."""
    return smf(0, 96, mtrk(
        on(0, 0, 60, 100), ev(10, 0xF7, 2, 0xF3, 0x01), off(86, 0, 60), eot()))


@fixture
def metas():
    """Every common meta event; only name, tempo, meters and keys are kept."""
    return smf(1, 96, mtrk(
        meta(0, 0x00, b"\x00\x01"), meta(0, 0x01, b"text"), meta(0, 0x02, b"(c) nobody"),
        name(0, "Lead"), meta(0, 0x04, b"Flute"), meta(0, 0x05, b"la"), meta(0, 0x06, b"A"),
        meta(0, 0x07, b"cue"), meta(0, 0x20, b"\x00"), meta(0, 0x21, b"\x00"),
        tempo(0, 400000), meta(0, 0x54, b"\x60\x00\x00\x00\x00"), timesig(0, 6, 3),
        keysig(0, 3, 1), meta(0, 0x7F, b"\x00\x00\x41"),
        on(0, 0, 69, 100), name(10, "Second name"), off(86, 0, 69), eot()))


@fixture
def meta_bad():
    """Meta events with wrong lengths or impossible values: each skipped."""
    return smf(0, 96, mtrk(
        meta(0, 0x51, b"\x07\xA1"),              # tempo of 2 bytes
        meta(0, 0x58, b"\x04\x02\x18"),          # time signature of 3 bytes
        meta(0, 0x59, b"\x01\x00\x00"),          # key signature of 3 bytes
        keysig(0, 9, 0),                         # 9 sharps
        timesig(0, 4, 9),                        # a 512th beat
        timesig(0, 0, 2),                        # 0 beats
        tempo(0, 0),                             # 0 microseconds
        tempo(0, 750000),                        # the one that counts
        on(0, 0, 60, 100), off(96, 0, 60), eot()))


@fixture
def velocity0():
    """Note-on with velocity 0 ends a note, with and without running status."""
    return smf(0, 96, mtrk(
        on(0, 0, 60, 100), on(96, 0, 60, 0), on(0, 0, 62, 100), ev(96, 0x90, 62, 0),
        eot()))


@fixture
def overlap():
    """Overlapping notes of one key and channel, paired first in first out."""
    return smf(0, 96, mtrk(
        on(0, 0, 60, 100), on(10, 0, 60, 80), off(10, 0, 60), off(10, 0, 60),
        on(20, 0, 60, 70), on(0, 0, 60, 71), off(10, 0, 60), off(10, 0, 60),
        on(0, 0, 64, 90), on(10, 0, 64, 91), off(10, 0, 64), off(100, 0, 64), eot()))


@fixture
def open_at_end():
    """Notes still sounding when the track ends: closed at its last tick."""
    return smf(0, 96, mtrk(
        on(100, 0, 60, 100), on(0, 1, 48, 100), off(50, 1, 48), on(350, 0, 64, 100),
        eot(0)))


@fixture
def orphan_off():
    """Note-offs with no sounding note."""
    return smf(0, 96, mtrk(
        off(0, 0, 60), on(10, 0, 62, 100), off(10, 0, 62), off(10, 0, 62), on(0, 0, 64, 0),
        eot()))


@fixture
def zero_length():
    """A note-on and its note-off at the same tick: lengthened to 1 tick."""
    return smf(0, 96, mtrk(
        on(100, 0, 60, 100), off(0, 0, 60), on(0, 0, 62, 100), off(96, 0, 62), eot()))


@fixture
def smpte():
    """SMPTE division: 25 frames per second, 40 ticks per frame (1000 ticks per second)."""
    return smf(0, 0xE728, mtrk(tempo(0, 1000000), on(0, 0, 60, 100), off(1500, 0, 60), eot()))


@fixture
def no_eot():
    """A track without end-of-track (its length is right), then a normal track."""
    a = mtrk(on(0, 0, 60, 100), off(96, 0, 60), on(0, 0, 62, 100))
    b = mtrk(on(0, 1, 40, 100), off(192, 1, 40), eot())
    return smf(1, 96, a, b)


@fixture
def trailing_garbage():
    """Bytes after the last chunk that form no chunk."""
    return smf(0, 96, mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot())) + b"\x00\x01junk\xff"


@fixture
def only_mthd():
    """A header announcing one track, and nothing else."""
    return mthd(1, 1, 96)


@fixture
def only_mthd_empty():
    """A header announcing no tracks, and nothing else: an empty song."""
    return mthd(1, 0, 96)


@fixture
def mthd_long():
    """An MThd whose length is 8: two extra header bytes to skip."""
    return (mthd(0, 1, 96, length=8) + b"\x00\x00" +
            mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot()))


# --------------------------------------------------------------------------
# Damaged files the reader recovers.

@fixture
def unknown_chunk():
    """Chunks of unknown type before, between and after the track chunks."""
    t = mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot())
    return (mthd(1, 2, 96) + chunk(b"XFIH", b"\x01\x02\x03\x04") + t +
            chunk(b"abcd", b"") + t + chunk(b"XFKM", b"\x00" * 5))


@fixture
def length_over_last():
    """The last track's length field claims 1000 bytes; 12 are present."""
    body = on(0, 0, 60, 100) + off(96, 0, 60) + eot()
    return mthd(0, 1, 96) + chunk(b"MTrk", body, 1000)


@fixture
def length_over_middle():
    """The first track claims 1000 bytes; its end-of-track is followed by the next chunk."""
    body = on(0, 0, 60, 100) + off(96, 0, 60) + eot()
    return (mthd(1, 2, 96) + chunk(b"MTrk", body, 1000) +
            mtrk(on(0, 1, 50, 100), off(96, 1, 50), eot()))


@fixture
def length_under():
    """The first track's length field is 8 bytes short: its events run on."""
    body = on(0, 0, 60, 100) + off(96, 0, 60) + on(0, 0, 62, 100) + off(96, 0, 62) + eot()
    return (mthd(1, 2, 96) + chunk(b"MTrk", body, len(body) - 8) +
            mtrk(on(0, 1, 50, 100), off(96, 1, 50), eot()))


@fixture
def length_cut():
    """A length field ending inside an event, with the next chunk right there."""
    body = on(0, 0, 60, 100) + off(96, 0, 60) + on(0, 0, 62, 100) + b"\x60\x80\x3E"
    return (mthd(1, 2, 96) + chunk(b"MTrk", body) +
            mtrk(on(0, 1, 50, 100), off(96, 1, 50), eot()))


@fixture
def eot_early():
    """Bytes after the end-of-track event inside its chunk (padding)."""
    body = on(0, 0, 60, 100) + off(96, 0, 60) + eot() + b"\x00\x00\x00\x00"
    return mthd(0, 1, 96) + chunk(b"MTrk", body)


@fixture
def count_high():
    """MThd announces 3 tracks; 2 are present."""
    t = mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot())
    return smf(1, 96, t, t, ntrks=3)


@fixture
def count_low():
    """MThd announces 1 track; 2 are present (both are read)."""
    t0 = mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot())
    t1 = mtrk(on(0, 1, 64, 100), off(96, 1, 64), eot())
    return smf(1, 96, t0, t1, ntrks=1)


@fixture
def rmid():
    """A RIFF RMID wrapper around a format 0 file, with an INFO list after it."""
    inner = smf(0, 96, mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot()))
    data = chunk(b"data", b"")[:4] + struct.pack("<I", len(inner)) + inner
    if len(inner) % 2:
        data += b"\x00"
    info = b"LIST" + struct.pack("<I", 4) + b"INFO"
    body = b"RMID" + data + info
    return b"RIFF" + struct.pack("<I", len(body)) + body


@fixture
def truncated():
    """A file cut inside the last event (a note-on missing its velocity)."""
    full = smf(0, 96, mtrk(on(0, 0, 60, 100), off(96, 0, 60), on(0, 0, 62, 100),
                           on(48, 0, 64, 100), eot()))
    return full[:-5]


@fixture
def bad_status():
    """An undefined system message (F4) where an event should be: skipped."""
    return smf(0, 96, mtrk(on(0, 0, 60, 100), off(96, 0, 60), ev(0, 0xF4), on(0, 0, 62, 100),
                           eot()))


def eight_notes(strays):
    """Eight notes of channel 0 (each status byte written out), with the
    events of strays[i] (raw, after their delta times) before note i."""
    events = []
    for i in range(8):
        events += strays[i] if i < len(strays) else []
        events += [on(0, 0, 60 + i, 100), off(48, 0, 60 + i)]
    return smf(0, 96, mtrk(*events, eot()))


@fixture
def system_realtime():
    """Real-time bytes (F8, FA, FB, FC, FE) as events between notes: each skipped,
    its delta time kept."""
    return eight_notes([[], [ev(10, 0xF8)], [ev(0, 0xFA), ev(5, 0xFB)], [ev(0, 0xFC)],
                        [ev(7, 0xFE)], [ev(0, 0xF8), ev(0, 0xF8)]])


@fixture
def system_common():
    """System common messages between notes with their MIDI 1.0 data bytes: F1 and
    F3 one, F2 two, F6 none; each skipped with its data."""
    return eight_notes([[], [ev(3, 0xF1, 0x21)], [ev(0, 0xF2, 0x10, 0x02)], [],
                        [ev(0, 0xF3, 0x05)], [ev(9, 0xF6)]])


@fixture
def system_undefined():
    """The undefined system bytes F4, F5, F9 and FD between notes: each skipped."""
    return eight_notes([[], [ev(0, 0xF4)], [ev(2, 0xF5)], [], [ev(0, 0xF9)], [], [ev(0, 0xFD)]])


@fixture
def system_running():
    """Running status across a clock byte (F8), and a clock byte inside a note-on
    (between its key and velocity): the notes go on."""
    return smf(0, 96, mtrk(on(0, 0, 60, 100), ev(48, 60, 0), ev(0, 0xF8), ev(0, 62, 100),
                           ev(48, 62, 0), ev(0, 0x90, 64, 0xF8, 100), ev(48, 64, 0), eot()))


# --------------------------------------------------------------------------
# Files readable as MIDI that `data build` skips (src/data/check.c says why).

@fixture
def drums_only():
    """Notes on channel 10 (index 9) only, which the grid and perf tokenizers leave out."""
    return smf(0, 96, mtrk(on(0, 9, 36, 100), off(24, 9, 36), on(24, 9, 38, 100), off(24, 9, 38),
                           eot()))


@fixture
def long_silence():
    """Two notes 1000 seconds apart (120 bpm, 96 ticks per quarter): a silence no piece holds."""
    gap = 1000 * 2 * 96
    return smf(0, 96, mtrk(on(0, 0, 60, 100), off(96, 0, 60), on(gap, 0, 62, 100), off(96, 0, 62),
                           eot()))


@fixture
def no_notes_damaged():
    """A track whose first event is a data byte with no running status: no note is read."""
    return smf(0, 96, mtrk(ev(0, 60, 100), off(96, 0, 60), on(0, 0, 62, 100), off(96, 0, 62),
                           eot()))


# --------------------------------------------------------------------------
# Inputs found by fuzzing (fuzz/fuzz_midi.c) that once failed, kept as they were.

@fixture
def fuzz_smpte128():
    """SMPTE division byte 0x80 (128 frames per second): the writer refused to write it back."""
    return bytes.fromhex(
        "4d546864000000060001000280604d54726b000003e800903c6460803c4000ff2f00"
        "4d54726b0000000c029132646081324000ff2f00")


# --------------------------------------------------------------------------
# Files the reader refuses.

@fixture
def empty():
    """Zero bytes."""
    return b""


@fixture
def random_bytes():
    """200 random bytes (fixed seed)."""
    rng = random.Random(1234)
    data = bytes(rng.randrange(256) for _ in range(200))
    assert not data.startswith((b"MThd", b"RIFF"))
    return data


@fixture
def mthd_short():
    """An MThd cut after 10 bytes."""
    return mthd(1, 1, 96)[:10]


@fixture
def division_zero():
    """A division of 0 ticks per quarter note."""
    return smf(0, 0, mtrk(on(0, 0, 60, 100), off(96, 0, 60), eot()))


@fixture
def format3():
    """A header giving format 3, which does not exist."""
    return smf(3, 96, mtrk(eot()))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data")
    os.makedirs(out, exist_ok=True)
    for fname, fn in FIXTURES.items():
        data = fn()
        with open(os.path.join(out, fname + ".mid"), "wb") as f:
            f.write(data)
    print("wrote %d fixtures to %s" % (len(FIXTURES), os.path.normpath(out)))


if __name__ == "__main__":
    main()
