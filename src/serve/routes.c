/*
 * routes.c: the studio's HTTP API, as plain functions of a request (method,
 * path, query, body) to a reply (status, type, body). The page (web/) is its
 * only client; every answer is JSON except the page's files and downloads.
 *
 *   GET  /                           the page
 *   GET  /static/NAME                its scripts and styles (embedded; no other file is served)
 *   GET  /api/studio                 the model and its card, limits, formats, the takes so far
 *   POST /api/upload?name=F.mid      a MIDI file as the body: a new take, with its notes
 *   POST /api/primer                 the bundled primer as a new take
 *   POST /api/generate               {"mode":"new"|"continue"|"accompany"|"infill",...} (jobs.c):
 *                                    202 {"job": N}
 *   GET  /api/jobs/N[?wait=S]        state, place in the queue, variations done, their takes
 *                                    (wait: answer when the job moves on, S seconds at most)
 *   GET  /api/takes                  the session's takes, oldest first (no notes)
 *   GET  /api/takes/N                one take with its bar lines and notes, and the any-track
 *                                    model accompany and infill would use for it
 *   GET  /api/takes/N/file?format=F  the take as a download: mid, wav or musicxml
 *
 * Errors are {"error": "a sentence for the musician"} with a 4xx/5xx status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "model/model.h"
#include "run/run.h"
#include "serve.h"
#include "tok/tok.h"

/* ------------------------------------------------------------------------ */
/* Replies */

static void reply_json(serve_reply *out, int status, cJSON *root)
{
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    memset(out, 0, sizeof *out);
    out->type = "application/json";
    if (!text) {
        out->status = 500;
        out->static_body = (const uint8_t *)"{\"error\":\"out of memory\"}";
        out->size = strlen((const char *)out->static_body);
        return;
    }
    out->status = status;
    out->body = (uint8_t *)text;
    out->size = strlen(text);
}

static void reply_error(serve_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_error(serve_reply *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "error", msg);
    reply_json(out, status, root);
}

static int status_of(tg_status st)
{
    switch (st) {
    case TG_ERR_NOT_FOUND: return 404;
    case TG_ERR_TOO_LARGE: return 503;
    case TG_ERR_UNSUPPORTED: return 501;
    case TG_ERR_NOMEM: case TG_ERR_IO: return 500;
    default: return 400;
    }
}

/* ------------------------------------------------------------------------ */
/* Takes as JSON */

static void add_notes(cJSON *root, const tg_score *sc)
{
    cJSON *tracks = cJSON_AddArrayToObject(root, "tracks");
    for (size_t t = 0; t < sc->n_tracks; t++) {
        const tg_track *tr = &sc->tracks[t];
        cJSON *jt = cJSON_CreateObject();
        cJSON_AddStringToObject(jt, "name", tr->name);
        cJSON_AddNumberToObject(jt, "program", tr->program);
        cJSON_AddBoolToObject(jt, "drum", tr->is_drum);
        cJSON *notes = cJSON_AddArrayToObject(jt, "notes");
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *n = &tr->notes[i];
            double v[4] = {(double)n->start_ticks, (double)n->end_ticks, n->pitch, n->velocity};
            cJSON_AddItemToArray(notes, cJSON_CreateDoubleArray(v, 4));
        }
        cJSON_AddItemToArray(tracks, jt);
    }
}

/* Bar lines (ticks) up to the end, and the beats of each bar's meter. */
static void add_bars(cJSON *root, const tg_score *sc, int64_t end)
{
    int64_t *lines = NULL;
    size_t n = 0;
    cJSON *bars = cJSON_AddArrayToObject(root, "bars");
    cJSON *beats = cJSON_AddArrayToObject(root, "beats_per_bar");
    if (sc->ticks_per_quarter <= 0 || tg_score_bar_lines(sc, end, &lines, &n) != TG_OK) return;
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(bars, cJSON_CreateNumber((double)lines[i]));
        cJSON_AddItemToArray(beats, cJSON_CreateNumber(tg_score_timesig_at(sc, lines[i]).numerator));
    }
    free(lines);
}

/* The any-track model that accompany and infill would use for this piece,
 * and its tracks (for the page's chooser), or why there is none. */
static void add_accompany(serve_studio *s, cJSON *root, const tg_score *sc)
{
    char path[1024], tracks[512], err[600];
    cJSON *a = cJSON_AddObjectToObject(root, "accompany");
    if (studio_accompany_model(s, sc, path, sizeof path, tracks, sizeof tracks, err, sizeof err) != TG_OK) {
        cJSON_AddStringToObject(a, "error", err);
        return;
    }
    cJSON_AddStringToObject(a, "model", path);
    cJSON *names = cJSON_AddArrayToObject(a, "tracks");
    for (const char *p = tracks; *p;) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), p);
        cJSON_AddItemToArray(names, cJSON_CreateString(name));
        p += n;
        if (*p == ',') p++;
    }
}

char *routes_take_json(serve_studio *s, const serve_take *t, bool with_notes)
{
    const tg_score *sc = t->score;
    int64_t end = tg_score_end_ticks(sc);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "id", t->id);
    cJSON_AddStringToObject(root, "label", t->label);
    cJSON_AddStringToObject(root, "kind", t->kind);
    cJSON_AddNumberToObject(root, "job", t->job);
    cJSON_AddNumberToObject(root, "variation", t->variation);
    cJSON_AddNumberToObject(root, "seed", (double)t->seed);
    cJSON_AddNumberToObject(root, "ticks_per_quarter", sc->ticks_per_quarter);
    cJSON_AddNumberToObject(root, "end_ticks", (double)end);
    cJSON_AddNumberToObject(root, "primer_end_ticks", (double)t->primer_end_ticks);
    cJSON_AddNumberToObject(root, "seconds", tg_score_ticks_to_sec(sc, -1, end));
    cJSON_AddNumberToObject(root, "notes_count", (double)tg_score_note_count(sc));
    if (t->model[0]) {
        cJSON_AddStringToObject(root, "model", t->model);
        cJSON *given = cJSON_AddArrayToObject(root, "given_tracks");
        for (int k = 0; k < 32; k++)
            if (t->given_tracks >> k & 1) cJSON_AddItemToArray(given, cJSON_CreateNumber(k));
        cJSON_AddNumberToObject(root, "written_from_ticks", (double)t->written_from);
        cJSON_AddNumberToObject(root, "written_to_ticks", (double)t->written_to);
    }
    if (with_notes) {
        add_bars(root, sc, end);
        add_notes(root, sc);
        add_accompany(s, root, sc);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* Replies with the take's JSON. Lock held by the caller. */
static void reply_take(serve_studio *s, serve_reply *out, int status, const serve_take *t, bool with_notes)
{
    char *text = routes_take_json(s, t, with_notes);
    if (!text) {
        reply_json(out, 500, NULL);
        return;
    }
    memset(out, 0, sizeof *out);
    out->status = status;
    out->type = "application/json";
    out->body = (uint8_t *)text;
    out->size = strlen(text);
}

/* ------------------------------------------------------------------------ */
/* Bringing music in */

/* A file name fit for labels: printable ASCII, at most 60 characters. */
static void clean_name(const char *name, char *out, size_t len)
{
    size_t k = 0;
    for (const char *p = name ? name : ""; *p && k + 1 < len && k < 60; p++)
        out[k++] = (*p >= 32 && *p < 127) ? *p : '?';
    out[k] = 0;
    if (!k) snprintf(out, len, "the upload");
}

/* Stores score as a take and replies with it (201). */
static void store_piece(serve_studio *s, serve_reply *out, tg_score *score, const char *kind, const char *label)
{
    serve_take info;
    memset(&info, 0, sizeof info);
    snprintf(info.kind, sizeof info.kind, "%s", kind);
    snprintf(info.label, sizeof info.label, "%s", label);
    int id;
    if (studio_add_take(s, score, &info, &id) != TG_OK) {
        reply_error(out, 500, "out of memory");
        return;
    }
    pthread_mutex_lock(&s->lock);
    serve_take *t = studio_find_take(s, id);
    if (t) reply_take(s, out, 201, t, true);
    else reply_error(out, 404, "take %d was dropped at once: the session is full", id);
    pthread_mutex_unlock(&s->lock);
}

static void route_upload(serve_studio *s, const serve_http_request *rq, serve_reply *out)
{
    char name[64];
    clean_name(rq->arg(rq->ctx, "name"), name, sizeof name);
    if (rq->body_size == 0) {
        reply_error(out, 400, "%s is empty", name);
        return;
    }
    tg_midi_read_options o = tg_midi_read_options_default();
    o.max_bytes = s->opt.max_upload_bytes;
    o.name = name;
    tg_score *score = NULL;
    tg_midi_error me;
    memset(&me, 0, sizeof me);
    tg_status st = tg_midi_read_memory(rq->body, rq->body_size, &o, &score, NULL, &me);
    if (st != TG_OK) {
        reply_error(out, st == TG_ERR_TOO_LARGE ? 413 : 400, "%s is not a MIDI file the studio can read: %s",
                    name, me.what[0] ? me.what : tg_status_str(st));
        return;
    }
    size_t notes = tg_score_note_count(score);
    if (notes == 0 || notes > SERVE_MAX_NOTES) {
        if (notes == 0) reply_error(out, 400, "%s has no notes", name);
        else reply_error(out, 400, "%s has %zu notes, more than the studio draws (%d)", name, notes, SERVE_MAX_NOTES);
        tg_score_free(score);
        return;
    }
    char label[160];
    snprintf(label, sizeof label, "%s (uploaded, %zu notes)", name, notes);
    store_piece(s, out, score, "upload", label);
}

static void route_primer(serve_studio *s, serve_reply *out)
{
    tg_score *copy;
    if (tg_score_clone(s->bundled_primer, &copy) != TG_OK) {
        reply_error(out, 500, "out of memory");
        return;
    }
    store_piece(s, out, copy, "primer", "Twinkle, twinkle (the bundled primer, traditional)");
}

/* ------------------------------------------------------------------------ */
/* The studio, jobs and takes */

static cJSON *model_json(serve_studio *s)
{
    const tg_model *m = run_generator(s->run);
    const model_config *c = model_get_config(m);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "path", tg_run_checkpoint(s->run));
    cJSON_AddNumberToObject(j, "parameters", (double)model_param_count(m));
    cJSON_AddStringToObject(j, "attention", model_attention_name(c->attention));
    cJSON_AddNumberToObject(j, "d_model", c->d_model);
    cJSON_AddNumberToObject(j, "layers", c->n_layers);
    cJSON_AddNumberToObject(j, "heads", c->n_heads);
    cJSON_AddNumberToObject(j, "context", c->context);
    cJSON_AddStringToObject(j, "tokenizer", run_tokenizer_spec(s->run));
    cJSON *d = cJSON_AddObjectToObject(j, "sampling"); /* its sampling.tsv: what it gives */
    if (s->sampling.has_temperature) cJSON_AddNumberToObject(d, "temperature", s->sampling.temperature);
    if (s->sampling.has_top_p) cJSON_AddNumberToObject(d, "top_p", s->sampling.top_p);
    if (s->sampling.has_pitch_temperature)
        cJSON_AddNumberToObject(d, "pitch_temperature", s->sampling.pitch_temperature);
    if (s->card) cJSON_AddStringToObject(j, "card", s->card);
    else cJSON_AddNullToObject(j, "card");
    return j;
}

static void route_studio(serve_studio *s, serve_reply *out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", tg_version());
    cJSON_AddItemToObject(root, "model", model_json(s));
    cJSON_AddBoolToObject(root, "audio", s->audio);
    cJSON *formats = cJSON_AddArrayToObject(root, "formats");
    cJSON_AddItemToArray(formats, cJSON_CreateString("mid"));
    if (s->audio) cJSON_AddItemToArray(formats, cJSON_CreateString("wav"));
    cJSON_AddItemToArray(formats, cJSON_CreateString("musicxml"));
    cJSON *lim = cJSON_AddObjectToObject(root, "limits");
    cJSON_AddNumberToObject(lim, "max_upload_bytes", (double)s->opt.max_upload_bytes);
    cJSON_AddNumberToObject(lim, "max_num", SERVE_MAX_NUM);
    cJSON_AddNumberToObject(lim, "max_bars", SERVE_MAX_BARS);
    cJSON_AddNumberToObject(lim, "max_queue", s->opt.max_queue);
    cJSON_AddNumberToObject(lim, "max_takes", s->opt.max_takes);
    reply_json(out, 200, root);
}

static const char *state_name(serve_job_state st)
{
    static const char *const names[] = {"queued", "running", "done", "failed"};
    return names[st];
}

/* GET /api/jobs/N[?wait=SEC]: with wait (0..10 s), the answer waits until
 * the job moves on (a long poll: the page hears of each variation at once). */
static void route_job(serve_studio *s, int id, const char *wait, serve_reply *out)
{
    char *rest = NULL;
    double wait_sec = wait ? strtod(wait, &rest) : 0;
    if (wait && (rest == wait || *rest || !(wait_sec >= 0 && wait_sec <= 10))) {
        reply_error(out, 400, "wait must be a number of seconds from 0 to 10");
        return;
    }
    pthread_mutex_lock(&s->lock);
    jobs_wait_change(s, id, wait_sec);
    serve_job *j = jobs_find(s, id);
    if (!j) {
        pthread_mutex_unlock(&s->lock);
        reply_error(out, 404, "request %d is not known to this session", id);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "id", j->id);
    cJSON_AddStringToObject(root, "state", state_name(j->state));
    cJSON_AddNumberToObject(root, "position", j->state == JOB_QUEUED ? jobs_position(s, j) : 0);
    cJSON_AddNumberToObject(root, "done", j->done);
    cJSON_AddNumberToObject(root, "num", j->req.num);
    cJSON_AddNumberToObject(root, "seed", (double)j->req.seed);
    cJSON_AddNumberToObject(root, "temperature", j->req.temperature); /* the settings applied */
    cJSON_AddNumberToObject(root, "pitch_temperature", j->req.pitch_temperature);
    cJSON_AddNumberToObject(root, "rerank", j->req.rerank);
    if (j->req.rerank > 1 && j->req.mode == SERVE_ACCOMPANY)
        cJSON_AddStringToObject(root, "rerank_by", j->req.rerank_by != TG_RERANK_BY_TAKE ? "bar" : "take");
    cJSON_AddBoolToObject(root, "quality", j->req.quality);
    double end = j->state >= JOB_DONE ? j->t_finished : tg_now_sec();
    cJSON_AddNumberToObject(root, "seconds", j->t_started > 0 ? end - j->t_started : 0);
    cJSON_AddNumberToObject(root, "waited_seconds", (j->t_started > 0 ? j->t_started : end) - j->t_queued);
    cJSON *ids = cJSON_AddArrayToObject(root, "takes");
    for (int i = 0; i < j->n_takes; i++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(j->take_ids[i]));
    if (j->state == JOB_FAILED) cJSON_AddStringToObject(root, "error", j->error);
    if (j->bars_before >= 0) { /* infill, done: what the model heard around the gap */
        cJSON_AddNumberToObject(root, "bars_before", j->bars_before);
        cJSON_AddNumberToObject(root, "bars_after", j->bars_after);
        cJSON_AddBoolToObject(root, "left_to_right", j->left_to_right); /* by the whole-tune model */
    }
    pthread_mutex_unlock(&s->lock);
    reply_json(out, 200, root);
}

static void route_takes(serve_studio *s, serve_reply *out)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n_takes; i++) {
        char *text = routes_take_json(s, &s->takes[i], false);
        cJSON *t = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (t) cJSON_AddItemToArray(arr, t);
    }
    pthread_mutex_unlock(&s->lock);
    reply_json(out, 200, arr);
}

static void route_take(serve_studio *s, int id, serve_reply *out)
{
    pthread_mutex_lock(&s->lock);
    serve_take *t = studio_find_take(s, id);
    if (t) reply_take(s, out, 200, t, true);
    else reply_error(out, 404, "take %d is not in this session", id);
    pthread_mutex_unlock(&s->lock);
}

/* The take as sheet music (tg_musicxml_write_memory), titled with its label. */
static tg_status take_musicxml(serve_studio *s, int id, uint8_t **data, size_t *size, char *err, size_t err_len)
{
    pthread_mutex_lock(&s->lock);
    serve_take *t = studio_find_take(s, id);
    tg_status st = TG_ERR_NOT_FOUND;
    if (t) {
        tg_musicxml_options mo = tg_musicxml_options_default();
        char title[200];
        snprintf(title, sizeof title, "tunegan take %d: %s", t->id, t->label);
        mo.title = title;
        char *xml = NULL;
        st = tg_musicxml_write_memory(t->score, &mo, &xml, size, err, err_len);
        *data = (uint8_t *)xml;
    } else {
        snprintf(err, err_len, "take %d is not in this session", id);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* The take as a file: format "mid", "wav" or "musicxml". */
static void route_file(serve_studio *s, int id, const char *format, serve_reply *out)
{
    uint8_t *data = NULL;
    size_t size = 0;
    char err[400] = "";
    tg_status st;
    const char *type;
    if (!format || strcmp(format, "mid") == 0) {
        type = "audio/midi";
        format = "mid";
        pthread_mutex_lock(&s->lock);
        serve_take *t = studio_find_take(s, id);
        st = t ? tg_midi_write_memory(t->score, NULL, &data, &size) : TG_ERR_NOT_FOUND;
        pthread_mutex_unlock(&s->lock);
        if (st == TG_ERR_NOT_FOUND) snprintf(err, sizeof err, "take %d is not in this session", id);
    } else if (strcmp(format, "wav") == 0) {
        type = "audio/wav";
        st = studio_take_wav(s, id, &data, &size, err, sizeof err);
    } else if (strcmp(format, "musicxml") == 0) {
        type = "application/vnd.recordare.musicxml+xml";
        st = take_musicxml(s, id, &data, &size, err, sizeof err);
    } else {
        reply_error(out, 400, "format must be mid, wav or musicxml (not '%.20s')", format);
        return;
    }
    if (st != TG_OK) {
        reply_error(out, status_of(st), "%s", err[0] ? err : tg_status_str(st));
        return;
    }
    memset(out, 0, sizeof *out);
    out->status = 200;
    out->type = type;
    out->body = data;
    out->size = size;
    snprintf(out->filename, sizeof out->filename, "tunegan-take-%d.%s", id, format);
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

/* A take or job number: digits only, 1..999999999; -1 otherwise. */
static int parse_id(const char *p, const char **rest)
{
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    *rest = p;
    return digits == 0 || digits > 9 || v == 0 ? -1 : (int)v;
}

static void route_static(const char *name, serve_reply *out)
{
    const serve_asset *a = strchr(name, '/') ? NULL : serve_asset_find(name);
    if (!a || strncmp(name, "primer-", 7) == 0) {
        reply_error(out, 404, "no such file");
        return;
    }
    memset(out, 0, sizeof *out);
    out->status = 200;
    out->type = a->type;
    out->static_body = a->data;
    out->size = a->size;
}

static void route_takes_path(serve_studio *s, const serve_http_request *rq, const char *p, serve_reply *out)
{
    const char *rest;
    int id = parse_id(p, &rest);
    if (id < 0) reply_error(out, 404, "no such take");
    else if (strcmp(rest, "") == 0) route_take(s, id, out);
    else if (strcmp(rest, "/file") == 0) route_file(s, id, rq->arg(rq->ctx, "format"), out);
    else reply_error(out, 404, "no such page");
}

static void route_get(serve_studio *s, const serve_http_request *rq, serve_reply *out)
{
    const char *p = rq->path;
    const char *rest;
    if (strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0) route_static("index.html", out);
    else if (strncmp(p, "/static/", 8) == 0) route_static(p + 8, out);
    else if (strcmp(p, "/api/studio") == 0) route_studio(s, out);
    else if (strcmp(p, "/api/takes") == 0) route_takes(s, out);
    else if (strncmp(p, "/api/takes/", 11) == 0) route_takes_path(s, rq, p + 11, out);
    else if (strncmp(p, "/api/jobs/", 10) == 0) {
        int id = parse_id(p + 10, &rest);
        if (id < 0 || *rest) reply_error(out, 404, "no such request");
        else route_job(s, id, rq->arg(rq->ctx, "wait"), out);
    } else reply_error(out, 404, "no such page");
}

static void route_post(serve_studio *s, const serve_http_request *rq, serve_reply *out)
{
    const char *p = rq->path;
    if (strcmp(p, "/api/upload") == 0) {
        route_upload(s, rq, out);
    } else if (strcmp(p, "/api/primer") == 0) {
        route_primer(s, out);
    } else if (strcmp(p, "/api/generate") == 0) {
        char err[400];
        int job;
        tg_status st = jobs_submit(s, (const char *)rq->body, rq->body_size, &job, err, sizeof err);
        if (st != TG_OK) {
            reply_error(out, status_of(st), "%s", err);
            return;
        }
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "job", job);
        reply_json(out, 202, root);
    } else {
        reply_error(out, 404, "no such page");
    }
}

void routes_handle(serve_studio *s, const serve_http_request *rq, serve_reply *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0) route_get(s, rq, out);
    else if (strcmp(rq->method, "POST") == 0) route_post(s, rq, out);
    else reply_error(out, 405, "method %.10s is not used here", rq->method);
}
