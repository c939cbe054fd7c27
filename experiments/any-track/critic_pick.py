#!/usr/bin/python3
"""critic_pick.py: infill candidates chosen by a critic trained on other
tunes (discriminator rejection sampling, Azadi et al. 2019, as a pick among
N): `tunegan critic --real TRAIN_REAL --fake TRAIN_FAKE --bars 8 --score`
fits the n-gram critic on the training split's real tunes against the same
tunes with bars 5-8 infilled by the same model, and scores every candidate.
Rules: "critic" keeps each test tune's candidate that reads most real;
"resample" draws one with probability proportional to exp(logit), the
critic's estimate of p_real / p_model (importance resampling: it moves the
candidates' distribution towards the real one instead of to the critic's
extreme; seeded). The pick is then
read as every other rule is: the fresh paired critic on the first 8 bars
(critic seeds 1-3; it never saw the selecting critic's tunes), and on bars
5-8 alone, and phrase_return.py's return.

    /usr/bin/python3 experiments/any-track/critic_pick.py OUT CONFIG N TRAIN_REAL TRAIN_FAKE

OUT and CONFIG as rerank.sh wrote them (rerank.sh infill OUT ... N).
Environment: TUNEGAN_BIN (build/tunegan), L2 (the selecting critic's --l2,
1e-4 as the fresh critic's).
"""
import json
import math
import os
import random
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rerank_pick as rp  # noqa: E402
import return_pick  # noqa: E402


def scores(train_real, train_fake, cand):
    r = subprocess.run([rp.BIN, "critic", "--real", train_real, "--fake", train_fake, "--bars", "8", "--paired",
                        "--score", cand, "--json", "--l2", os.environ.get("L2", "1e-4")], capture_output=True, text=True)
    if r.returncode:
        sys.exit("critic --score failed: " + r.stderr[-400:])
    d = json.loads(r.stdout)
    return d["accuracy"], {s["name"]: s["logit"] for s in d["scores"]}


def main():
    out, config, n, train_real, train_fake = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    real = os.path.join(out, "real-test")
    cands = rp.read_log(os.path.join(out, config + ".log"))
    acc, z = scores(train_real, train_fake, os.path.join(out, config, "cand"))
    print("%s selecting critic (train split, real against infilled, paired): accuracy %.3f" % (config, acc))
    rules = {"critic": {}, "resample": {}, "channel": {}}
    rng = random.Random(1)
    for tune, c in sorted(cands.items()):
        names = ["%s-%03d.mid" % (tune[:-4], k) for k in range(n)]
        rules["critic"][tune] = max(range(n), key=lambda k: (z[names[k]], -k))
        top = max(z[x] for x in names)
        rules["resample"][tune] = rng.choices(range(n), weights=[math.exp(z[x] - top) for x in names])[0]
        rules["channel"][tune] = max(range(n), key=lambda k: (c[k][0], -k))
    for rule, picks in rules.items():
        sel = rp.link_picks(out, config, "%s-%d" % (rule, n), picks)
        first8 = [float(rp.critic(sel, real, cs)) for cs in (1, 2, 3)]
        alone = [float(rp.critic(sel, real, cs, "5-8")) for cs in (1, 2, 3)]
        ret = statistics.mean(return_pick.phrase_return(os.path.join(sel, t)) for t in picks)
        print("%s %-8s N=%d critic, first 8 bars %s mean %.3f | bars 5-8 alone %s mean %.3f | return %.3f" % (
            config, rule, n, " ".join("%.4f" % a for a in first8), statistics.mean(first8),
            " ".join("%.4f" % a for a in alone), statistics.mean(alone), ret), flush=True)


if __name__ == "__main__":
    main()
