/*
 * studio.c: what `tunegan serve` holds for its session: the run (opened
 * once), the takes in memory (uploads, the bundled primer, generated
 * variations; the oldest dropped past max_takes), the model card, and a
 * temporary folder made with mkdtemp where audio is rendered under names
 * made from a take's number alone, so no request can name a file. Freeing
 * the studio stops the worker and removes the folder.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "render/render.h"
#include "run/run.h"
#include "serve.h"
#include "tok/tok.h"

serve_options serve_options_default(void)
{
    serve_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = 8765;
    o.max_upload_bytes = 4u << 20;
    o.max_queue = 8;
    o.max_takes = 200;
    o.connection_limit = 64;
    return o;
}

const serve_asset *serve_asset_find(const char *name)
{
    for (const serve_asset *a = serve_assets; a->name; a++)
        if (strcmp(a->name, name) == 0) return a;
    return NULL;
}

static void say(const serve_studio *s, tg_log_level level, const char *msg)
{
    if (s->opt.logger.fn) s->opt.logger.fn(s->opt.logger.user, level, msg);
}

/* ------------------------------------------------------------------------ */
/* The bundled primer: "Twinkle, twinkle" as remi tokens, one per line
 * (assets/primers/twinkle.txt, embedded), decoded with remi's defaults. */

static tg_status decode_primer(tg_score **out, char *err, size_t err_len)
{
    const serve_asset *a = serve_asset_find("primer-twinkle.txt");
    tok_tokenizer *tok = NULL;
    tok_config cfg = tok_config_default(TOK_REMI);
    tg_status st = a ? tok_create(&cfg, &tok) : TG_ERR_NOT_FOUND;
    tok_seq seq = {0};
    const char *p = a ? (const char *)a->data : "", *end = p + (a ? a->size : 0);
    while (st == TG_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char name[64];
        if (n > 0 && n < sizeof name && p[0] != '#') {
            memcpy(name, p, n);
            name[n] = 0;
            int id = tok_lookup(tok, name);
            st = id < 0 ? TG_ERR_FORMAT : tok_seq_push(&seq, id);
        }
        p += n + 1;
    }
    if (st == TG_OK) st = tok_decode(tok, seq.ids, seq.n, NULL, out, NULL, NULL);
    if (st != TG_OK) snprintf(err, err_len, "the bundled primer does not decode: %s", tg_status_str(st));
    tok_seq_free(&seq);
    tok_free(tok);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Opening */

/* The model card: README.md in the run folder, or beside the checkpoint. */
static char *read_card(const char *model_path)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", model_path);
    if (!tg_is_dir(dir)) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
    }
    snprintf(path, sizeof path, "%s/README.md", dir);
    uint8_t *data;
    size_t size;
    if (tg_file_read_all(path, 256u << 10, &data, &size) != TG_OK) return NULL;
    char *text = realloc(data, size + 1);
    if (!text) {
        free(data);
        return NULL;
    }
    text[size] = 0;
    return text;
}

static tg_status make_tmp_dir(serve_studio *s, char *err, size_t err_len)
{
    const char *base = getenv("TMPDIR");
    if (!base || !base[0]) base = "/tmp";
    snprintf(s->tmp_dir, sizeof s->tmp_dir, "%s/tunegan-serve-XXXXXX", base);
    if (mkdtemp(s->tmp_dir)) return TG_OK;
    snprintf(err, err_len, "cannot make a temporary folder in %s: %s", base, strerror(errno));
    s->tmp_dir[0] = 0;
    return TG_ERR_IO;
}

tg_status studio_create(const serve_options *o, serve_studio **out, char *err, size_t err_len)
{
    serve_studio *s = calloc(1, sizeof *s);
    if (!s) return TG_ERR_NOMEM;
    s->opt = *o;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->render_lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->next_take_id = 1;
    s->next_job_id = 1;
    snprintf(s->model_path, sizeof s->model_path, "%s", o->model);
    tg_status st = tg_run_open(o->model, &s->run, err, err_len);
    if (st == TG_OK) st = decode_primer(&s->bundled_primer, err, err_len);
    if (st == TG_OK) st = make_tmp_dir(s, err, err_len);
    if (st == TG_OK && o->accompany_model) { /* its table of tracks now, not at the first request */
        char path[1024], tracks[512];
        st = studio_accompany_model(s, s->bundled_primer, path, sizeof path, tracks, sizeof tracks, err, err_len);
    }
    if (st == TG_OK) {
        char why[256];
        tg_audio_options ao = tg_audio_options_default();
        ao.soundfont = o->soundfont;
        s->audio = render_check_soundfont(o->soundfont, &s->soundfont, why, sizeof why) == TG_OK &&
                   render_synth_create(&ao, &s->synth, why, sizeof why) == TG_OK;
        if (!s->audio) {
            char msg[400];
            snprintf(msg, sizeof msg, "no audio in the studio: %s", why);
            say(s, TG_LOG_WARN, msg);
        }
        s->card = read_card(tg_run_checkpoint(s->run));
        st = run_sampling_read(tg_run_checkpoint(s->run), &s->sampling, err, err_len);
    }
    if (st == TG_OK) {
        if (pthread_create(&s->worker, NULL, jobs_worker, s) != 0) {
            snprintf(err, err_len, "cannot start the generation thread");
            st = TG_ERR_NOMEM;
        } else {
            s->worker_started = true;
        }
    }
    if (st != TG_OK) {
        studio_free(s);
        return st;
    }
    *out = s;
    return TG_OK;
}

/* Removes the files of the temporary folder (only ours are there), then it. */
static void remove_tmp_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void studio_begin_stop(serve_studio *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->wake);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

void studio_free(serve_studio *s)
{
    if (!s) return;
    if (s->worker_started) {
        studio_begin_stop(s);
        pthread_join(s->worker, NULL);
    }
    for (size_t i = 0; i < s->n_takes; i++) tg_score_free(s->takes[i].score);
    free(s->takes);
    for (int i = 0; i < SERVE_JOB_SLOTS; i++) tg_score_free(s->jobs[i].primer);
    if (s->tmp_dir[0]) remove_tmp_dir(s->tmp_dir);
    tg_score_free(s->bundled_primer);
    render_synth_free(s->synth);
    for (int i = 0; i < (int)TG_ARRAY_LEN(s->acc_runs); i++) tg_run_free(s->acc_runs[i]);
    free(s->card);
    tg_run_free(s->run);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->render_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Takes */

static void wav_path(const serve_studio *s, int id, char *path, size_t len)
{
    snprintf(path, len, "%s/take-%d.wav", s->tmp_dir, id);
}

/* Drops the oldest generated take (its audio too), or the oldest of all when
 * every take was brought in: the pieces a musician brought stay longest. Lock held. */
static void drop_oldest(serve_studio *s)
{
    size_t k = 0;
    while (k < s->n_takes && s->takes[k].job == 0) k++;
    if (k == s->n_takes) k = 0;
    char path[600];
    wav_path(s, s->takes[k].id, path, sizeof path);
    unlink(path);
    tg_score_free(s->takes[k].score);
    memmove(s->takes + k, s->takes + k + 1, (s->n_takes - k - 1) * sizeof *s->takes);
    s->n_takes--;
}

tg_status studio_add_take(serve_studio *s, tg_score *score, const serve_take *info, int *id)
{
    pthread_mutex_lock(&s->lock);
    if (s->n_takes >= (size_t)s->opt.max_takes) drop_oldest(s);
    if (!s->takes) s->takes = calloc((size_t)s->opt.max_takes, sizeof *s->takes);
    if (!s->takes) {
        pthread_mutex_unlock(&s->lock);
        tg_score_free(score);
        return TG_ERR_NOMEM;
    }
    serve_take *t = &s->takes[s->n_takes++];
    *t = *info;
    t->id = s->next_take_id++;
    t->score = score;
    *id = t->id;
    pthread_mutex_unlock(&s->lock);
    return TG_OK;
}

serve_take *studio_find_take(serve_studio *s, int id)
{
    for (size_t i = 0; i < s->n_takes; i++)
        if (s->takes[i].id == id) return &s->takes[i];
    return NULL;
}

tg_status studio_take_wav(serve_studio *s, int id, uint8_t **data, size_t *size, char *err,
                          size_t err_len)
{
    if (!s->audio) {
        snprintf(err, err_len, "this studio has no audio: no General MIDI SoundFont was found "
                 "(Debian: fluid-soundfont-gm), or tunegan was built without FluidSynth");
        return TG_ERR_UNSUPPORTED;
    }
    pthread_mutex_lock(&s->lock);
    serve_take *t = studio_find_take(s, id);
    tg_score *copy = NULL;
    tg_status st = t ? tg_score_clone(t->score, &copy) : TG_ERR_NOT_FOUND;
    pthread_mutex_unlock(&s->lock);
    if (st != TG_OK) {
        snprintf(err, err_len, st == TG_ERR_NOT_FOUND ? "take %d is not in this session" : "out of memory", id);
        return st;
    }
    char path[600];
    wav_path(s, id, path, sizeof path);
    pthread_mutex_lock(&s->render_lock);
    if (!tg_file_exists(path)) st = render_synth_wav(s->synth, copy, path, err, err_len);
    if (st == TG_OK) {
        st = tg_file_read_all(path, 512u << 20, data, size);
        if (st != TG_OK) snprintf(err, err_len, "the audio of take %d cannot be read back: %s", id, tg_status_str(st));
    }
    pthread_mutex_unlock(&s->render_lock);
    tg_score_free(copy);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The any-track models */

tg_status studio_accompany_model(const serve_studio *s, const tg_score *piece, char *path, size_t path_len,
                                 char *tracks, size_t tracks_len, char *err, size_t err_len)
{
    tg_status st = TG_OK;
    if (s->opt.accompany_model) {
        const char *m = s->opt.accompany_model;
        if (tg_is_dir(m)) snprintf(path, path_len, "%s/model.safetensors", m);
        else snprintf(path, path_len, "%s", m);
    } else if (s->opt.models_dir) {
        run_accompany_pick pick;
        st = run_pick_accompany(piece, s->opt.models_dir, &pick, err, err_len);
        if (st == TG_OK) snprintf(path, path_len, "%s", pick.path);
    } else {
        snprintf(err, err_len, "this studio has no any-track model: start it with --accompany-model RUN");
        st = TG_ERR_NOT_FOUND;
    }
    run_slots sl;
    if (st == TG_OK) st = run_slots_read_file(path, &sl, err, err_len);
    if (st != TG_OK) return st;
    tracks[0] = 0;
    for (int k = 0; k < sl.n; k++)
        snprintf(tracks + strlen(tracks), tracks_len - strlen(tracks), "%s%s", k ? "," : "", sl.name[k]);
    return TG_OK;
}

tg_status studio_infill_model(const serve_studio *s, const tg_score *piece, int bar_first, char *path,
                              size_t path_len, char *err, size_t err_len)
{
    if (!s->opt.accompany_model && s->opt.models_dir) {
        run_infill_pick pick;
        if (run_pick_infill(piece, s->opt.models_dir, bar_first, false, &pick, err, err_len) == TG_OK && pick.whole_tune) {
            snprintf(path, path_len, "%s", pick.pick.path);
            return TG_OK;
        }
    }
    char tracks[512];
    return studio_accompany_model(s, piece, path, path_len, tracks, sizeof tracks, err, err_len);
}

/* Whether two paths name one file (the model the studio has open). */
static bool same_file(const char *a, const char *b)
{
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    const bool same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;
    free(ra), free(rb);
    return same;
}

tg_status studio_accompany_run(serve_studio *s, const char *path, tg_run **run, char *err, size_t err_len)
{
    if (same_file(path, tg_run_checkpoint(s->run))) { /* the studio's own model (the whole-tune default) */
        *run = s->run;
        return TG_OK;
    }
    const int n = (int)TG_ARRAY_LEN(s->acc_runs);
    int k = 0;
    while (k < n && s->acc_runs[k] && strcmp(s->acc_paths[k], path) != 0) k++;
    if (k < n && s->acc_runs[k]) {
        *run = s->acc_runs[k];
        return TG_OK;
    }
    if (k == n) { /* all slots taken by other models: the first goes */
        tg_run_free(s->acc_runs[0]);
        memmove(s->acc_runs, s->acc_runs + 1, (size_t)(n - 1) * sizeof *s->acc_runs);
        memmove(s->acc_paths, s->acc_paths + 1, (size_t)(n - 1) * sizeof *s->acc_paths);
        k = n - 1;
        s->acc_runs[k] = NULL;
    }
    tg_status st = tg_run_open(path, &s->acc_runs[k], err, err_len);
    if (st != TG_OK) return st;
    snprintf(s->acc_paths[k], sizeof s->acc_paths[k], "%s", path);
    char msg[1200];
    snprintf(msg, sizeof msg, "opened the %s model %s", run_infills_forward(s->acc_runs[k]) ? "whole-tune" : "any-track",
             path);
    say(s, TG_LOG_INFO, msg);
    *run = s->acc_runs[k];
    return TG_OK;
}
