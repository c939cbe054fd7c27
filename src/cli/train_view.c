/*
 * train_view.c: what `tunegan train` shows while it runs. The trainer hands
 * over each line it writes to RUN_DIR/log.jsonl; this turns it into a
 * sentence in the user's terms (which round of how many, what the
 * discriminator and the generator did) with the time spent and an estimate
 * of the time left, one line per phase, on a terminal or a pipe alike.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/core.h"

void cli_train_view_begin(cli_train_view *v, int rounds, int d_pretrain)
{
    memset(v, 0, sizeof *v);
    v->rounds = rounds;
    v->d_pretrain = d_pretrain;
    v->first_round = 1; /* moved on by the first line of a resumed run */
    v->t0 = tg_now_sec();
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : 0.0;
}

static void format_clock(char *buf, size_t n, double sec)
{
    long s = sec < 0 ? 0 : (long)(sec + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

/* "round 3/10" or "discriminator pre-training" */
static void where(const cli_train_view *v, int round, char *buf, size_t n)
{
    if (round <= 0)
        snprintf(buf, n, "discriminator pre-training");
    else
        snprintf(buf, n, "round %d/%d", round, v->rounds);
}

/* elapsed and the time left, from the time per round so far (a round starts
 * when the previous phase's line came) */
static void timing(const cli_train_view *v, int round, char *buf, size_t n)
{
    double now = tg_now_sec();
    char e[32], l[32];
    format_clock(e, sizeof e, now - v->t0);
    int begun = round - v->first_round + 1;
    if (begun >= 1 && round < v->rounds) {
        format_clock(l, sizeof l, (now - v->round_t0) / begun * (v->rounds - round));
        snprintf(buf, n, "%s elapsed, about %s left", e, l);
    } else {
        snprintf(buf, n, "%s elapsed", e);
    }
}

static void show_disc(cli_train_view *v, const cJSON *o, int round, const char *at)
{
    if (round <= 0) v->d_seen++;
    char step[48] = "";
    if (round <= 0 && v->d_pretrain > 0) snprintf(step, sizeof step, " %d/%d", v->d_seen, v->d_pretrain);
    if (!cJSON_GetObjectItemCaseSensitive(o, "d_loss")) { /* the n-gram critic (--reward critic) */
        char fresh[64] = "first fit";
        if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "acc_fresh")))
            snprintf(fresh, sizeof fresh, "accuracy %.3f on the fresh set", num(o, "acc_fresh"));
        fprintf(stderr, "%s: critic%s: %s, %.3f after its fit (%.1f s)\n", at, step, fresh, num(o, "d_acc"),
                num(o, "seconds"));
    } else
        fprintf(stderr, "%s: discriminator%s: loss %.3f, accuracy %.3f (%.1f s)\n", at, step, num(o, "d_loss"),
                num(o, "d_acc"), num(o, "seconds"));
}

static void show_adv(const cJSON *o, const char *at)
{
    fprintf(stderr, "%s: generator: mean reward %.3f, policy loss %.4g, KL %.4g, entropy %.3f, %.0f tokens a "
            "sequence (%.1f s)\n", at, num(o, "reward_mean"), num(o, "pg_loss"), num(o, "kl"),
            num(o, "entropy"), num(o, "len_mean"), num(o, "seconds"));
}

void cli_train_view_line(cli_train_view *v, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *phase = o ? cJSON_GetObjectItemCaseSensitive(o, "phase") : NULL;
    if (!cJSON_IsString(phase)) { /* not one of the trainer's lines: show it as it is */
        fprintf(stderr, "%s\n", json);
        cJSON_Delete(o);
        return;
    }
    int round = (int)num(o, "round");
    if (round >= 1 && v->round_t0 == 0) {
        v->round_t0 = v->last_t > 0 ? v->last_t : v->t0;
        if (round > v->first_round) v->first_round = round; /* resumed */
    }
    v->last_t = tg_now_sec();
    char at[64], t[96];
    where(v, round, at, sizeof at);
    if (strcmp(phase->valuestring, "disc") == 0) {
        show_disc(v, o, round, at);
    } else if (strcmp(phase->valuestring, "adv") == 0) {
        show_adv(o, at);
    } else if (strcmp(phase->valuestring, "mle") == 0) {
        fprintf(stderr, "%s: teacher-forced step: loss %.4f\n", at, num(o, "loss"));
    } else if (strcmp(phase->valuestring, "eval") == 0) {
        timing(v, round, t, sizeof t);
        fprintf(stderr, "%s: validation NLL %.4f nats/token; %s\n", round <= 0 ? "before training" : at,
                num(o, "val_nll"), t);
    } else {
        fprintf(stderr, "%s\n", json);
    }
    fflush(stderr);
    cJSON_Delete(o);
}
