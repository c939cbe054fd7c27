/*
 * serve.h: `tunegan serve`, a studio in the browser. One page (web/,
 * embedded in the binary) talks to a small JSON API over HTTP on loopback:
 * bring a piece in (upload a MIDI file, or the bundled primer), ask the run
 * for new tunes or continuations, see each take's notes as a piano roll,
 * hear it (WAV rendered by FluidSynth on the server) and download it.
 *
 * The parts: the studio (studio.c: the run, the session's takes in memory,
 * a temporary folder for audio), the job queue and its one worker thread
 * (jobs.c: generation requests from any number of tabs wait their turn),
 * the routes (routes.c: URL and body in, status and body out, no HTTP
 * library in sight) and the HTTP glue (http.c, libmicrohttpd).
 *
 * What it leaves out: accounts, persistence across restarts (takes live
 * while the server does), TLS (it listens on 127.0.0.1 unless told).
 */
#ifndef TG_SERVE_H
#define TG_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/run.h"
#include "tunegan.h"

/* ------------------------------------------------------------------------ */
/* The page's files, embedded at build time (tools/embed_files.cmake). */

typedef struct {
    const char *name;           /* "studio.js" */
    const char *type;           /* its media type */
    const unsigned char *data;
    size_t size;
} serve_asset;

extern const serve_asset serve_assets[]; /* ends with a NULL name */

/* The asset named exactly name (no folders: the table is all there is). */
const serve_asset *serve_asset_find(const char *name);

/* ------------------------------------------------------------------------ */
/* Options and limits */

#define SERVE_MAX_NUM 8         /* variations per request */
#define SERVE_MAX_RERANK 8      /* takes per variation of accompany and infill (the best kept) */
#define SERVE_MAX_BARS 64       /* bars added or kept per request */
#define SERVE_MAX_NOTES 100000  /* notes of a piece the page is sent */
#define SERVE_JOB_SLOTS 64      /* jobs remembered (queued, running and finished) */

typedef struct {
    const char *host;          /* "127.0.0.1"; an IPv4 or IPv6 address */
    int port;                  /* 8765; 0: any free port (serve_port says which) */
    const char *model;         /* run folder or checkpoint (required) */
    const char *accompany_model; /* any-track run for accompany and infill (NULL: the bundled one
                                    that fits the piece, from models_dir: run_pick_accompany) */
    const char *models_dir;    /* where the bundled models are (NULL: no accompaniment without
                                  accompany_model) */
    const char *soundfont;     /* NULL: the first General MIDI SoundFont found */
    size_t max_upload_bytes;   /* 4 MiB: larger uploads and bodies are refused */
    int max_queue;             /* 8: generate requests waiting beyond the running one */
    int max_takes;             /* 200: takes kept; the oldest generated go first */
    int connection_limit;      /* 64 */
    int threads;               /* the worker's OpenMP threads (0: all cores) */
    tg_logger logger;          /* requests refused, failures (none by default) */
} serve_options;

serve_options serve_options_default(void);

/* ------------------------------------------------------------------------ */
/* The studio (studio.c, jobs.c): state shared by the HTTP threads and the worker. */

typedef struct {
    int id;
    tg_score *score;           /* owned; never changed once stored */
    int64_t primer_end_ticks;  /* the given part, shaded on the roll (0: none) */
    char label[160];           /* "continuation of #2: 4 + 8 bars, seed 7, 1 of 3" */
    char kind[16];             /* "upload", "primer", "new", "continue", "accompany", "infill" */
    int job;                   /* the request that made it (0: none) */
    int variation;             /* 0-based within the request */
    uint64_t seed;             /* the request's seed */
    double temperature, top_p;
    uint32_t given_tracks;     /* accompany, infill: tracks (bit per index) kept note for note */
    int64_t written_from, written_to; /* infill: the ticks of the bars written again (else 0, 0) */
    char model[64];            /* accompany, infill: the any-track model's folder name */
} serve_take;

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED } serve_job_state;

typedef enum { SERVE_NEW, SERVE_CONTINUE, SERVE_ACCOMPANY, SERVE_INFILL } serve_mode;

/* A generate request as the page sends it, checked (jobs.c). */
typedef struct {
    serve_mode mode;
    bool cont;                 /* continue source (mode SERVE_CONTINUE) */
    int source;                /* the take continued */
    int keep_bars;             /* its bars kept (continue) */
    int bars;                  /* bars added */
    int num;                   /* variations */
    double temperature, top_p;
    double pitch_temperature;  /* 0: off (resolved from the model's sampling.tsv when not asked) */
    uint64_t seed;
    char tracks[256];          /* accompany, infill: tracks to write, "alto,tenor" ("": the default) */
    int bar_first, bar_last;   /* infill: bars from 1, inclusive */
    int rerank;                /* accompany, infill: takes per variation, the best kept (1: off;
                                  accompany: the model's sampling.tsv when not asked) */
    int rerank_by;             /* accompany: tg_rerank_by (the request's, quality's, or the model's rule;
                                  -1 until check_any_track reads it) */
    bool quality;              /* accompany: the setting measured closest to the real chords (accompany --quality) */
    int64_t written_from, written_to; /* infill: their ticks in the source */
    char model[1024];          /* accompany, infill: the any-track model's checkpoint */
} serve_request;

typedef struct {
    int id;                    /* 0: a free slot */
    serve_job_state state;
    serve_request req;
    tg_score *primer;          /* owned copy of the source while queued or running */
    char source_label[64];
    int done;                  /* variations finished */
    int take_ids[SERVE_MAX_NUM];
    int n_takes;
    char error[320];
    int bars_before, bars_after; /* infill, once done: the bars around the gap the model saw (-1: not yet) */
    bool left_to_right;        /* infill, once done: by the whole-tune model (tg_generate_stats) */
    double t_queued, t_started, t_finished; /* tg_now_sec() */
} serve_job;

typedef struct serve_studio {
    serve_options opt;
    tg_run *run;
    char model_path[1024];
    char *card;                /* the model card (README.md beside the model), or NULL */
    run_sampling sampling;     /* the model's sampling defaults (its sampling.tsv; else 1 and 1) */
    char tmp_dir[512];         /* mkdtemp'ed; removed by studio_free */
    tg_score *bundled_primer;  /* "Twinkle, twinkle" decoded once */
    bool audio;                /* a SoundFont was found and the build has FluidSynth */
    const char *soundfont;
    struct render_synth *synth; /* the SoundFont, loaded once (render_lock guards it) */

    pthread_mutex_t lock;      /* guards everything below */
    pthread_cond_t wake;       /* a job was queued, or stopping */
    pthread_cond_t changed;    /* a job moved on (state, variations done), or stopping */
    serve_take *takes;         /* oldest first */
    size_t n_takes;
    int next_take_id;
    serve_job jobs[SERVE_JOB_SLOTS];
    int next_job_id;
    bool stopping;
    pthread_t worker;
    bool worker_started;
    pthread_mutex_t render_lock; /* one FluidSynth render at a time */
    /* any-track models, opened on first use by the worker (only it touches them) */
    tg_run *acc_runs[4];
    char acc_paths[4][1024];
} serve_studio;

/* Opens the run, finds a SoundFont, makes the temporary folder, starts the worker. */
tg_status studio_create(const serve_options *o, serve_studio **out, char *err, size_t err_len);
/* Stops the worker (after the variation being decoded), frees the takes,
 * removes the temporary folder. Accepts NULL. */
void studio_free(serve_studio *s);

/* Tells the worker to stop after the variation being decoded and wakes the
 * requests waiting on a job (call before serve_stop). */
void studio_begin_stop(serve_studio *s);

/* Stores score as a new take (handed over, freed on failure); *id its id.
 * Locks the studio. */
tg_status studio_add_take(serve_studio *s, tg_score *score, const serve_take *info, int *id);
/* The take of that id, or NULL (gone or never was); call with the lock held:
 * the pointer is valid while it is. */
serve_take *studio_find_take(serve_studio *s, int id);
/* The WAV file of a take, rendered on first use into the temporary folder
 * (a path made from the id alone); *data malloc'ed. */
tg_status studio_take_wav(serve_studio *s, int id, uint8_t **data, size_t *size, char *err,
                          size_t err_len);

/* The any-track model for a piece (accompany_model, else the bundled one
 * that fits it) into path, its tracks (names, comma-separated) into tracks.
 * TG_ERR_NOT_FOUND / TG_ERR_ARG with err saying why. Takes no lock. */
tg_status studio_accompany_model(const serve_studio *s, const tg_score *piece, char *path, size_t path_len,
                                 char *tracks, size_t tracks_len, char *err, size_t err_len);
/* The model that writes bars from bar_first of a piece again with no tracks
 * named: the whole-tune model (run_pick_infill: a piece of melody and
 * chords, bars before the gap, from models_dir) into path;
 * else studio_accompany_model's.
 * Takes no lock. */
tg_status studio_infill_model(const serve_studio *s, const tg_score *piece, int bar_first, char *path,
                              size_t path_len, char *err, size_t err_len);
/* The opened run of that checkpoint (opened now on first use); worker only. */
tg_status studio_accompany_run(serve_studio *s, const char *path, tg_run **run, char *err, size_t err_len);

/* Checks a request (JSON text from the page) and queues it; *job its id.
 * TG_ERR_ARG with err naming the field, TG_ERR_NOT_FOUND when the source
 * take is gone, TG_ERR_TOO_LARGE when the queue is full. */
tg_status jobs_submit(serve_studio *s, const char *json, size_t len, int *job, char *err,
                      size_t err_len);
/* The job of that id with the lock held, or NULL. */
serve_job *jobs_find(serve_studio *s, int id);
/* Waits (lock held) until job id changes state or finishes a variation, at
 * most wait_sec seconds; the job may be gone afterwards (look it up again). */
void jobs_wait_change(serve_studio *s, int id, double wait_sec);
/* Requests queued before it (0: next or running). Lock held. */
int jobs_position(serve_studio *s, const serve_job *j);
/* The worker thread's body (arg: the studio). */
void *jobs_worker(void *arg);

/* ------------------------------------------------------------------------ */
/* Routes (routes.c): one request in, one reply out. */

typedef struct {
    const char *method;        /* "GET", "POST" */
    const char *path;          /* "/api/takes/3/file" (no query) */
    /* The query argument named key, or NULL (ctx is handed back). */
    const char *(*arg)(void *ctx, const char *key);
    void *ctx;
    const uint8_t *body;
    size_t body_size;
} serve_http_request;

typedef struct {
    int status;                /* 200, 400, ... */
    const char *type;          /* media type (static) */
    uint8_t *body;             /* malloc'ed, or NULL with static_body */
    const uint8_t *static_body;
    size_t size;
    char filename[96];         /* set: sent as an attachment with this name */
} serve_reply;

void routes_handle(serve_studio *s, const serve_http_request *rq, serve_reply *out);

/* The JSON of a take: label, timing, bar lines and every note (routes.c). */
char *routes_take_json(serve_studio *s, const serve_take *t, bool with_notes);

/* ------------------------------------------------------------------------ */
/* The server (http.c): the studio behind an HTTP daemon. */

typedef struct serve_server serve_server;

/* Starts listening on o->host:o->port (the studio must outlive the server).
 * TG_ERR_UNSUPPORTED when built without libmicrohttpd. */
tg_status serve_start(serve_studio *studio, serve_server **out, char *err, size_t err_len);
int serve_port(const serve_server *srv);
/* Stops accepting, finishes the requests in flight, frees. Accepts NULL. */
void serve_stop(serve_server *srv);

#endif /* TG_SERVE_H */
