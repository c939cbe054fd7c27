#!/usr/bin/python3
"""texture_pick.py: infill candidates chosen by how well bars 5-8 match the
texture of the bars around them (a negative result: RESULTS.md, "Infilling:
matching the texture of the bars around the gap").

    /usr/bin/python3 experiments/any-track/texture_pick.py OUT CONFIG N

OUT and CONFIG as rerank.sh wrote them (rerank.sh infill OUT ... N). Per
track and set of bars: notes a bar, onsets a bar, mean log2 duration in
beats; a candidate's distance to the given bars 1-4 and 9-12 sums
|log((a + .5) / (b + .5))| over the counts and the difference of the
durations. Rules: "texture" (the nearest of N), "top4-texture" (the nearest
among the channel's best 4), "channel" (the program's default). Each pick
is read by the paired critic (first 8 bars, critic seeds 1-3).
"""
import math, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rerank_pick as rp

def bars_of(path):
    """(tracks of (start, duration), bar, tpq)"""
    tracks, bar, tpq = rp.read_notes(path)
    return [[(s, e - s) for s, e, _ in notes] for notes in tracks], bar, tpq

def feats(tracks, bar, tpq, bars):
    out = []
    for notes in tracks:
        sel = [(s, d) for s, d in notes if s // bar in bars]
        n = len(sel) / len(bars)
        o = len(set(s for s, _ in sel)) / len(bars)
        dur = sum(math.log2(max(d, 1) / tpq) for _, d in sel) / len(sel) if sel else 0.0
        out.append((n, o, dur))
    return out

def dist(a, b):
    d = 0.0
    for (n1, o1, d1), (n2, o2, d2) in zip(a, b):
        d += abs(math.log((n1 + .5) / (n2 + .5))) + abs(math.log((o1 + .5) / (o2 + .5))) + abs(d1 - d2)
    return d

def main():
    out, config, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real = os.path.join(out, "real-test")
    scores = rp.read_log(os.path.join(out, config + ".log"))
    ctx_bars = {0, 1, 2, 3, 8, 9, 10, 11}
    gap = {4, 5, 6, 7}
    rules = {}
    realdist = []
    for tune, cands in sorted(scores.items()):
        tr, bar, tpq = bars_of(os.path.join(real, tune))
        ctx = feats(tr, bar, tpq, ctx_bars)
        realdist.append(dist(feats(tr, bar, tpq, gap), ctx))
        ds = {}
        for k in range(N):
            ctr, cbar, ctpq = bars_of(os.path.join(out, config, "cand", "%s-%03d.mid" % (tune[:-4], k)))
            ds[k] = dist(feats(ctr, cbar, ctpq, gap), ctx)
        ch = {k: cands[k][0] for k in range(N)}
        top4 = sorted(range(N), key=lambda k: (-ch[k], k))[:4]
        rules.setdefault("texture", {})[tune] = min(range(N), key=lambda k: (ds[k], k))
        rules.setdefault("top4-texture", {})[tune] = min(top4, key=lambda k: (ds[k], k))
        rules.setdefault("channel", {})[tune] = max(range(N), key=lambda k: (ch[k], -k))
        rules.setdefault("_d", {})[tune] = (ds[rules["texture"][tune]], ds[rules["channel"][tune]], ds[0])
    m = lambda v: sum(v) / len(v)
    d = rules.pop("_d")
    print("%s texture distance: real %.3f, texture pick %.3f, channel pick %.3f, first %.3f" % (
        config, m(realdist), m([x[0] for x in d.values()]), m([x[1] for x in d.values()]), m([x[2] for x in d.values()])))
    for rule, picks in rules.items():
        sel = rp.link_picks(out, config, "%s-%d" % (rule, N), picks)
        acc = [rp.critic(sel, real, cs) for cs in (1, 2, 3)]
        print("%s %-13s N=%d critic %s mean %.3f" % (config, rule, N, " ".join(acc), m([float(a) for a in acc])), flush=True)

main()
