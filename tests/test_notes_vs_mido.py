#!/usr/bin/python3
"""`tunegan notes --meta` against the same dump written from mido's parse
(tools/mido_notes.py), on every fixture of tests/data and on every file of
../shared/data/nottingham/*/ when it is present.

Where mido and tunegan read a fixture differently by design, POLICY below says
why, and the test checks tunegan's documented result instead of comparing.
Every other fixture, and every Nottingham file, must give identical dumps.
Environment (set by ctest): TG_BIN, TG_TEST_DATA, TG_SHARED_DATA, TG_SOURCE_DIR.
Exits 77 (skipped) when mido is missing.
"""
import concurrent.futures
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("TG_SOURCE_DIR", os.path.join(HERE, ".."))
BIN = os.environ.get("TG_BIN", os.path.join(SOURCE, "build", "tunegan"))
TEST_DATA = os.environ.get("TG_TEST_DATA", os.path.join(HERE, "data"))
SHARED = os.environ.get("TG_SHARED_DATA", os.path.join(SOURCE, "..", "shared", "data"))

mido_notes = None  # imported in main(): needs python3-mido

# fixture: (why the readers differ, tunegan's exit status, its number of notes,
#           a piece of its stderr)
POLICY = {
    "bad_status.mid": ("mido refuses the undefined F4 system message; tunegan skips it", 0, 2,
                       "skipped 1 stray system message (the first, 0xF4, at byte 31)"),
    "count_high.mid": ("mido reads as many tracks as MThd announces and fails; tunegan reads "
                       "the chunks present", 0, 2, "MThd announces 3 tracks"),
    "count_low.mid": ("mido reads as many tracks as MThd announces (1); tunegan reads both "
                      "chunks present", 0, 2, "MThd announces 1 track but 2"),
    "division_zero.mid": ("mido accepts a division of 0; tunegan refuses it (no time "
                          "base)", 1, 0, "0 ticks per quarter note"),
    "empty.mid": ("both refuse; mido with EOFError", 1, 0, "empty file"),
    "eot_early.mid": ("mido parses the padding after end-of-track as events and fails; "
                      "tunegan ignores it", 0, 1, "ignored 4 bytes after the end-of-track"),
    "fuzz_smpte128.mid": ("mido needs all the declared bytes of track 0; tunegan reads to the "
                          "next chunk", 0, 2, "the length field says 1000 bytes"),
    "format3.mid": ("mido accepts format 3; tunegan refuses it", 1, 0, "format 3"),
    "length_cut.mid": ("mido reads past the declared length; tunegan drops the event the "
                       "length cuts", 0, 3, "track 0 ends inside an event at byte 34"),
    "length_over_last.mid": ("mido needs all the declared bytes; tunegan reads to the end",
                             0, 1, "the length field says 1000 bytes"),
    "length_over_middle.mid": ("mido needs all the declared bytes; tunegan finds the next "
                               "chunk after end-of-track", 0, 2, "the length field says 1000"),
    "length_under.mid": ("mido stops at the declared length; tunegan reads on to "
                         "end-of-track", 0, 3, "go on past its length field"),
    "meta_bad.mid": ("mido fails on a 2-byte tempo; tunegan skips bad meta events", 0, 1,
                     "skipped a tempo event at byte 22"),
    "mthd_short.mid": ("both refuse", 1, 0, "the MThd header ends at byte 10"),
    "no_notes_damaged.mid": ("mido refuses a data byte with no running status; tunegan skips the "
                             "rest of the track", 0, 0, "no running status"),
    "only_mthd.mid": ("mido fails looking for the announced track; tunegan reads an empty "
                      "song", 0, 0, "announces 1 track but 0"),
    "random_bytes.mid": ("both refuse", 1, 0, "no MThd header at byte 0"),
    "rmid.mid": ("mido does not unwrap RIFF RMID files; tunegan does", 0, 1, ""),
    "running_status_none.mid": ("mido refuses the file; tunegan skips the rest of the track",
                                0, 1, "no running status"),
    "running_status_sysex.mid": ("mido takes sysex as the running status; tunegan keeps the "
                                 "channel status", 0, 2, "a data byte follows a meta or sysex"),
    "system_running.mid": ("mido takes a clock byte (F8) as the running status and fails on "
                           "the data byte after it; tunegan keeps the note status", 0, 3,
                           "skipped 2 stray system messages (the first, 0xF8, at byte 30)"),
    "system_undefined.mid": ("mido refuses the undefined F4, F5, F9 and FD; tunegan skips them",
                             0, 8, "skipped 4 stray system messages (the first, 0xF4"),
    "sysex_escape.mid": ("mido refuses non-sysex bytes in an F7 escape; tunegan skips them",
                         0, 1, ""),
    "truncated.mid": ("mido fails at the end of the data; tunegan drops the cut event",
                      0, 2, "track 0 ends inside an event at byte 34"),
    "unknown_chunk.mid": ("mido fails on chunks other than MTrk; tunegan skips them", 0, 2,
                          "unknown type 'XFIH'"),
    "vlq_5bytes.mid": ("mido reads delta times of any length; tunegan stops the track at one "
                       "over 4 bytes", 0, 1, "a delta time longer than 4 bytes at byte 30"),
}


def run_tunegan(path):
    return run(BIN, "notes", "--meta", path)


def mido_dump(path):
    try:
        return mido_notes.dump(path, meta=True), None
    except Exception as e:  # mido raises many kinds on damaged files
        return None, "%s: %s" % (type(e).__name__, e)


def first_difference(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "(none)"
        y = lb[i] if i < len(lb) else "(none)"
        if x != y:
            return "line %d: tunegan '%s' vs mido '%s'" % (i + 1, x, y)
    return "no difference"


def compare(paths, pool, failures):
    """Compares every path; returns the number of files compared."""
    futures = [pool.submit(run_tunegan, p) for p in paths]
    for path, fut in zip(paths, futures):
        want, why = mido_dump(path)
        rc, out, err = fut.result()
        if want is None:
            failures.append("%s: mido refuses it (%s) but it has no entry in POLICY" % (path, why))
        elif rc != 0:
            failures.append("%s: tunegan failed: %s" % (path, err.strip()))
        elif out != want:
            failures.append("%s: dumps differ, %s" % (path, first_difference(out, want)))
    return len(paths)


def check_cli(failures):
    """The command's own behaviour, which needs no mido: messages and exit statuses."""
    missing = os.path.join(TEST_DATA, "no-such-file.mid")
    rc, out, err = run(BIN, "notes", missing)
    if rc != 1 or err != "tunegan: %s: no such file\n" % missing or out:
        failures.append("missing file: status %d, stderr '%s'" % (rc, err))
    bad = os.path.join(TEST_DATA, "mthd_short.mid")
    rc, out, err = run(BIN, "notes", bad)
    want = "tunegan: %s: the MThd header ends at byte 10, before its 14 bytes\n" % bad
    if rc != 1 or err != want or out:
        failures.append("damaged header: status %d, stderr '%s', want '%s'" % (rc, err, want))
    cut = os.path.join(TEST_DATA, "length_cut.mid")
    rc, out, err = run(BIN, "notes", cut)
    want = ("tunegan: warning: %s: track 0 ends inside an event at byte 34; the event is dropped"
            % cut)
    if rc != 0 or want not in err.splitlines() or len(out.splitlines()) != 4:
        failures.append("recovered file: status %d, stderr '%s'" % (rc, err))
    rc, out, err = run(BIN, "notes", "--help")
    if rc != 0 or "--meta" not in out or "# tempo" not in out or "track channel pitch" not in out:
        failures.append("--help: status %d" % rc)
    rc, out, err = run(BIN, "notes", "--bogus", bad)
    if rc != 1 or "unknown option '--bogus'" not in err or "'tunegan notes --help'" not in err or "usage:" in err:
        failures.append("unknown option: status %d, stderr '%s'" % (rc, err))
    rc, out, err = run(BIN, "notes")
    if rc != 1 or "expected one MIDI file" not in err:
        failures.append("no file: status %d, stderr '%s'" % (rc, err))
    print("command line checks done")


def run(*argv):
    p = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    global mido_notes
    if not os.access(BIN, os.X_OK):
        print("FAIL: %s is not built" % BIN)
        return 1
    failures = []
    check_cli(failures)
    try:
        sys.path.insert(0, os.path.join(SOURCE, "tools"))
        import mido_notes as module  # needs python3-mido
        mido_notes = module
    except ImportError as e:
        for f in failures:
            print("FAIL: " + f)
        if failures:
            return 1
        print("skipped: python3-mido is not installed (%s)" % e)
        return 77
    fixtures = sorted(glob.glob(os.path.join(TEST_DATA, "*.mid")))
    if not fixtures:
        print("FAIL: no fixtures in %s" % TEST_DATA)
        return 1
    plain = [f for f in fixtures if os.path.basename(f) not in POLICY]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        n = compare(plain, pool, failures)
        print("fixtures compared with mido: %d" % n)

        for name, (why, want_rc, want_notes, want_err) in sorted(POLICY.items()):
            path = os.path.join(TEST_DATA, name)
            if not os.path.exists(path):
                failures.append("%s: listed in POLICY but missing" % name)
                continue
            rc, out, err = run_tunegan(path)
            notes = sum(1 for line in out.splitlines() if line and not line.startswith("#"))
            mido_text, mido_err = mido_dump(path)
            agree = mido_text is not None and mido_text == out
            print("policy %-26s %s (mido: %s)" % (name, why, "same dump" if agree else
                                                   mido_err or "a different dump"))
            if rc != want_rc or notes != want_notes or want_err not in err:
                failures.append("%s: want status %d, %d notes, stderr with '%s'; got %d, %d, '%s'"
                                % (name, want_rc, want_notes, want_err, rc, notes, err.strip()))

        notts = os.path.join(SHARED, "nottingham")
        folders = sorted(d for d in glob.glob(os.path.join(notts, "*")) if os.path.isdir(d))
        if not folders:
            print("nottingham: skipped, %s is not present" % notts)
        for d in folders:
            files = sorted(glob.glob(os.path.join(d, "*.mid")))
            before = len(failures)
            n = compare(files, pool, failures)
            print("nottingham/%s: %d files compared, %d differ" % (os.path.basename(d), n,
                                                                    len(failures) - before))
    for f in failures[:30]:
        print("FAIL: " + f)
    if len(failures) > 30:
        print("... and %d more" % (len(failures) - 30))
    print("test_notes_vs_mido: %d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
