#!/usr/bin/python3
"""return_pick.py: infill candidates chosen by how much of bars 1-4 they bring
back in bars 5-8 (RESULTS.md, "Infilling: real bars from another tune, and
choosing the phrase's return").

    /usr/bin/python3 experiments/any-track/return_pick.py OUT CONFIG N

OUT and CONFIG as rerank.sh wrote them (rerank.sh infill OUT ... N). A
candidate's return is phrase_return.py's measure: the mean similarity of the
melody register (pitch >= 60) of bar k and bar k - 4, k = 5..8. Rules:
"return" (the most returning of N), "top4-return" (the most returning among
the channel's best 4), "channel" (the program's default). Each pick is read
by the paired critic (first 8 bars, critic seeds 1-3), and its return
printed beside the real tunes'.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phrase_return as pr  # noqa: E402
import rerank_pick as rp  # noqa: E402


def phrase_return(path):
    """a tune's mean return of bars 1-4 in bars 5-8"""
    sims = pr.bar_sims(path)
    return statistics.mean(sims) if sims else 0.0


def main():
    out, config, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real = os.path.join(out, "real-test")
    scores = rp.read_log(os.path.join(out, config + ".log"))
    rules, returns = {}, {}
    for tune, cands in sorted(scores.items()):
        ret = {k: phrase_return(os.path.join(out, config, "cand", "%s-%03d.mid" % (tune[:-4], k))) for k in range(n)}
        ch = {k: cands[k][0] for k in range(n)}
        top4 = sorted(range(n), key=lambda k: (-ch[k], k))[:4]
        picks = {"return": max(range(n), key=lambda k: (ret[k], -k)),
                 "top4-return": max(top4, key=lambda k: (ret[k], -k)),
                 "channel": max(range(n), key=lambda k: (ch[k], -k))}
        for rule, k in picks.items():
            rules.setdefault(rule, {})[tune] = k
            returns.setdefault(rule, []).append(ret[k])
        returns.setdefault("real", []).append(phrase_return(os.path.join(real, tune)))
    print("%s return of bars 1-4 in 5-8 (per tune, mean): real %.3f" % (config, statistics.mean(returns.pop("real"))))
    for rule, picks in rules.items():
        sel = rp.link_picks(out, config, "%s-%d" % (rule, n), picks)
        acc = [rp.critic(sel, real, cs) for cs in (1, 2, 3)]
        print("%s %-12s N=%d return %.3f critic %s mean %.3f" % (
            config, rule, n, statistics.mean(returns[rule]), " ".join(acc),
            statistics.mean(float(a) for a in acc)), flush=True)


if __name__ == "__main__":
    main()
