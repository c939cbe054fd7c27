/* test_serve.c: the studio's routes in process, without a socket (src/serve):
 * the page's files and nothing else, the bundled primer as a take with its
 * bar lines, a new-tune request through the queue and its worker (the long
 * poll wakes when it is done), the takes as MIDI that reads back, the same
 * seed giving the same bytes, refusals naming the field, a full queue, and
 * the oldest generated take dropped before the pieces brought in, accompany
 * and infill (refused without an any-track model; the primer accompanied,
 * the same seed the same bytes; bars written again; bad bars and tracks
 * refused by name). Needs the bundled model (skipped without it). tests/test_cli_serve.sh covers the
 * HTTP layer. */
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"
#include "test.h"

static serve_studio *studio;

static const char *format_arg(void *ctx, const char *key)
{
    return strcmp(key, "format") == 0 ? (const char *)ctx : NULL;
}

/* One request; the reply's body is kept (0-terminated) in *body if asked. */
static int call(const char *method, const char *path, const char *query_format, const char *body, char **out)
{
    serve_http_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    rq.ctx = (void *)query_format;
    rq.arg = format_arg;
    rq.body = (const uint8_t *)body;
    rq.body_size = body ? strlen(body) : 0;
    serve_reply r;
    routes_handle(studio, &rq, &r);
    if (out) {
        *out = malloc(r.size + 1);
        memcpy(*out, r.body ? r.body : r.static_body, r.size);
        (*out)[r.size] = 0;
    }
    free(r.body);
    return r.status;
}

/* GET /api/takes/N/file?format=mid: the bytes, *size. */
static uint8_t *take_midi(int id, size_t *size)
{
    char path[64];
    snprintf(path, sizeof path, "/api/takes/%d/file", id);
    serve_http_request rq = {"GET", path, format_arg, "mid", NULL, 0};
    serve_reply r;
    routes_handle(studio, &rq, &r);
    CHECK_INT(r.status, 200);
    *size = r.size;
    return r.body;
}

static int json_int(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? atoi(p + strlen(pat)) : -1;
}

/* Submits a request and waits for it; returns its first take's id. */
static int post_job(const char *json)
{
    char *body;
    CHECK_INT(call("POST", "/api/generate", NULL, json, &body), 202);
    int job = json_int(body, "job");
    free(body);
    return job;
}

/* The request's first take, once it is done. */
static int wait_take(int job)
{
    for (int i = 0; i < 600; i++) {
        pthread_mutex_lock(&studio->lock);
        jobs_wait_change(studio, job, 1.0);
        serve_job *j = jobs_find(studio, job);
        bool over = !j || j->state >= JOB_DONE;
        int take = j && j->n_takes ? j->take_ids[0] : -1;
        bool ok = j && j->state == JOB_DONE;
        pthread_mutex_unlock(&studio->lock);
        if (over) {
            CHECK(ok);
            return take;
        }
    }
    CHECK(!"the request did not finish in 10 minutes");
    return -1;
}

static int generate(const char *json) { return wait_take(post_job(json)); }

/* The bars a request asks for, as the studio read it. */
static int job_bars(int job)
{
    pthread_mutex_lock(&studio->lock);
    serve_job *j = jobs_find(studio, job);
    int bars = j ? j->req.bars : -1;
    pthread_mutex_unlock(&studio->lock);
    return bars;
}

int main(void)
{
    char model[1024];
    snprintf(model, sizeof model, "%s/models/default/model.safetensors", TG_SOURCE_DIR);
    FILE *fp = fopen(model, "rb");
    if (!fp) {
        printf("skipped: no bundled model at %s\n", model);
        return TEST_SKIP_CODE;
    }
    fclose(fp);
    serve_options o = serve_options_default();
    o.model = model;
    o.threads = 1;
    o.max_queue = 1;
    o.max_takes = 8;
    char err[512] = "";
    CHECK_OK(studio_create(&o, &studio, err, sizeof err));
    if (!studio) return test_finish("test_serve");

    /* the page's files, and nothing else */
    char *body;
    CHECK_INT(call("GET", "/", NULL, NULL, &body), 200);
    CHECK(strstr(body, "studio.js") != NULL);
    free(body);
    CHECK(serve_asset_find("index.html") && serve_asset_find("roll.js") && serve_asset_find("studio.css"));
    CHECK_INT(call("GET", "/static/../index.html", NULL, NULL, NULL), 404);
    CHECK_INT(call("GET", "/static/primer-twinkle.txt", NULL, NULL, NULL), 404);
    CHECK_INT(call("PUT", "/api/takes", NULL, NULL, NULL), 405);

    /* the bundled primer: 4 bars of 4/4 at 480 ticks per quarter */
    CHECK_INT(call("POST", "/api/primer", NULL, NULL, &body), 201);
    CHECK(strstr(body, "\"bars\":[0,1920,3840,5760,7680]") != NULL);
    int primer = json_int(body, "id");
    free(body);

    /* refusals name the field */
    CHECK_INT(call("POST", "/api/generate", NULL, "{\"mode\":\"new\",\"num\":9}", &body), 400);
    CHECK(strstr(body, "num must be between 1 and 8") != NULL);
    free(body);
    CHECK_INT(call("POST", "/api/generate", NULL, "{\"mode\":\"continue\",\"source\":1,\"keep_bars\":5}", &body), 400);
    CHECK(strstr(body, "has 4 bars") != NULL);
    free(body);
    CHECK_INT(call("POST", "/api/generate", NULL, "[1,2]", NULL), 400);

    /* accompany and infill: without a models folder or --accompany-model they are refused, saying so */
    CHECK_INT(call("GET", "/api/takes/1", NULL, NULL, &body), 200);
    CHECK(strstr(body, "\"accompany\":{\"error\":\"this studio has no any-track model") != NULL);
    free(body);
    CHECK_INT(call("POST", "/api/generate", NULL, "{\"mode\":\"accompany\",\"source\":1}", &body), 404);
    CHECK(strstr(body, "no any-track model") != NULL);
    free(body);
    char models[1024];
    snprintf(models, sizeof models, "%s/models", TG_SOURCE_DIR);
    studio->opt.models_dir = models; /* as `tunegan serve` sets it; no request is running */
    CHECK_INT(call("GET", "/api/takes/1", NULL, NULL, &body), 200);
    CHECK(strstr(body, "accompany-nottingham/model.safetensors\",\"tracks\":[\"melody\",\"chords\"]") != NULL);
    free(body);
    /* the primer's melody accompanied: it is given (track 0), the same seed gives the same bytes */
    const char *acc = "{\"mode\":\"accompany\",\"source\":1,\"tracks\":\"chords\",\"seed\":3}";
    int ac1 = generate(acc), ac2 = generate(acc);
    size_t n1, n2;
    uint8_t *m1 = take_midi(ac1, &n1), *m2 = take_midi(ac2, &n2);
    CHECK(n1 == n2 && memcmp(m1, m2, n1) == 0);
    free(m1);
    free(m2);
    pthread_mutex_lock(&studio->lock);
    serve_take *at = studio_find_take(studio, ac1);
    CHECK(at && at->score->n_tracks == 2 && at->given_tracks == 1u && strcmp(at->kind, "accompany") == 0 &&
          strcmp(at->model, "accompany-nottingham") == 0);
    pthread_mutex_unlock(&studio->lock);
    /* bars 2-3 of it again: the take says which ticks were written */
    char inf[160];
    snprintf(inf, sizeof inf, "{\"mode\":\"infill\",\"source\":%d,\"bars_from\":2,\"bars_to\":3,\"seed\":4}", ac1);
    int in1 = generate(inf);
    pthread_mutex_lock(&studio->lock);
    serve_take *it = studio_find_take(studio, in1);
    CHECK(it && it->written_from == 1920 && it->written_to == 5760 && strcmp(it->kind, "infill") == 0);
    pthread_mutex_unlock(&studio->lock);
    snprintf(inf, sizeof inf, "{\"mode\":\"infill\",\"source\":%d,\"bars_from\":4,\"bars_to\":5}", ac1);
    CHECK_INT(call("POST", "/api/generate", NULL, inf, &body), 400);
    CHECK(strstr(body, "bars 4-5: take") != NULL && strstr(body, "has 4 bars") != NULL);
    free(body);
    CHECK_INT(call("POST", "/api/generate", NULL, "{\"mode\":\"accompany\",\"source\":1,\"tracks\":\"tenor\"}", &body), 400);
    CHECK(strstr(body, "no track 'tenor' in accompany-nottingham") != NULL);
    free(body);

    /* without bars: a whole tune of 32 bars for a new tune, 8 added to a continuation */
    int job = post_job("{\"mode\":\"new\",\"seed\":5}");
    CHECK_INT(job_bars(job), 32);
    CHECK(wait_take(job) > 0);
    job = post_job("{\"mode\":\"continue\",\"source\":1,\"keep_bars\":2,\"seed\":5}");
    CHECK_INT(job_bars(job), 8);
    CHECK(wait_take(job) > 0);

    /* a continuation, twice with the same seed: the same bytes, MIDI that reads back */
    const char *req = "{\"mode\":\"continue\",\"source\":1,\"keep_bars\":2,\"bars\":2,\"seed\":11}";
    int a = generate(req), b = generate(req);
    size_t na, nb;
    uint8_t *ma = take_midi(a, &na), *mb = take_midi(b, &nb);
    CHECK(na == nb && memcmp(ma, mb, na) == 0);
    char path[64];
    snprintf(path, sizeof path, "/api/takes/%d/file", a);
    CHECK_INT(call("GET", path, "musicxml", NULL, &body), 200);
    CHECK(strstr(body, "<score-partwise") != NULL && strstr(body, "<note") != NULL);
    free(body);
    CHECK_INT(call("GET", path, "pdf", NULL, NULL), 400);
    tg_score *sc = NULL;
    CHECK_OK(tg_midi_read_memory(ma, na, NULL, &sc, NULL, NULL));
    CHECK(sc && tg_score_note_count(sc) > 0);
    tg_score_free(sc);
    free(ma);
    free(mb);

    /* a full queue: one running, one waiting, the third refused (503) */
    const char *slow = "{\"mode\":\"new\",\"bars\":16,\"seed\":1}";
    int codes[3], last = 0;
    for (int i = 0; i < 3; i++) {
        codes[i] = call("POST", "/api/generate", NULL, slow, &body);
        if (codes[i] == 202) last = json_int(body, "job");
        free(body);
    }
    CHECK_INT(codes[0], 202);
    CHECK(codes[1] == 503 || codes[2] == 503);
    for (bool busy = true; busy;) { /* the queue drains */
        pthread_mutex_lock(&studio->lock);
        jobs_wait_change(studio, last, 1.0);
        serve_job *j = jobs_find(studio, last);
        busy = j && j->state < JOB_DONE;
        pthread_mutex_unlock(&studio->lock);
    }

    /* more takes than kept: generated ones go, the primer stays */
    for (int i = 0; i < 8; i++) generate("{\"mode\":\"new\",\"bars\":1,\"seed\":5}");
    pthread_mutex_lock(&studio->lock);
    CHECK(studio_find_take(studio, primer) != NULL);
    CHECK(studio_find_take(studio, a) == NULL);
    CHECK_INT((long long)studio->n_takes, 8);
    pthread_mutex_unlock(&studio->lock);

    char tmp[sizeof studio->tmp_dir];
    snprintf(tmp, sizeof tmp, "%s", studio->tmp_dir);
    studio_free(studio);
    FILE *gone = fopen(tmp, "r");
    CHECK(gone == NULL); /* the temporary folder is removed */
    if (gone) fclose(gone);
    return test_finish("test_serve");
}
