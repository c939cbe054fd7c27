/*
 * jobs.c: generate requests, checked and queued, and the one worker thread
 * that runs them in order through tg_run_generate. Any number of tabs may
 * ask at once: each request waits its turn (up to max_queue waiting; one
 * more is refused with "busy", never crashes), and the page polls its job
 * for progress. Each variation is decoded as a batch of its own so that it
 * lands in the session as soon as it is done. One worker, because a run's
 * generator decodes one batch at a time and the cores are the kernels'.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strings.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "nn/nn.h"
#include "tok/tok.h"
#include "serve.h"

/* ------------------------------------------------------------------------ */
/* Checking a request: {"mode": "new"|"continue"|"accompany"|"infill",
 * "source": 3, "keep_bars": 4, "bars": 8, "num": 2, "temperature": 1,
 * "top_p": 0.95, "seed": 7, "tracks": "alto,tenor", "bars_from": 2,
 * "bars_to": 3, "rerank": 4, "rerank_by": "bar"}; an unknown field is an
 * error (a typo never becomes a default). pitch_temperature: 0 to 2, 0: off, as
 * --pitch-temperature. Without temperature, top_p or pitch_temperature, a
 * request takes its model's defaults (its sampling.tsv, as the command line
 * does; else 1, 1 and off): the studio's own model for new tunes and
 * continuations, the any-track model chosen for the others (read once it
 * is chosen: check_any_track). Without bars, a new tune has 32 and a
 * continuation adds 8. rerank (accompany and infill only): each variation
 * is the best of that many takes, as `accompany --rerank`; an accompany
 * request without it takes the model's (accompany_rerank in its
 * sampling.tsv, at most SERVE_MAX_RERANK, else 1), and the takes are ranked
 * as the model's file says (whole, or bar by bar: accompany_rerank_bars;
 * whole takes where voice leading is on).
 * rerank_by (accompany only): "bar" or "take", as --rerank-by. quality
 * (accompany only, true or false): `accompany --quality`
 * (TG_ACCOMPANY_QUALITY_*: its candidates, ranked bar by bar), unless rerank
 * or rerank_by is given. */

static const char *const known_fields[] = {"mode", "source", "keep_bars", "bars", "num", "temperature",
                                           "top_p", "pitch_temperature", "seed", "tracks", "bars_from", "bars_to",
                                           "rerank", "rerank_by", "quality", NULL};
static const char *const mode_names[] = {"new", "continue", "accompany", "infill"};

static tg_status bad(char *err, size_t err_len, const char *fmt, const char *name, double a, double b)
{
    snprintf(err, err_len, fmt, name, a, b);
    return TG_ERR_ARG;
}

/* A number field in [min, max] (integral when integer); absent: *v unchanged. */
static tg_status number_field(const cJSON *root, const char *name, double min, double max, bool integer,
                              double *v, char *err, size_t err_len)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!f) return TG_OK;
    if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
        return bad(err, err_len, "%s must be a number", name, 0, 0);
    double x = f->valuedouble;
    if (x < min || x > max) return bad(err, err_len, "%s must be between %g and %g", name, min, max);
    if (integer && x != floor(x)) return bad(err, err_len, "%s must be a whole number", name, 0, 0);
    *v = x;
    return TG_OK;
}

static tg_status check_fields(const cJSON *root, char *err, size_t err_len)
{
    if (!cJSON_IsObject(root)) {
        snprintf(err, err_len, "the request is not a JSON object");
        return TG_ERR_ARG;
    }
    for (const cJSON *f = root->child; f; f = f->next) {
        bool known = false;
        for (const char *const *k = known_fields; *k && !known; k++) known = strcmp(*k, f->string) == 0;
        if (!known) {
            snprintf(err, err_len, "unknown field '%.40s' (known: mode, source, keep_bars, bars, num, temperature, "
                     "top_p, pitch_temperature, seed, tracks, bars_from, bars_to, rerank, rerank_by, quality)",
                     f->string);
            return TG_ERR_ARG;
        }
    }
    return TG_OK;
}

static tg_status parse_request(const serve_studio *s, const cJSON *root, serve_request *r, char *err,
                               size_t err_len)
{
    tg_status st = check_fields(root, err, err_len);
    if (st != TG_OK) return st;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(root, "mode");
    const char *m = cJSON_IsString(mode) ? mode->valuestring : "";
    int mi = 0;
    while (mi < 4 && strcmp(m, mode_names[mi]) != 0) mi++;
    if (mi == 4) {
        snprintf(err, err_len, "mode must be \"new\", \"continue\", \"accompany\" or \"infill\"");
        return TG_ERR_ARG;
    }
    r->mode = (serve_mode)mi;
    const cJSON *tracks = cJSON_GetObjectItemCaseSensitive(root, "tracks");
    r->tracks[0] = 0;
    if (tracks && (!cJSON_IsString(tracks) || strlen(tracks->valuestring) >= sizeof r->tracks)) {
        snprintf(err, err_len, "tracks must be track names separated by commas, e.g. \"alto,tenor\"");
        return TG_ERR_ARG;
    }
    if (tracks) snprintf(r->tracks, sizeof r->tracks, "%s", tracks->valuestring);
    const bool own = r->mode == SERVE_NEW || r->mode == SERVE_CONTINUE; /* the studio's own model */
    /* without bars: a whole tune of 32 for a new one, 8 added to a continuation */
    double source = 0, keep = 4, bars = r->mode == SERVE_NEW ? 32 : 8, num = 1, from = 0, to = 0;
    double rerank = r->mode == SERVE_ACCOMPANY ? -1 : 1; /* -1: the any-track model's (check_any_track) */
    /* -1: the any-track model's, read once it is chosen (check_any_track) */
    double temp = own ? s->sampling.temperature : -1, top_p = own ? s->sampling.top_p : -1;
    double pitch_temp = own ? s->sampling.pitch_temperature : -1;
    /* no seed: one from the clock's microseconds, told back with the takes */
    double seed = (double)((uint64_t)(tg_now_sec() * 1e6) % 1000000000u);
    if ((st = number_field(root, "source", 1, 1e9, true, &source, err, err_len)) ||
        (st = number_field(root, "keep_bars", 1, SERVE_MAX_BARS, true, &keep, err, err_len)) ||
        (st = number_field(root, "bars", 1, SERVE_MAX_BARS, true, &bars, err, err_len)) ||
        (st = number_field(root, "num", 1, SERVE_MAX_NUM, true, &num, err, err_len)) ||
        (st = number_field(root, "temperature", 0, 2, false, &temp, err, err_len)) ||
        (st = number_field(root, "top_p", 0.01, 1, false, &top_p, err, err_len)) ||
        (st = number_field(root, "pitch_temperature", 0, 2, false, &pitch_temp, err, err_len)) ||
        (st = number_field(root, "seed", 0, 9007199254740991.0, true, &seed, err, err_len)) ||
        (st = number_field(root, "bars_from", 1, 1e6, true, &from, err, err_len)) ||
        (st = number_field(root, "bars_to", 1, 1e6, true, &to, err, err_len)) ||
        (st = number_field(root, "rerank", 1, SERVE_MAX_RERANK, true, &rerank, err, err_len)))
        return st;
    const cJSON *quality = cJSON_GetObjectItemCaseSensitive(root, "quality");
    if (quality && !cJSON_IsBool(quality)) {
        snprintf(err, err_len, "quality must be true or false");
        return TG_ERR_ARG;
    }
    r->quality = cJSON_IsTrue(quality);
    if (r->quality && r->mode != SERVE_ACCOMPANY) {
        snprintf(err, err_len, "quality is for accompany (the setting measured closest to the real chords)");
        return TG_ERR_ARG;
    }
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(root, "rerank_by");
    if (by && (!cJSON_IsString(by) ||
               (strcmp(by->valuestring, "bar") != 0 && strcmp(by->valuestring, "take") != 0))) {
        snprintf(err, err_len, "rerank_by must be \"bar\" or \"take\"");
        return TG_ERR_ARG;
    }
    if (by && r->mode != SERVE_ACCOMPANY) {
        snprintf(err, err_len, "rerank_by is for accompany (infill's candidates are ranked by the bars after them)");
        return TG_ERR_ARG;
    }
    /* -1: the model's rule, read once it is chosen (check_any_track) */
    r->rerank_by = !by ? -1 : strcmp(by->valuestring, "bar") == 0 ? TG_RERANK_BY_BAR : TG_RERANK_BY_TAKE;
    if (r->quality) { /* accompany --quality: what is given explicitly wins */
        if (!cJSON_GetObjectItemCaseSensitive(root, "rerank")) rerank = TG_ACCOMPANY_QUALITY_RERANK;
        if (!by) r->rerank_by = TG_ACCOMPANY_QUALITY_BY;
    }
    if (rerank > 1 && r->mode != SERVE_ACCOMPANY && r->mode != SERVE_INFILL) {
        snprintf(err, err_len, "rerank is for accompany and infill (the model scores its own takes)");
        return TG_ERR_ARG;
    }
    r->cont = r->mode == SERVE_CONTINUE;
    if (r->mode != SERVE_NEW && source == 0) {
        snprintf(err, err_len, "%s needs source: the number of the take to %s", m,
                 r->mode == SERVE_INFILL ? "write bars of again" : m);
        return TG_ERR_ARG;
    }
    if (r->mode == SERVE_INFILL && (from == 0 || to == 0)) {
        snprintf(err, err_len, "infill needs bars_from and bars_to: the bars to write again, from 1");
        return TG_ERR_ARG;
    }
    if (r->mode == SERVE_INFILL && to < from) {
        snprintf(err, err_len, "bars %.0f-%.0f: bars_to comes before bars_from", from, to);
        return TG_ERR_ARG;
    }
    r->bar_first = (int)from;
    r->bar_last = (int)to;
    r->source = (int)source;
    r->keep_bars = (int)keep;
    r->bars = (int)bars;
    r->num = (int)num;
    r->temperature = temp;
    r->top_p = top_p;
    r->pitch_temperature = pitch_temp;
    r->seed = (uint64_t)seed;
    r->rerank = (int)rerank;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* The queue */

serve_job *jobs_find(serve_studio *s, int id)
{
    if (id <= 0) return NULL;
    serve_job *j = &s->jobs[id % SERVE_JOB_SLOTS];
    return j->id == id ? j : NULL;
}

void jobs_wait_change(serve_studio *s, int id, double wait_sec)
{
    serve_job *j = jobs_find(s, id);
    if (!j || wait_sec <= 0 || j->state >= JOB_DONE) return;
    const serve_job_state state = j->state;
    const int done = j->done, n_takes = j->n_takes;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)wait_sec;
    until.tv_nsec += (long)((wait_sec - (double)(time_t)wait_sec) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!s->stopping && (j = jobs_find(s, id)) != NULL && j->state == state && j->done == done &&
           j->n_takes == n_takes)
        if (pthread_cond_timedwait(&s->changed, &s->lock, &until) != 0) break;
}

int jobs_position(serve_studio *s, const serve_job *j)
{
    int ahead = 0;
    for (int i = 0; i < SERVE_JOB_SLOTS; i++) {
        const serve_job *o = &s->jobs[i];
        if (o->id && o->id < j->id && o->state == JOB_QUEUED) ahead++;
    }
    return ahead;
}

static int queued_count(const serve_studio *s)
{
    int n = 0;
    for (int i = 0; i < SERVE_JOB_SLOTS; i++) n += s->jobs[i].id && s->jobs[i].state == JOB_QUEUED;
    return n;
}

/* Bars of a score: its bar lines up to its end, less one (0 when it cannot tell). */
static int score_bars(const tg_score *sc)
{
    int64_t *lines;
    size_t n;
    if (sc->ticks_per_quarter <= 0 || tg_score_bar_lines(sc, tg_score_end_ticks(sc), &lines, &n) != TG_OK)
        return 0;
    free(lines);
    return n > 0 ? (int)n - 1 : 0;
}

/* The folder of a checkpoint, e.g. "accompany-nottingham". */
static void model_name(const char *path, char *out, size_t len)
{
    const char *end = strrchr(path, '/'), *start = end;
    if (!end) {
        snprintf(out, len, "%.60s", path);
        return;
    }
    while (start > path && start[-1] != '/') start--;
    snprintf(out, len, "%.*s", (int)(end - start), start);
}

/* Is name one of the comma-separated names in list (any case)? */
static bool in_list(const char *list, const char *name, size_t n)
{
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncasecmp(p, name, n) == 0) return true;
        p += k;
        if (*p == ',') p++;
    }
    return false;
}

/* An accompany or infill request against its source take: the model that
 * fits it (into r->model), the track names, the bars (their ticks into
 * r->written_from/to). Lock held. */
static tg_status check_any_track(serve_studio *s, const serve_take *t, serve_request *r, char *err, size_t err_len)
{
    char names[512] = "", why[600];
    tg_status st = r->mode == SERVE_INFILL && !r->tracks[0]
                       ? studio_infill_model(s, t->score, r->bar_first, r->model, sizeof r->model, why, sizeof why)
                       : studio_accompany_model(s, t->score, r->model, sizeof r->model, names, sizeof names, why,
                                                sizeof why);
    if (st != TG_OK) {
        snprintf(err, err_len, "take %d cannot be %s: %s", t->id,
                 r->mode == SERVE_INFILL ? "written again" : "accompanied", why);
        return st;
    }
    for (const char *p = r->tracks; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || !in_list(names, p, n)) {
            char model[64];
            model_name(r->model, model, sizeof model);
            snprintf(err, err_len, "no track '%.*s' in %s (its tracks: %s)", (int)(n < 60 ? n : 60), p, model, names);
            return TG_ERR_ARG;
        }
        p += n;
        if (*p == ',') p++;
    }
    /* not asked: the model's defaults (accompany: its candidates and their ranking too) */
    if (r->temperature < 0 || r->top_p < 0 || r->pitch_temperature < 0 || r->mode == SERVE_ACCOMPANY) {
        run_sampling d;
        if (run_sampling_read(r->model, &d, why, sizeof why) != TG_OK) {
            snprintf(err, err_len, "%s", why);
            return TG_ERR_FORMAT;
        }
        if (r->temperature < 0) r->temperature = d.temperature;
        if (r->top_p < 0) r->top_p = d.top_p;
        if (r->pitch_temperature < 0) r->pitch_temperature = d.pitch_temperature;
        if (r->rerank < 0) r->rerank = d.rerank < SERVE_MAX_RERANK ? d.rerank : SERVE_MAX_RERANK;
        if (r->rerank_by < 0) r->rerank_by = d.rerank_bars ? TG_RERANK_BY_BAR_OR_TAKE : TG_RERANK_BY_TAKE;
    }
    if (r->mode != SERVE_INFILL) return TG_OK;
    int64_t *lines;
    size_t n_lines;
    if (t->score->ticks_per_quarter <= 0 ||
        tg_score_bar_lines(t->score, tg_score_end_ticks(t->score), &lines, &n_lines) != TG_OK) {
        snprintf(err, err_len, "take %d has no bars to write again (timed in SMPTE frames?)", t->id);
        return TG_ERR_ARG;
    }
    const int bars = n_lines > 0 ? (int)n_lines - 1 : 0;
    st = TG_OK;
    if (r->bar_last > bars) {
        snprintf(err, err_len, "bars %d-%d: take %d has %d bar%s", r->bar_first, r->bar_last, t->id, bars,
                 bars == 1 ? "" : "s");
        st = TG_ERR_ARG;
    } else if (r->bar_last - r->bar_first + 1 > TOK_TRACKS_MAX_GAPS) {
        snprintf(err, err_len, "bars %d-%d: at most %d bars are written again at once", r->bar_first, r->bar_last,
                 TOK_TRACKS_MAX_GAPS);
        st = TG_ERR_ARG;
    } else {
        r->written_from = lines[r->bar_first - 1];
        r->written_to = lines[r->bar_last];
    }
    free(lines);
    return st;
}

/* Queues r with a copy of its source's score. Lock held. */
static tg_status enqueue(serve_studio *s, const serve_request *r, int *job, char *err, size_t err_len)
{
    if (queued_count(s) >= s->opt.max_queue) {
        snprintf(err, err_len, "the studio is busy: %d requests are waiting; try again when one is done",
                 s->opt.max_queue);
        return TG_ERR_TOO_LARGE;
    }
    tg_score *primer = NULL;
    char source_label[64] = "";
    if (r->cont) {
        serve_take *t = studio_find_take(s, r->source);
        if (!t) {
            snprintf(err, err_len, "take %d is not in this session (it may have been dropped: the session "
                     "keeps %d takes)", r->source, s->opt.max_takes);
            return TG_ERR_NOT_FOUND;
        }
        int bars = score_bars(t->score);
        if (r->keep_bars > bars) {
            snprintf(err, err_len, "take %d has %d bar%s: keep_bars must be at most that", t->id, bars,
                     bars == 1 ? "" : "s");
            return TG_ERR_ARG;
        }
        if (tg_score_clone(t->score, &primer) != TG_OK) return TG_ERR_NOMEM;
        snprintf(source_label, sizeof source_label, "#%d", t->id);
    }
    serve_request any = *r;
    if (r->mode == SERVE_ACCOMPANY || r->mode == SERVE_INFILL) {
        serve_take *t = studio_find_take(s, r->source);
        tg_status st = t ? check_any_track(s, t, &any, err, err_len) : TG_ERR_NOT_FOUND;
        if (!t)
            snprintf(err, err_len, "take %d is not in this session (it may have been dropped: the session "
                     "keeps %d takes)", r->source, s->opt.max_takes);
        if (st == TG_OK && tg_score_clone(t->score, &primer) != TG_OK) st = TG_ERR_NOMEM;
        if (st != TG_OK) return st;
        snprintf(source_label, sizeof source_label, "#%d", t->id);
        r = &any;
    }
    serve_job *j = &s->jobs[s->next_job_id % SERVE_JOB_SLOTS];
    /* more slots than max_queue + 1: the slot's last job is finished */
    tg_score_free(j->primer);
    memset(j, 0, sizeof *j);
    j->id = s->next_job_id++;
    j->state = JOB_QUEUED;
    j->req = *r;
    j->primer = primer;
    j->bars_before = j->bars_after = -1;
    snprintf(j->source_label, sizeof j->source_label, "%s", source_label);
    j->t_queued = tg_now_sec();
    *job = j->id;
    pthread_cond_broadcast(&s->wake);
    return TG_OK;
}

tg_status jobs_submit(serve_studio *s, const char *json, size_t len, int *job, char *err, size_t err_len)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        snprintf(err, err_len, "the request is not valid JSON");
        return TG_ERR_ARG;
    }
    serve_request r;
    tg_status st = parse_request(s, root, &r, err, err_len);
    cJSON_Delete(root);
    if (st != TG_OK) return st;
    pthread_mutex_lock(&s->lock);
    st = enqueue(s, &r, job, err, err_len);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The worker */

typedef struct {
    serve_studio *s;
    serve_job *job;
} job_ctx;

/* The tracks of take that are the source's, note for note (bit per index). */
static uint32_t same_tracks(const tg_score *source, const tg_score *take)
{
    uint32_t mask = 0;
    for (size_t t = 0; t < take->n_tracks && t < source->n_tracks && t < 32; t++) {
        const tg_track *a = &source->tracks[t], *b = &take->tracks[t];
        if (a->n_notes == b->n_notes && a->n_notes > 0 && strcmp(a->name, b->name) == 0 &&
            memcmp(a->notes, b->notes, a->n_notes * sizeof *a->notes) == 0)
            mask |= 1u << t;
    }
    return mask;
}

/* Kind, label, given part and model of an accompany or infill take. */
static void any_track_info(const serve_job *j, int index, const tg_score *score, serve_take *info)
{
    const serve_request *r = &j->req;
    model_name(r->model, info->model, sizeof info->model);
    info->given_tracks = same_tracks(j->primer, score);
    const char *which = r->tracks[0] ? r->tracks : r->mode == SERVE_INFILL ? "every track" : "the tracks it lacks";
    int n;
    if (r->mode == SERVE_INFILL) {
        snprintf(info->kind, sizeof info->kind, "infill");
        n = snprintf(info->label, sizeof info->label, "bars %d-%d of %s again (%.40s) by %.40s, seed %llu, %d of %d",
                 r->bar_first, r->bar_last, j->source_label, which, info->model, (unsigned long long)r->seed,
                 index + 1, r->num);
        info->written_from = r->written_from;
        info->written_to = r->written_to;
    } else {
        snprintf(info->kind, sizeof info->kind, "accompany");
        n = snprintf(info->label, sizeof info->label, "accompaniment of %s (%.40s) by %.40s, seed %llu, %d of %d",
                 j->source_label, which, info->model, (unsigned long long)r->seed, index + 1, r->num);
    }
    if (n >= (int)sizeof info->label) memcpy(info->label + sizeof info->label - 4, "...", 4); /* cut, and says so */
}

static int on_take(void *user, int index, tg_take *take)
{
    job_ctx *c = user;
    serve_studio *s = c->s;
    const serve_request *r = &c->job->req;
    serve_take info;
    memset(&info, 0, sizeof info);
    info.primer_end_ticks = take->primer_end_ticks;
    snprintf(info.kind, sizeof info.kind, "%s", r->cont ? "continue" : "new");
    if (r->cont)
        snprintf(info.label, sizeof info.label, "continuation of %s: %d + %d bars, seed %llu, %d of %d",
                 c->job->source_label, r->keep_bars, r->bars, (unsigned long long)r->seed, index + 1, r->num);
    else
        snprintf(info.label, sizeof info.label, "new tune: %d bars, seed %llu, %d of %d", r->bars,
                 (unsigned long long)r->seed, index + 1, r->num);
    if (r->mode == SERVE_ACCOMPANY || r->mode == SERVE_INFILL) any_track_info(c->job, index, take->score, &info);
    info.job = c->job->id;
    info.variation = index;
    info.seed = r->seed;
    info.temperature = r->temperature;
    info.top_p = r->top_p;
    tg_score *score = take->score;
    take->score = NULL;
    int id;
    tg_status st = studio_add_take(s, score, &info, &id);
    pthread_mutex_lock(&s->lock);
    if (st == TG_OK && c->job->n_takes < SERVE_MAX_NUM) c->job->take_ids[c->job->n_takes++] = id;
    if (c->job->done < index + 1) c->job->done = index + 1;
    pthread_cond_broadcast(&s->changed);
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return st != TG_OK || stop;
}

static int on_batch(void *user, int done, int num, double tok_per_s)
{
    job_ctx *c = user;
    pthread_mutex_lock(&c->s->lock);
    c->job->done = done;
    pthread_cond_broadcast(&c->s->changed);
    bool stop = c->s->stopping;
    pthread_mutex_unlock(&c->s->lock);
    return stop;
}

/* An accompany or infill job through the any-track model (opened on first use). */
static tg_status run_any_track(serve_studio *s, serve_job *j, job_ctx *ctx, tg_generate_stats *stats, char *err,
                               size_t err_len)
{
    const serve_request *r = &j->req;
    tg_run *run;
    tg_status st = studio_accompany_run(s, r->model, &run, err, err_len);
    if (st != TG_OK) return st;
    tg_accompany_options o = tg_accompany_options_default();
    o.gen.temperature = (float)r->temperature;
    o.gen.top_p = (float)r->top_p;
    o.gen.pitch_temperature = (float)r->pitch_temperature;
    o.gen.num = r->num;
    /* every candidate of every variation decoded together, up to the library's default
     * batch, as the command line's (the takes are the same bytes whatever the batch) */
    if (r->num * r->rerank < o.gen.batch) o.gen.batch = r->num * r->rerank;
    o.gen.seed = r->seed;
    o.gen.rerank = r->rerank;
    o.rerank_by = r->mode == SERVE_ACCOMPANY ? r->rerank_by : TG_RERANK_BY_TAKE;
    o.gen.on_take = on_take;
    o.gen.user = ctx;
    o.score = j->primer;
    o.tracks = r->tracks[0] ? r->tracks : NULL;
    if (r->mode == SERVE_INFILL) o.bar_first = r->bar_first, o.bar_last = r->bar_last;
    return tg_run_accompany(run, &o, NULL, stats, err, err_len);
}

/* Runs one job without the lock; its state is updated under it. */
static void run_job(serve_studio *s, serve_job *j)
{
    const serve_request *r = &j->req;
    tg_generate_options go = tg_generate_options_default();
    go.temperature = (float)r->temperature;
    go.top_p = (float)r->top_p;
    go.pitch_temperature = (float)r->pitch_temperature;
    go.num = r->num;
    go.batch = 1;
    go.length = 1024 * r->bars; /* a cap all the same: a model may never write a Bar */
    go.bars = r->bars;
    go.seed = r->seed;
    go.primer = j->primer;
    go.primer_bars = r->cont ? r->keep_bars : 0;
    go.primer_name = j->source_label;
    go.on_take = on_take;
    go.on_batch = on_batch;
    job_ctx ctx = {s, j};
    go.user = &ctx;
    char err[sizeof j->error];
    err[0] = 0;
    tg_generate_stats stats;
    memset(&stats, 0, sizeof stats);
    tg_status st = r->mode == SERVE_ACCOMPANY || r->mode == SERVE_INFILL
                       ? run_any_track(s, j, &ctx, &stats, err, sizeof err)
                       : tg_run_generate(s->run, &go, NULL, NULL, err, sizeof err);
    pthread_mutex_lock(&s->lock);
    if (st == TG_OK && r->mode == SERVE_INFILL) {
        j->bars_before = stats.bars_before, j->bars_after = stats.bars_after;
        j->left_to_right = stats.left_to_right;
    }
    j->state = st == TG_OK ? JOB_DONE : JOB_FAILED;
    if (st != TG_OK)
        snprintf(j->error, sizeof j->error, "%s", err[0] ? err : tg_status_str(st));
    j->t_finished = tg_now_sec();
    tg_score_free(j->primer);
    j->primer = NULL;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* The oldest queued job, or NULL. Lock held. */
static serve_job *next_job(serve_studio *s)
{
    serve_job *best = NULL;
    for (int i = 0; i < SERVE_JOB_SLOTS; i++) {
        serve_job *j = &s->jobs[i];
        if (j->id && j->state == JOB_QUEUED && (!best || j->id < best->id)) best = j;
    }
    return best;
}

void *jobs_worker(void *arg)
{
    serve_studio *s = arg;
    nn_set_threads(s->opt.threads); /* OpenMP's thread count is each thread's own */
    pthread_mutex_lock(&s->lock);
    for (;;) {
        serve_job *j = NULL;
        while (!s->stopping && !(j = next_job(s))) pthread_cond_wait(&s->wake, &s->lock);
        if (s->stopping) break;
        j->state = JOB_RUNNING;
        j->t_started = tg_now_sec();
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        run_job(s, j);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}
