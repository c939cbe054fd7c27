#!/usr/bin/python3
"""rerank_pick.py: the choices of `--rerank N` under several scoring rules,
from the candidates and scores rerank.sh wrote, and their measures.

    /usr/bin/python3 experiments/any-track/rerank_pick.py acc|infill OUT_DIR CONFIG [N ...]

CONFIG is a folder name of rerank.sh (e.g. acc-t1.0-s1). For each rule and
N (default 1 4 8) the best of each tune's first N candidates (the lowest
index on ties, as the program) is linked into OUT_DIR/CONFIG-pick/RULE-N/,
then measured: acc: `tunegan eval --melody-track 0` against the real tunes
(harmonic fit, per piece, music statistics), the chords' own statistics
below and the fresh critic, paired, on the whole pieces (critic seeds 1-3:
can it tell the accompanied tunes from the real ones?); infill: `tunegan critic --paired --bars 8` against the real tunes
(critic seeds 1, 2, 3 and their mean). Prints one line per rule and N.

Scores (nats): channel = log p(given | written), direct = log p(written |
given), over ctok and dtok tokens. Rules:
  channel      channel alone
  ch+0.5d      channel + 0.5 direct
  ch+d         channel + direct (the program's default weight, 1)
  ch+2d        channel + 2 direct
  direct       direct alone (the candidate's own likelihood)
  direct-tok   direct per token
  per-token    both per token, summed (accompany --rerank-per-token)
Chord statistics (mido; the first note-bearing track is the melody, the
others the accompaniment): accompaniment notes per bar, onsets per bar,
notes per onset, distinct pitch-class sets per tune, the share of onsets
taking the tune's most frequent set.
"""
import collections
import os
import re
import subprocess
import sys

import mido

RULES = {
    "channel": lambda c, d, m, n: c,
    "ch+0.5d": lambda c, d, m, n: c + 0.5 * d,
    "ch+d": lambda c, d, m, n: c + d,
    "ch+2d": lambda c, d, m, n: c + 2 * d,
    "direct": lambda c, d, m, n: d,
    "direct-tok": lambda c, d, m, n: d / max(n, 1),
    "per-token": lambda c, d, m, n: c / max(m, 1) + d / max(n, 1),
}
BIN = os.environ.get("TUNEGAN_BIN", "build/tunegan")


def read_log(path):
    """{tune: {k: (channel, direct, ctok, dtok)}}"""
    out = collections.defaultdict(dict)
    name = None
    for line in open(path):
        m = re.match(r"^(\S+?)(?:-(\d{3}))?\.mid: ", line)  # no -NNN: rerank.sh with C = 1
        if m:
            name = (os.path.basename(m.group(1)) + ".mid", int(m.group(2) or 0))
            continue
        m = re.match(r"^\s+log p\(given \| written\) (\S+) over (\d+) tokens, log p\(written \| given\) (\S+) over (\d+) tokens", line)
        if m and name:
            out[name[0]][name[1]] = (float(m.group(1)), float(m.group(3)), int(m.group(2)), int(m.group(4)))
            name = None
    return out


def pick(cands, n, rule):
    best, top = 0, None
    for k in range(n):
        if k not in cands:
            return None
        s = RULES[rule](*cands[k])
        if top is None or s > top:
            best, top = k, s
    return best


def read_notes(path):
    """(tracks, bar, tpq): each note-bearing track's notes as (start, end,
    pitch) in ticks, in the order they end; the bar's length in ticks from the
    time signature at tick 0 (4/4 without one); ticks per quarter."""
    mf = mido.MidiFile(path)
    tpq = mf.ticks_per_beat
    bar = 4 * tpq
    tracks = []
    for tr in mf.tracks:
        t, on, notes = 0, {}, []
        for msg in tr:
            t += msg.time
            if msg.type == "time_signature" and t == 0:
                bar = tpq * 4 * msg.numerator // msg.denominator
            if msg.type == "note_on" and msg.velocity > 0:
                on[msg.note] = t
            elif msg.type in ("note_off", "note_on") and msg.note in on:
                notes.append((on.pop(msg.note), t, msg.note))
        if notes:
            tracks.append(notes)
    return tracks, bar, tpq


def chord_stats(folder):
    per_bar, onsets_bar, per_onset, distinct, top = [], [], [], [], []
    for f in sorted(os.listdir(folder)):
        mf = mido.MidiFile(os.path.join(folder, f))
        tpq = mf.ticks_per_beat
        bar = 4 * tpq
        tracks = []
        for tr in mf.tracks:
            t, notes = 0, []
            for msg in tr:
                t += msg.time
                if msg.type == "time_signature" and t == 0:
                    bar = tpq * 4 * msg.numerator // msg.denominator
                if msg.type == "note_on" and msg.velocity > 0:
                    notes.append((t, msg.note))
            if notes:
                tracks.append(notes)
        acc = [n for tr in tracks[1:] for n in tr]
        end = max(t for tr in tracks for t, _ in tr) + 1
        bars = max(1, -(-end // bar))
        by_onset = collections.defaultdict(set)
        for t, p in acc:
            by_onset[t].add(p % 12)
        sets = collections.Counter(frozenset(s) for s in by_onset.values())
        per_bar.append(len(acc) / bars)
        onsets_bar.append(len(by_onset) / bars)
        per_onset.append(len(acc) / max(1, len(by_onset)))
        distinct.append(len(sets))
        top.append(sets.most_common(1)[0][1] / max(1, len(by_onset)) if sets else 0)
    mean = lambda v: sum(v) / len(v)
    return "notes/bar %.2f onsets/bar %.2f notes/onset %.2f distinct sets %.1f top-set share %.3f" % (
        mean(per_bar), mean(onsets_bar), mean(per_onset), mean(distinct), mean(top))


def eval_acc(folder, real):
    r = subprocess.run([BIN, "eval", "--samples", folder, "--reference", real, "--melody-track", "0"],
                       capture_output=True, text=True)
    fit = re.search(r"^\s+harmonic fit\s+([0-9.]+)\s+([0-9.]+)", r.stdout, re.M)
    piece = re.search(r"per piece, mean \+- sd\s+(\S+) \+- (\S+)", r.stdout)
    stats = {}
    for key in ("n_pitches_used", "n_pitch_classes_used", "polyphony", "scale_consistency", "pitch_class_entropy"):
        m = re.search(r"^\s+%s\s+(\S+) \+- \S+\s+(\S+)" % key, r.stdout, re.M)
        if m:
            stats[key] = (m.group(1), m.group(2))
    return fit, piece, stats


def link_picks(out, config, name, picks):
    """OUT/CONFIG-pick/NAME emptied, then one link a tune to its picked
    candidate (picks: tune -> k); returns the folder."""
    sel = os.path.join(out, config + "-pick", name)
    os.makedirs(sel, exist_ok=True)
    for f in os.listdir(sel):
        os.remove(os.path.join(sel, f))
    for tune, k in picks.items():
        src = os.path.abspath(os.path.join(out, config, "cand", "%s-%03d.mid" % (tune[:-4], k)))
        if not os.path.exists(src) and k == 0:  # rerank.sh with C = 1: --num 1 writes TUNE.mid
            src = os.path.abspath(os.path.join(out, config, "cand", tune))
        os.symlink(src, os.path.join(sel, tune))
    return sel


def critic(folder, real, seed, bars=8):
    r = subprocess.run([BIN, "critic", "--real", real, "--fake", folder, "--bars", str(bars), "--paired", "--seed", str(seed)],
                       capture_output=True, text=True)
    m = re.search(r"accuracy\s+(\S+)", r.stdout)
    return m.group(1) if m else "?? " + r.stdout[-200:] + r.stderr[-200:]


def main():
    mode, out, config = sys.argv[1:4]
    ns = [int(x) for x in sys.argv[4:]] or [1, 4, 8]
    split = "valid" if config.endswith("-valid") else "test"
    real = os.path.join(out, "real-" + split)
    scores = read_log(os.path.join(out, config + ".log"))
    for n in ns:
        for rule in (["channel"] if n == 1 else RULES):
            picks = {tune: pick(cands, n, rule) for tune, cands in sorted(scores.items())}
            picks = {tune: k for tune, k in picks.items() if k is not None}
            kept = collections.Counter(picks.values())
            sel = link_picks(out, config, "%s-%d" % (rule if n > 1 else "none", n), picks)
            label = "%-10s N=%d" % (rule if n > 1 else "none", n)
            if mode == "acc":
                fit, piece, stats = eval_acc(sel, real)
                acc = [critic(sel, real, cs, 0) for cs in (1, 2, 3)]
                print("%s %s fit %s (real %s) per piece %s +- %s | %s | pcs %s (real %s) poly %s (real %s) | critic %s" % (
                    config, label, fit.group(1), fit.group(2), piece.group(1), piece.group(2), chord_stats(sel),
                    stats["n_pitch_classes_used"][0], stats["n_pitch_classes_used"][1],
                    stats["polyphony"][0], stats["polyphony"][1], " ".join(acc)), flush=True)
            else:
                acc = [critic(sel, real, cs) for cs in (1, 2, 3)]
                try:
                    mean = "%.3f" % (sum(float(a) for a in acc) / 3)
                except ValueError:
                    mean = "?"
                print("%s %s critic seeds 1-3 %s mean %s | candidates kept %s" % (
                    config, label, " ".join(acc), mean, dict(sorted(kept.items()))), flush=True)
    if mode == "acc":
        print("%s real: %s" % (config, chord_stats(real)))


if __name__ == "__main__":
    main()
