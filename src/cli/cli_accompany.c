/*
 * cli_accompany.c: `tunegan accompany` (write tracks for the given ones:
 * chords for a melody, alto, tenor and bass for a soprano) and `tunegan
 * infill` (write bars again, keeping the rest), both through the run
 * object's tg_run_accompany. Without --model the bundled any-track model that
 * fits the input is used: four voices or voice names (soprano, alto, tenor,
 * bass) take models/accompany-chorales, one or two tracks
 * models/accompany-nottingham. Writes OUT.mid (with --num N: OUT-000.mid ...),
 * and on request OUT.png (--roll) and OUT.wav (--render) beside it, each
 * under a temporary name renamed when complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/core.h"
#include "model/model.h"
#include "render/render.h"
#include "run/run.h"

#ifndef TG_MODELS_DIR
#define TG_MODELS_DIR "models"
#endif

/* The bundled model that fits the input (run_pick_accompany; infill from
 * bar_first > 0: run_pick_infill), printed; NULL after an error. */
static const char *pick_model(const char *cmd, const tg_score *s, int bar_first, bool tracks_named, char *buf,
                              size_t len)
{
    run_infill_pick pick;
    char err[600];
    const bool infill = bar_first > 0;
    tg_status st = infill ? run_pick_infill(s, TG_MODELS_DIR, bar_first, tracks_named, &pick, err, sizeof err)
                          : run_pick_accompany(s, TG_MODELS_DIR, &pick.pick, err, sizeof err);
    if (st != TG_OK) {
        cli_error("%s: no --model given and %s: give --model", cmd, err);
        return NULL;
    }
    snprintf(buf, len, "%s", pick.pick.path);
    fprintf(stderr, "tunegan: no --model given: %d track%s%s: using %s%s\n", pick.pick.tracks,
            pick.pick.tracks == 1 ? "" : "s", pick.pick.voices ? " named as voices" : "", buf,
            infill && pick.whole_tune ? " (melody and chords: the whole-tune model)" : "");
    return buf;
}

typedef struct {
    const char *cmd, *out;
    int num, rerank;
    bool scores;
    bool roll, render;
    const char *soundfont;
    int64_t shade_from, shade_to;  /* ticks of the input's bars written (infill), for the roll's title */
    int written;
    bool failed;
} take_writer;

/* OUT.mid, or OUT-007.mid with --num > 1; ext replaces ".mid". */
static void out_path(const take_writer *w, int i, const char *ext, char *buf, size_t len)
{
    const char *dot = strrchr(w->out, '.');
    int stem = dot && strcmp(dot, ".mid") == 0 ? (int)(dot - w->out) : (int)strlen(w->out);
    if (w->num > 1)
        snprintf(buf, len, "%.*s-%03d.%s", stem, w->out, i, ext);
    else
        snprintf(buf, len, "%.*s.%s", stem, w->out, ext);
}

static int on_take(void *user, int i, tg_take *tk)
{
    take_writer *w = user;
    char path[4200], err[512] = "";
    out_path(w, i, "mid", path, sizeof path);
    tg_midi_write_options wo = tg_midi_write_options_default();
    tg_status st = tg_midi_write_file(path, tk->score, &wo);
    if (st != TG_OK) {
        cli_error("%s: %s: cannot write: %s", w->cmd, path, tg_status_cause(st));
        w->failed = true;
    } else {
        printf("%s: %zu notes in %zu tracks, %zu tokens (%zu written by the model)\n", path,
               tg_score_note_count(tk->score), tk->score->n_tracks, tk->tokens, tk->new_tokens);
        char which[64] = "";
        if (w->rerank > 1 && tk->candidate < 0)
            snprintf(which, sizeof which, " (bar by bar from %d of %d candidates)", tk->spliced_from, w->rerank);
        else if (w->rerank > 1)
            snprintf(which, sizeof which, " (candidate %d of %d)", tk->candidate, w->rerank);
        if (w->scores || w->rerank > 1)
            printf("  log p(given | written) %.3f over %zu tokens, log p(written | given) %.3f over %zu tokens%s\n",
                   tk->given_logp, tk->given_tokens, tk->written_logp, tk->written_tokens, which);
        /* (with --rerank-weight 0 and no --scores the second is not computed: 0 over 0 tokens) */
    }
    if (!w->failed && w->roll) {
        tg_roll_options ro = tg_roll_options_default();
        char title[64];
        snprintf(title, sizeof title, "%s %d", w->cmd, i);
        ro.title = title;
        out_path(w, i, "png", path, sizeof path);
        if (render_roll_png(tk->score, path, &ro, err, sizeof err) != TG_OK) {
            cli_error("%s", err);
            w->failed = true;
        } else {
            printf("  roll: %s\n", path);
        }
    }
    if (!w->failed && w->render) {
        tg_audio_options ao = tg_audio_options_default();
        ao.soundfont = w->soundfont;
        out_path(w, i, "wav", path, sizeof path);
        if (render_audio_wav(tk->score, path, &ao, err, sizeof err) != TG_OK) {
            cli_error("%s", err);
            w->failed = true;
        } else {
            printf("  audio: %s\n", path);
        }
    }
    if (!w->failed) w->written = i + 1;
    tg_take_free(tk);
    return w->failed;
}

/* The voice leading's summary: how often the rules changed a draw. */
static void print_voicing(const char *cmd, const tg_generate_stats *s)
{
    if (!s->voice_leading) {
        printf("%s: voice leading off\n", cmd);
        return;
    }
    const double n = s->voiced ? (double)s->voiced : 1.0;
    printf("%s: voice leading strict: %zu pitches drawn for the voices, %zu redrawn (%.1f %%), %zu durations "
           "redrawn (%.1f %%); relaxed: range %zu, crossing %zu, parallels %zu\n",
           cmd, s->voiced, s->redrawn, 100.0 * (double)s->redrawn / n, s->held_redrawn,
           100.0 * (double)s->held_redrawn / n, s->relaxed[0], s->relaxed[1], s->relaxed[2]);
}

/* accompany's candidates: --quality's, else the model's sampling.tsv
 * (accompany_rerank, accompany_rerank_bars) where --rerank is not given. */
static void accompany_defaults(const run_sampling *d, int argc, char **argv, bool quality, int *rerank, int *by)
{
    const bool given = cli_given(argc, argv, "rerank", 0);
    if (quality) {
        if (!given) *rerank = TG_ACCOMPANY_QUALITY_RERANK;
        *by = TG_ACCOMPANY_QUALITY_BY;
        return;
    }
    if (d->has_rerank && !given) *rerank = d->rerank;
    if (d->has_rerank_bars) *by = d->rerank_bars ? TG_RERANK_BY_BAR_OR_TAKE : TG_RERANK_BY_TAKE;
    if ((d->has_rerank && !given) || d->has_rerank_bars)
        fprintf(stderr, "tunegan: %d candidates a take, ranked %s, from %s (the model's defaults; --rerank and "
                "--rerank-by override them)\n", *rerank, *by ? "bar by bar" : "whole", d->path);
}

/* Which options each command has: accompany no --bars, infill no --quality
 * or --rerank-by. */
static bool has_option(const char *name, bool infill)
{
    if (!name) return true;
    if (infill) return strcmp(name, "quality") != 0 && strcmp(name, "rerank-by") != 0;
    return strcmp(name, "bars") != 0;
}

static int run_command(const char *cmd, int argc, char **argv, bool infill)
{
    const char *model_arg = NULL, *out = NULL, *tracks = NULL, *bars = NULL, *soundfont = NULL, *voicing = "auto";
    const char *precision = cli_precision_default();
    /* infill draws 8 candidates by default: the bars after choose (measured: experiments/any-track/RESULTS.md) */
    int num = 1, batch = 16, top_k = 0, threads = 0, keep = 0, rerank = infill ? 8 : 1;
    double temperature = 1.0, top_p = 1.0, pitch_temperature = 0.0;
    double rerank_weight = tg_accompany_options_default().rerank_weight;
    uint64_t seed = 0;
    const char *rerank_by = NULL;
    bool roll = false, render = false, scores = false, per_token = false, quality = false;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &model_arg, "RUN|FILE", infill ? "an any-track (remi-tracks) model, or a whole-tune (remi) one (default: the bundled any-track one that fits the input)" : "an any-track (remi-tracks) model (default: the bundled one that fits the input)", 0, 0},
        {"output", 'o', CLI_STRING, &out, "OUT.mid", "file to write (with --num N: OUT-000.mid ...) (required)", 0, 0},
        {"tracks", 0, CLI_STRING, &tracks, "NAMES", infill ? "only these tracks of the bars (default: every track)"
                                                           : "tracks to write, e.g. chords or alto,tenor,bass (default: the model's tracks the input lacks)", 0, 0},
        {"bars", 0, CLI_STRING, &bars, "A-B", "bars to write again, from 1 (e.g. 5-8)", 0, 0},
        {"num", 'n', CLI_INT, &num, "N", "variations to write", 1, 10000},
        {"batch", 'b', CLI_INT, &batch, "N", "variations decoded together", 1, 1024},
        {"temperature", 'T', CLI_DOUBLE, &temperature, "T", "softmax temperature (0: greedy; default: the model's sampling.tsv, else 1)", 0, 0},
        {"pitch-temperature", 0, CLI_DOUBLE, &pitch_temperature, "T", "temperature of which pitch a note takes, the rest (rhythm, how many notes) at -T (0: off, -T for all; default: the model's sampling.tsv, else 0)", 0, 0},
        {"top-k", 'k', CLI_INT, &top_k, "K", "sample among the K most probable tokens (0: off)", 0, 0},
        {"top-p", 0, CLI_DOUBLE, &top_p, "P", "nucleus: the fewest tokens with probability P, in (0,1] (1: off; default: the model's sampling.tsv, else 1)", 0, 0},
        {"seed", 's', CLI_U64, &seed, "S", "random seed (default: from the clock, printed)", 0, 0},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
        {"rerank", 0, CLI_INT, &rerank, "N", infill ? "draw N candidates per output, keep the one under which the bars after the gap are most likely: scored by the model itself, not by a discriminator as in generate --rerank (1: off)"
                                                         : "draw N candidates per output, keep the one (or with --rerank-by bar, the bars) under which the given tracks are most likely: scored by the model itself, not by a discriminator as in generate --rerank (1: off; default: the model's sampling.tsv, else 1)", 1, RUN_MAX_RERANK},
        {"rerank-weight", 0, CLI_DOUBLE, &rerank_weight, "W", "a candidate's score: log p(given | written) + W * log p(written | given) (0: the first alone, measured best)", 0, 0},
        {"rerank-per-token", 0, CLI_FLAG, &per_token, NULL, "score each candidate per token: log p(given | written) / its tokens + W * log p(written | given) / its tokens (so that a longer candidate's sum weighs no more; experiments/any-track/RESULTS.md)", 0, 0},
        {"rerank-by", 0, CLI_STRING, &rerank_by, "bar|take", "bar: rank the candidates bar by bar and splice the output from each bar's best; take: keep the best whole candidate (default: the model's sampling.tsv, else take)", 0, 0},
        {"quality", 0, CLI_FLAG, &quality, NULL, "the setting measured closest to the real chords: --rerank 8 --rerank-by bar at the model's sampling (flags given explicitly win); about 9x the CPU of one take (experiments/any-track/RESULTS.md)", 0, 0},
        {"scores", 0, CLI_FLAG, &scores, NULL, "print each output's scores (log p(given | written), log p(written | given))", 0, 0},
        {"keep", 0, CLI_INT, &keep, "TOKENS", "tokens kept when the window slides (0: half the context)", 0, 1000000},
        {"voice-leading", 0, CLI_STRING, &voicing, "MODE", "strict: redraw a voice's pitch that makes a parallel fifth or octave, crosses a voice or leaves its range; off; auto (default): strict for soprano, alto, tenor and bass", 0, 0},
        {"roll", 0, CLI_FLAG, &roll, NULL, "draw a piano roll beside each output (OUT.png)", 0, 0},
        {"render", 0, CLI_FLAG, &render, NULL, "render audio beside each output (OUT.wav, FluidSynth)", 0, 0},
        {"soundfont", 0, CLI_STRING, &soundfont, "SF2", "SoundFont for --render (default: fluid-soundfont-gm's)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_opt *use = opts;
    cli_opt acc_opts[TG_ARRAY_LEN(opts)];
    {
        size_t k = 0;
        for (size_t i = 0; i < TG_ARRAY_LEN(opts); i++)
            if (has_option(opts[i].name, infill)) acc_opts[k++] = opts[i];
        use = acc_opts;
    }
    const cli_command_info info_acc = {
        "accompany", "MELODY.mid -o OUT.mid [--tracks NAMES] [options]",
        "Writes the tracks a piece lacks, given the tracks it has: chords for a melody\n"
        "(models/accompany-nottingham), alto, tenor and bass for a soprano\n"
        "(models/accompany-chorales; --tracks alto,tenor,bass). The given notes come back\n"
        "unchanged, note for note, with the input's tempo map, meters and track names;\n"
        "the written tracks are added (or, named with --tracks, replace the input's).\n"
        "Input tracks are matched to the model's tracks by name, else in order. Sampling\n"
        "as in generate (--temperature, --pitch-temperature, --top-k, --top-p, --seed); the\n"
        "model's sampling.tsv gives the ones not given (accompany-nottingham's: a pitch\n"
        "temperature of 0.2). --num writes variations.\n"
        "--rerank N draws N candidates for each and keeps the one that best explains the\n"
        "given tracks, as the model scores it with the roles swapped (the written tracks\n"
        "placed first, log p(given | written): a noisy channel); --rerank-by bar ranks them\n"
        "bar by bar and takes each bar from its best candidate. The model's sampling.tsv\n"
        "may set both (accompany-nottingham's: 4 candidates, bar by bar, about 5 times the\n"
        "time of one take; --rerank 1 gives one plain take). --quality is the setting\n"
        "measured closest to the real chords (8 candidates bar by bar), about 9 times.\n"
        "Four voices (soprano, alto, tenor, bass) are written with --voice-leading strict\n"
        "by default: a pitch that would make a parallel fifth or octave, cross a voice or\n"
        "leave the voice's range is drawn again among the others."};
    const cli_command_info info_inf = {
        "infill", "FILE.mid --bars A-B -o OUT.mid [--tracks NAMES] [options]",
        "Writes bars A..B of a piece again and keeps every other bar note for note; bars are\n"
        "counted from 1 along the piece's meter map (a pickup is bar 1). With\n"
        "--tracks only those tracks of the bars are written, the others given. The input's\n"
        "tempo map, meters and track names are kept. Two kinds of model infill:\n"
        "- a whole-tune model (remi or remi-compact; models/default, the default for a\n"
        "  piece of melody and chords on one instrument, two tracks or one holding chords,\n"
        "  with no --tracks and bars before the gap)\n"
        "  writes every track of the bars left to right, hearing every bar before them,\n"
        "  so it brings phrases back; --rerank N lets all the bars after them choose among\n"
        "  N candidates; its notes go to the input's tracks of their program (where tracks\n"
        "  share one, by register: a monophonic top track takes the highest note of each\n"
        "  onset, a melody over chords);\n"
        "- an any-track model (models/accompany-*, the default otherwise) hears the bars\n"
        "  before and after (as many as fit its context) and with --tracks writes only\n"
        "  those tracks of the bars; --rerank N keeps the candidate under which it finds\n"
        "  the bars after most likely.\n"
        "Sampling and --voice-leading as in accompany."};
    const cli_command_info *info = infill ? &info_inf : &info_acc;
    const char *pos[1];
    int n_pos;
    int r = cli_parse(info, use, argc, argv, pos, 1, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (n_pos != 1 || !out) {
        cli_error("%s: %s (see 'tunegan %s --help')", cmd, n_pos != 1 ? "expected one MIDI file" : "-o OUT.mid is required", cmd);
        return 1;
    }
    int by = TG_RERANK_BY_TAKE, by_asked = -1; /* -1: not on the command line */
    if (rerank_by) {
        if (strcmp(rerank_by, "bar") == 0) by_asked = TG_RERANK_BY_BAR;
        else if (strcmp(rerank_by, "take") == 0) by_asked = TG_RERANK_BY_TAKE;
        else {
            cli_error("%s: --rerank-by is bar or take, got '%s'", cmd, rerank_by);
            return 1;
        }
    }
    tg_accompany_options o = tg_accompany_options_default();
    if (infill) {
        int first = 0, count = 0;
        if (!bars || cli_parse_bars(bars, &first, &count)) {
            cli_error("infill: --bars A-B is required, bars from 1 (at most %d), got '%s'", TOK_TRACKS_MAX_GAPS,
                      bars ? bars : "nothing");
            return 1;
        }
        o.bar_first = first + 1, o.bar_last = first + count;
    }
    if (strcmp(voicing, "auto") == 0)
        o.voice_leading = TG_VOICE_LEADING_AUTO;
    else if (strcmp(voicing, "strict") == 0)
        o.voice_leading = TG_VOICE_LEADING_STRICT;
    else if (strcmp(voicing, "off") == 0)
        o.voice_leading = TG_VOICE_LEADING_OFF;
    else {
        cli_error("%s: --voice-leading is auto, strict or off, got '%s'", cmd, voicing);
        return 1;
    }
    const char *sf = NULL;
    char err[1024] = "";
    if (roll && !strstr(tg_build_features(), "cairo")) {
        cli_error("%s: --roll needs cairo: install libcairo2-dev and rebuild", cmd);
        return 1;
    }
    if (render && render_check_soundfont(soundfont, &sf, err, sizeof err) != TG_OK) {
        cli_error("%s --render: %s", cmd, err);
        return 1;
    }
    tg_score *in = NULL;
    tg_run *run = NULL;
    int rc = 1;
    char model_buf[4200];
    if (cli_read_midi(pos[0], &in, NULL) != TG_OK) return 1;
    if (!model_arg && !(model_arg = pick_model(cmd, in, o.bar_first, tracks != NULL, model_buf, sizeof model_buf))) goto done;
    nn_set_threads(threads);
    if (cli_precision_start(cmd, precision, true)) goto done;
    /* the model's sampling.tsv, read before the model is opened (the scorer needs a larger batch) */
    char checkpoint[4200];
    model_checkpoint_path(model_arg, checkpoint, sizeof checkpoint);
    run_sampling d;
    if (run_sampling_read(checkpoint, &d, err, sizeof err) != TG_OK) {
        cli_error("%s: %s", cmd, err);
        goto done;
    }
    if (!infill) accompany_defaults(&d, argc, argv, quality, &rerank, &by);
    if (by_asked >= 0) by = by_asked;
    run_open_options ro = run_open_options_default();
    ro.max_batch = rerank > 1 || scores ? 8 : 1; /* the scorer's windows, 8 a forward pass */
    if (run_open(model_arg, &ro, &run, err, sizeof err) != TG_OK) {
        cli_error("%s", err);
        goto done;
    }
    o.score = in;
    o.tracks = tracks;
    o.gen.temperature = (float)temperature, o.gen.top_k = top_k, o.gen.top_p = (float)top_p;
    o.gen.pitch_temperature = (float)pitch_temperature;
    cli_sampling_apply(&d, argc, argv, &o.gen);
    if (quality)
        fprintf(stderr, "%s: --quality: %d candidates a take, ranked %s\n", cmd, rerank,
                by == TG_RERANK_BY_BAR_OR_TAKE ? "bar by bar (whole takes with voice leading)"
                : by ? "bar by bar" : "whole");
    o.gen.num = num, o.gen.batch = batch, o.gen.keep = keep;
    o.gen.seed = cli_given(argc, argv, "seed", 's') ? seed : (uint64_t)time(NULL);
    o.gen.rerank = rerank;
    o.rerank_weight = rerank_weight;
    o.rerank_per_token = per_token;
    o.rerank_by = by;
    o.score_takes = scores;
    take_writer w = {cmd, out, num, rerank, scores, roll, render, sf, 0, 0, 0, false};
    o.gen.on_take = on_take;
    o.gen.user = &w;
    fprintf(stderr, "tunegan: seed %llu; model %s\n", (unsigned long long)o.gen.seed, tg_run_checkpoint(run));
    tg_generate_stats stats;
    tg_status st = tg_run_accompany(run, &o, NULL, &stats, err, sizeof err);
    if (st != TG_OK) {
        if (!w.failed) cli_error("%s: %s: %s", cmd, pos[0], err);
        if (w.written) cli_error("%s: wrote %d of %d", cmd, w.written, num);
        goto done;
    }
    printf("%s: %d take%s, %zu tokens sampled in %.2f s (%.0f tok/s)\n", cmd, num, num == 1 ? "" : "s",
           stats.new_tokens, stats.seconds, stats.tok_per_s);
    if (o.bar_first > 0 && stats.left_to_right)
        printf("%s: the model heard the %d bar%s before bars %d-%d and wrote them left to right; %s\n", cmd,
               stats.bars_before, stats.bars_before == 1 ? "" : "s", o.bar_first, o.bar_last,
               rerank > 1 ? "the bars after them chose among the candidates" : "it did not hear the bars after them "
               "(--rerank N lets them choose among N candidates)");
    else if (o.bar_first > 0)
        printf("%s: the model saw %d bar%s before bars %d-%d and %d after them (as many as fit its context beside "
               "the bars it writes)\n", cmd, stats.bars_before, stats.bars_before == 1 ? "" : "s", o.bar_first,
               o.bar_last, stats.bars_after);
    if (o.bar_first > 0 && !stats.left_to_right && stats.bars_before + stats.bars_after == 0)
        fprintf(stderr, "%s: warning: bars %d-%d fill the model's context alone: they were written without "
                "hearing the piece around them; fill fewer bars at a time\n", cmd, o.bar_first, o.bar_last);
    print_voicing(cmd, &stats);
    rc = 0;
done:
    tg_run_free(run);
    tg_score_free(in);
    return rc;
}

int cli_accompany(int argc, char **argv) { return run_command("accompany", argc, argv, false); }
int cli_infill(int argc, char **argv) { return run_command("infill", argc, argv, true); }
