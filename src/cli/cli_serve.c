/*
 * cli_serve.c: `tunegan serve`, the web studio (src/serve). Parses the
 * flags, opens the studio, prints where it listens, and waits for Ctrl-C or
 * SIGTERM: both stop it cleanly (requests in flight answered, the variation
 * being decoded finished, the temporary folder removed), exit status 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nn/nn.h"
#include "serve/serve.h"

static const char serve_summary[] =
    "A music studio in the browser, served by tunegan itself on this machine: bring a\n"
    "MIDI file (or the bundled primer), ask the model for new tunes or continuations,\n"
    "for an accompaniment (models/accompany-*: the tracks a piece lacks) or for chosen\n"
    "bars written again, with a few variations each, see each take's piano roll, hear\n"
    "it (FluidSynth on the server) and download it as MIDI, WAV or MusicXML. Nothing loads from the network;\n"
    "the page is built into the binary. It listens on 127.0.0.1 (this machine only)\n"
    "unless --host says otherwise. Takes live while the server runs; Ctrl-C stops it.";

/* Blocks SIGINT and SIGTERM in this thread and in the threads it starts, so
 * that sigwait() below receives them. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void print_where(const char *host, int port, bool loopback_only)
{
    bool v6 = strchr(host, ':') != NULL;
    const char *shown = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ? "127.0.0.1" : host;
    printf("tunegan serve: the studio is at http://%s%s%s:%d/\n", v6 ? "[" : "", shown, v6 ? "]" : "", port);
    fflush(stdout);
    if (loopback_only)
        fprintf(stderr, "tunegan serve: listening on %s only: other machines cannot reach it "
                        "(--host 0.0.0.0 opens it to the network)\n", host);
    else
        fprintf(stderr, "tunegan serve: listening on %s: other machines on the network can reach it, "
                        "without a password\n", host);
    fprintf(stderr, "tunegan serve: Ctrl-C stops it\n");
}

#ifndef TG_MODELS_DIR
#define TG_MODELS_DIR "models"
#endif

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

int cli_serve(int argc, char **argv)
{
    serve_options so = serve_options_default();
    const char *model_arg = NULL, *precision = cli_precision_default();
    int port = so.port, threads = 0, max_upload_mb = (int)(so.max_upload_bytes >> 20);
    const cli_opt opts[] = {
        {"port", 'p', CLI_INT, &port, "PORT", "TCP port (0: any free one, printed)", 0, 65535},
        {"host", 0, CLI_STRING, &so.host, "ADDR", "address to listen on (0.0.0.0: every network)", 0, 0},
        {"model", 'm', CLI_STRING, &model_arg, "RUN|FILE", "run folder or model.safetensors (default: $TUNEGAN_MODEL, else the bundled models/default)", 0, 0},
        {"accompany-model", 0, CLI_STRING, &so.accompany_model, "RUN|FILE", "any-track model for accompany and regenerate bars (default: the bundled models/accompany-* that fits the piece)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
        {"soundfont", 0, CLI_STRING, &so.soundfont, "SF2", "SoundFont for audio (default: fluid-soundfont-gm's)", 0, 0},
        {"max-upload-mb", 0, CLI_INT, &max_upload_mb, "MB", "largest MIDI file accepted", 1, 256},
        {"max-queue", 0, CLI_INT, &so.max_queue, "N", "generate requests waiting at most (more are told the studio is busy)", 1, SERVE_JOB_SLOTS / 2},
        {"max-takes", 0, CLI_INT, &so.max_takes, "N", "takes kept in the session (the oldest go first)", 8, 100000},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"serve", "[--port 8765] [--model RUN] [--host 127.0.0.1] [options]",
                                   serve_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (!model_arg && !(model_arg = cli_default_model("serve"))) return 1;
    so.port = port;
    so.model = model_arg;
    so.models_dir = TG_MODELS_DIR;
    so.max_upload_bytes = (size_t)max_upload_mb << 20;
    so.logger = cli_logger();
    so.threads = threads;
    nn_set_threads(threads);
    if (cli_precision_start("serve", precision, true)) return 1;

    sigset_t stop;
    block_stop_signals(&stop);
    char err[1024] = "";
    serve_studio *studio = NULL;
    serve_server *srv = NULL;
    tg_status st = studio_create(&so, &studio, err, sizeof err);
    if (st == TG_OK) st = serve_start(studio, &srv, err, sizeof err);
    if (st != TG_OK) {
        cli_error("serve: %s", err[0] ? err : tg_status_str(st));
        studio_free(studio);
        return 1;
    }
    fprintf(stderr, "tunegan serve: model %s; audio %s\n", tg_run_checkpoint(studio->run),
            studio->audio ? studio->soundfont : "off (no SoundFont)");
    print_where(so.host, serve_port(srv), is_loopback(so.host));
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "tunegan serve: %s: stopping (finishing the requests in flight)\n",
            sig == SIGINT ? "Ctrl-C" : "SIGTERM");
    studio_begin_stop(studio); /* wakes the requests waiting on a job */
    serve_stop(srv);
    studio_free(studio);
    fprintf(stderr, "tunegan serve: stopped\n");
    return 0;
}
