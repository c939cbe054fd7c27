/*
 * cli_critic.c: `tunegan critic --real SET --fake SET`: a fresh critic
 * (src/eval/critic.c) trained to tell the two sets apart, with its
 * cross-validated accuracy (Wilson 95 % interval) and AUC. 50 % means the
 * sets cannot be told apart by their token n-grams. Issue 19's protocol runs
 * it on sample sets over temperatures (experiments/gan/protocol.sh).
 *
 * A SET is a folder of MIDI files or CORPUS[:train|valid|test] (test when no
 * split is given), read as `tunegan eval` reads them: every piece through one
 * tokenizer (a corpus's, else --tokenizer). Missing or empty sets, and
 * corpora with different tokenizers, are errors (exit 1).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/core.h"
#include "eval/eval.h"
#include "run/run.h"

typedef struct {
    const char *flag, *spec;
    char path[1024];
    int split;              /* -1: a folder */
    data_corpus *corpus;
    eval_set set;
    eval_seq *seqs;
    size_t n_seqs;
} critic_source;

/* A folder, a corpus file (test split), or CORPUS:split. */
static int resolve(critic_source *s)
{
    struct stat sb;
    snprintf(s->path, sizeof s->path, "%s", s->spec);
    s->split = -1;
    if (stat(s->spec, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) s->split = DATA_TEST;
    } else {
        const char *colon = strrchr(s->spec, ':');
        for (int i = 0; colon && i < DATA_SPLITS; i++)
            if (strcmp(colon + 1, data_split_name(i)) == 0) s->split = i;
        if (s->split >= 0) snprintf(s->path, sizeof s->path, "%.*s", (int)(colon - s->spec), s->spec);
        if (s->split < 0 || stat(s->path, &sb) != 0 || S_ISDIR(sb.st_mode)) {
            cli_error("critic: %s %s: no such folder or corpus file", s->flag, s->spec);
            return 1;
        }
    }
    if (s->split < 0) return 0;
    data_error derr = {{0}};
    tg_status st = data_corpus_open(s->path, &s->corpus, &derr);
    if (st != TG_OK) {
        if (derr.what[0]) cli_error("%s", derr.what); /* it names the file */
        else cli_error("%s: %s", s->path, tg_status_str(st));
        return 1;
    }
    return 0;
}

/* Reads the set's pieces into sequences: eval_set_sequences with segment 0
 * gives one a piece (an empty piece too), so seqs[i] is pieces[i]; refused
 * below min pieces. */
static int load(critic_source *s, const tok_tokenizer *tok, size_t min)
{
    tg_logger log = cli_logger();
    tg_status st = s->corpus ? eval_set_from_corpus(s->corpus, s->path, s->split, tok, &log, &s->set)
                             : eval_set_from_dir(s->path, tok, &log, &s->set);
    if (st == TG_OK) st = eval_set_sequences(&s->set, 0, &s->seqs, &s->n_seqs);
    if (st != TG_OK) {
        cli_error("critic: %s %s: %s", s->flag, s->spec, tg_status_str(st));
        return 1;
    }
    if (s->set.n < min) {
        cli_error("critic: %s %s: %zu readable pieces; the critic needs at least %s", s->flag, s->spec, s->set.n,
                  min > 1 ? "as many as --folds" : "one");
        return 1;
    }
    return 0;
}

/* The tokenizer: the corpora's (which must agree), else --tokenizer. */
static int pick_tokenizer(const critic_source *a, const critic_source *b, const char *spec, tok_tokenizer **tok)
{
    const char *ca = a->corpus ? a->corpus->config : NULL, *cb = b->corpus ? b->corpus->config : NULL;
    if (ca && cb && !run_same_tokenizer(ca, cb)) {
        cli_error("critic: %s was built with tokenizer '%s' but %s with '%s'", a->path, ca, b->path, cb);
        return 1;
    }
    const char *from = ca ? ca : cb;
    if (from && spec && !run_same_tokenizer(spec, from)) {
        cli_error("critic: --tokenizer %s differs from the corpus's tokenizer '%s'", spec, from);
        return 1;
    }
    return cli_make_tokenizer("critic", from ? from : spec ? spec : "remi", 0, tok);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* --paired: keeps the pieces whose file name both sets hold, real[i] and
 * fake[i] of one name (the fake set's order); the others are reported. */
static int pair_by_name(critic_source *r, critic_source *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->set.n; i++) {
        const char *name = base_name(f->set.pieces[i].name);
        for (size_t j = 0; j < r->set.n; j++)
            if (strcmp(base_name(r->set.pieces[j].name), name) == 0) {
                eval_seq rj = r->seqs[j];
                r->seqs[j] = r->seqs[n]; /* keep the unmatched ones after n */
                r->seqs[n] = rj;
                eval_piece pj = r->set.pieces[j];
                r->set.pieces[j] = r->set.pieces[n];
                r->set.pieces[n] = pj;
                f->seqs[n++] = f->seqs[i];
                break;
            }
    }
    fprintf(stderr, "critic: --paired: %zu pairs by file name (%zu real and %zu sampled pieces without a twin left out)\n",
            n, r->n_seqs - n, f->n_seqs - n);
    if (n < 2) {
        cli_error("critic: --paired: %s and %s have %zu file names in common; pairs need the same names", r->spec,
                  f->spec, n);
        return 1;
    }
    r->n_seqs = f->n_seqs = n;
    return 0;
}

/* --bars: "N" (the first N bars; 0, no cut) or "A-B" (bars A..B, from 1)
 * into *first and *last; 1 when malformed. */
static int parse_bar_range(const char *s, long *first, long *last)
{
    char *end;
    long a = strtol(s, &end, 10), b;
    if (end == s || a < 0) return 1;
    if (*end != '-') {
        *first = 1;
        *last = a;
        return *end != 0;
    }
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t || *end || a < 1 || b < a) return 1;
    *first = a;
    *last = b;
    return 0;
}

/* Every piece of both sets cut to bars first..last; pieces without bar first
 * are left out (with --paired, with their twins) and counted on stderr.
 * 1 when fewer than two pieces of a set are left. */
static int crop_sets(critic_source *r, critic_source *f, int bar_id, long first, long last, bool paired)
{
    size_t gone[2] = {0, 0};
    critic_source *sets[2] = {r, f};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sets[k]->n_seqs; i++)
            sets[k]->seqs[i] = eval_crop_bar_range(sets[k]->seqs[i], bar_id, (size_t)first, (size_t)last);
    if (paired) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_seqs; i++)
            if (r->seqs[i].n && f->seqs[i].n) r->seqs[n] = r->seqs[i], f->seqs[n++] = f->seqs[i];
        gone[0] = gone[1] = r->n_seqs - n;
        r->n_seqs = f->n_seqs = n;
    } else {
        for (int k = 0; k < 2; k++) {
            size_t n = 0;
            for (size_t i = 0; i < sets[k]->n_seqs; i++)
                if (sets[k]->seqs[i].n) sets[k]->seqs[n++] = sets[k]->seqs[i];
            gone[k] = sets[k]->n_seqs - n;
            sets[k]->n_seqs = n;
        }
    }
    if (gone[0] || gone[1])
        fprintf(stderr, "critic: --bars %ld-%ld: %zu real and %zu sampled pieces have no bar %ld, left out%s\n", first,
                last, gone[0], gone[1], first, paired ? " (a pair goes together)" : "");
    if (r->n_seqs < 2 || f->n_seqs < 2) {
        cli_error("critic: --bars %ld-%ld: fewer than 2 pieces of a set have bar %ld", first, last, first);
        return 1;
    }
    return 0;
}

/* --score SET: one critic fitted on every piece of both sets (as --tells
 * fits it), then the logit of each piece of SET, cut to the same bars
 * (above 0: it reads as real), into z (s->n_seqs). */
static int score_set(const critic_source *r, const critic_source *f, const critic_source *s,
                     const eval_critic_config *cfg, long first, long last, double *z)
{
    size_t n = r->n_seqs + f->n_seqs;
    eval_seq *items = malloc(n * sizeof *items);
    float *y = malloc(n * sizeof *y), *w = calloc((size_t)1 << cfg->hash_bits, sizeof *w);
    double b = 0;
    tg_status st = items && y && w ? TG_OK : TG_ERR_NOMEM;
    for (size_t i = 0; st == TG_OK && i < n; i++) {
        items[i] = i < r->n_seqs ? r->seqs[i] : f->seqs[i - r->n_seqs];
        y[i] = i < r->n_seqs;
    }
    if (st == TG_OK) st = eval_critic_fit(items, y, n, cfg, w, &b, NULL, NULL);
    for (size_t i = 0; st == TG_OK && i < s->n_seqs; i++) {
        eval_seq piece = last > 0 ? eval_crop_bar_range(s->seqs[i], cfg->bar_id, (size_t)first, (size_t)last)
                                  : s->seqs[i];
        st = eval_critic_logit(w, b, cfg, &piece, &z[i]);
    }
    free(items), free(y), free(w);
    if (st != TG_OK) cli_error("critic: --score: %s", tg_status_str(st));
    return st != TG_OK;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void print_result(const critic_source *r, const critic_source *f, const eval_critic_config *cfg,
                         const eval_critic_result *res, bool json)
{
    if (json) {
        printf("{\"real\":");
        json_str(r->spec);
        printf(",\"fake\":");
        json_str(f->spec);
        printf(",\"real_pieces\":%zu,\"fake_pieces\":%zu,\"per_class\":%zu,\"folds\":%d,\"ngram\":%d,"
               "\"hash_bits\":%d,\"steps\":%d,\"seed\":%llu,",
               r->n_seqs, f->n_seqs, res->per_class, cfg->folds, cfg->max_n, cfg->hash_bits, cfg->steps,
               (unsigned long long)cfg->seed);
        printf("\"accuracy\":%.6f,\"accuracy_lo\":%.6f,\"accuracy_hi\":%.6f,\"correct\":%zu,\"heldout\":%zu,"
               "\"auc\":%.6f,\"auc_lo\":%.6f,\"auc_hi\":%.6f,\"train_accuracy\":%.6f,",
               res->accuracy, res->acc_lo, res->acc_hi, res->correct, res->n, res->auc, res->auc_lo, res->auc_hi,
               res->train_accuracy);
        if (res->real_bars == res->real_bars)
            printf("\"real_bars\":%.3f,\"fake_bars\":%.3f", res->real_bars, res->fake_bars);
        else
            printf("\"real_bars\":null,\"fake_bars\":null");
        return; /* the object is closed by the caller, after the tells */
    }
    printf("real       %s: %zu pieces\nfake       %s: %zu pieces\n", r->spec, r->n_seqs, f->spec, f->n_seqs);
    printf("balanced   %zu of each (seed %llu)", res->per_class, (unsigned long long)cfg->seed);
    if (res->real_bars == res->real_bars)
        printf(", mean bars real %.2f, fake %.2f%s", res->real_bars, res->fake_bars,
               cfg->match_bars ? " (real cut to their partner's bars)" : "");
    printf("\ncritic     logistic regression on hashed 1..%d-grams (2^%d buckets), %d gradient steps, %d-fold "
           "cross-validation\n", cfg->max_n, cfg->hash_bits, cfg->steps, cfg->folds);
    printf("accuracy   %.4f  [%.4f, %.4f] (Wilson 95 %%; %zu of %zu held-out pieces right; 0.5: indistinguishable)\n",
           res->accuracy, res->acc_lo, res->acc_hi, res->correct, res->n);
    printf("AUC        %.4f  [%.4f, %.4f] (Hanley-McNeil 95 %%)\n", res->auc, res->auc_lo, res->auc_hi);
    printf("train acc  %.4f (on the folds trained on)\n", res->train_accuracy);
}

static const char critic_summary[] =
    "Trains a fresh critic to tell real pieces from sampled ones and reports how well\n"
    "it does on pieces it did not train on: 50 % means the two sets cannot be told\n"
    "apart. The critic is a logistic regression on hashed token n-grams (each piece's\n"
    "counts at unit length), never the discriminator of a training run. Both sets\n"
    "are cut to the same number of pieces (seeded subsample), each real piece to the\n"
    "bar count of the sampled piece it is paired with (so length is no tell), and\n"
    "scored by k-fold cross-validation: accuracy with a Wilson 95 % interval, AUC.\n"
    "SET: a folder of MIDI files, or CORPUS[:train|valid|test] (default test).";

/* One tell: its weight, n-gram (token names), counts and share. */
static void print_tell(const tok_tokenizer *tok, const eval_critic_tell *t, bool json)
{
    if (json) {
        printf("{\"weight\":%.4f,\"ngram\":[", t->weight);
        for (int i = 0; i < t->n; i++) {
            if (i) putchar(',');
            json_str(tok_name(tok, t->ids[i]));
        }
        printf("],\"real\":%zu,\"sampled\":%zu,\"share\":%.3f}", t->real_count, t->fake_count, t->share);
        return;
    }
    printf("  %+7.3f  real %5zu  sampled %5zu  ", t->weight, t->real_count, t->fake_count);
    for (int i = 0; i < t->n; i++) printf("%s%s", i ? " " : "", tok_name(tok, t->ids[i]));
    if (t->share < 0.995) printf("  (%.0f %% of its bucket)", 100 * t->share);
    putchar('\n');
}

/* The tells after the result: text, or the JSON object's last member. */
static void print_tells(const tok_tokenizer *tok, const eval_critic_tell *tells, int n_real, int n_fake, bool json)
{
    const char *what[2] = {"real", "sampled"};
    const int count[2] = {n_real, n_fake}, first[2] = {0, n_real};
    if (json) printf(",\"tells\":{");
    for (int c = 0; c < 2; c++) {
        if (json) printf("%s\"%s\":[", c ? "," : "", what[c]);
        else printf("\ntells of %s pieces (the critic's weights, trained on every piece; occurrences in each set):\n",
                    what[c]);
        for (int i = 0; i < count[c]; i++) {
            if (json && i) putchar(',');
            print_tell(tok, &tells[first[c] + i], json);
        }
        if (json) putchar(']');
    }
    if (json) putchar('}');
}

static void print_scores(const critic_source *s, const double *z, bool json)
{
    if (json) printf(",\"scores\":[");
    else printf("\nscores of %s (one critic fitted on every piece; above 0 reads as real):\n", s->spec);
    for (size_t i = 0; i < s->n_seqs; i++) {
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            json_str(base_name(s->set.pieces[i].name));
            printf(",\"logit\":%.6f}", z[i]);
        } else {
            printf("  %+9.4f  %s\n", z[i], base_name(s->set.pieces[i].name));
        }
    }
    if (json) putchar(']');
}

int cli_critic(int argc, char **argv)
{
    const char *real = NULL, *fake = NULL, *spec = NULL, *score = NULL;
    eval_critic_config cfg = eval_critic_config_default();
    const char *bars = NULL;
    int n_tells = 0;
    bool no_match = false, json = false;
    const cli_opt opts[] = {
        {"real", 'r', CLI_STRING, &real, "SET", "real pieces: folder or CORPUS[:split]", 0, 0},
        {"fake", 'f', CLI_STRING, &fake, "SET", "sampled pieces: folder or CORPUS[:split]", 0, 0},
        {"tokenizer", 0, CLI_STRING, &spec, "KIND", "for folders only: remi, remi-compact, ... (remi)", 0, 0},
        {"bars", 0, CLI_STRING, &bars, "N|A-B", "cut every piece of both sets to its first N bars (0: no cut), or "
         "to bars A..B (from 1: the bars an infill wrote, alone; pieces without bar A are left out)", 0, 0},
        {"no-match-bars", 0, CLI_FLAG, &no_match, NULL, "keep real pieces whole instead of cutting them to their "
         "partner's bars", 0, 0},
        {"folds", 'k', CLI_INT, &cfg.folds, "K", "cross-validation folds", 2, 1000},
        {"ngram", 'n', CLI_INT, &cfg.max_n, "N", "n-grams of 1..N tokens", 1, 8},
        {"hash-bits", 0, CLI_INT, &cfg.hash_bits, "B", "2^B feature buckets", 4, 26},
        {"steps", 0, CLI_INT, &cfg.steps, "N", "gradient steps per fold", 1, 100000},
        {"lr", 0, CLI_DOUBLE, &cfg.lr, "X", "step size (momentum 0.9)", 1e-6, 8},
        {"l2", 0, CLI_DOUBLE, &cfg.l2, "X", "L2 penalty on the weights", 0, 100},
        {"seed", 's', CLI_U64, &cfg.seed, "S", "seed of the subsample and the pairing", 0, 0},
        {"paired", 0, CLI_FLAG, &cfg.paired, NULL, "the sets are twins by file name (an accompaniment or infill "
         "beside its source): each pair in one fold", 0, 0},
        {"tells", 0, CLI_INT, &n_tells, "K", "also print the K n-grams that most read as real and as sampled "
         "(a critic trained on every piece; --ngram 8 at most)", 0, EVAL_MAX_TELLS},
        {"score", 0, CLI_STRING, &score, "DIR", "also fit one critic on every piece of both sets and print the "
         "logit of each MIDI file in DIR (cut to the same bars; above 0 reads as real): to choose among "
         "candidates", 0, 0},
        {"json", 0, CLI_FLAG, &json, NULL, "print one JSON object", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"critic", "--real SET --fake SET [options]", critic_summary};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    if (!real || !fake) {
        cli_error("critic: give --real SET and --fake SET (see tunegan critic --help)");
        return 1;
    }
    critic_source rs = {.flag = "--real", .spec = real}, fs = {.flag = "--fake", .spec = fake},
                  ss = {.flag = "--score", .spec = score};
    tok_tokenizer *tok = NULL;
    double *z = NULL;
    int rc = 1;
    if (resolve(&rs) || resolve(&fs) || pick_tokenizer(&rs, &fs, spec, &tok) || load(&rs, tok, 2) ||
        load(&fs, tok, 2))
        goto done;
    if (score && resolve(&ss)) goto done;
    if (ss.corpus) {
        cli_error("critic: --score %s: give a folder of MIDI files", score);
        goto done;
    }
    if (score && load(&ss, tok, 1)) goto done;
    if (cfg.paired && pair_by_name(&rs, &fs)) goto done;
    cfg.match_bars = !no_match;
    cfg.bar_id = tok_bar_id(tok);
    long first = 1, last = 0;
    if (bars && parse_bar_range(bars, &first, &last)) {
        cli_error("critic: --bars %s: give N (the first N bars) or A-B (bars A to B, 1 <= A <= B)", bars);
        goto done;
    }
    if (last > 0 && cfg.bar_id < 0) {
        cli_error("critic: --bars needs a tokenizer with bars (remi, remi-compact)");
        goto done;
    }
    if (last > 0 && crop_sets(&rs, &fs, cfg.bar_id, first, last, cfg.paired)) goto done;
    size_t m = rs.n_seqs < fs.n_seqs ? rs.n_seqs : fs.n_seqs;
    if ((size_t)cfg.folds > m) {
        cli_error("critic: --folds %d exceeds the %zu pieces of the smaller set", cfg.folds, m);
        goto done;
    }
    eval_critic_result res;
    tg_status st = eval_critic(rs.seqs, rs.n_seqs, fs.seqs, fs.n_seqs, &cfg, &res);
    if (st != TG_OK) {
        cli_error("critic: %s", tg_status_str(st));
        goto done;
    }
    eval_critic_tell tells[2 * EVAL_MAX_TELLS];
    int n_real = 0, n_fake = 0;
    if (n_tells > 0) st = eval_critic_tells(rs.seqs, rs.n_seqs, fs.seqs, fs.n_seqs, &cfg, n_tells, tells, &n_real,
                                            &n_fake);
    if (st != TG_OK) {
        cli_error("critic: --tells: %s", tg_status_str(st));
        goto done;
    }
    if (score && (!(z = malloc(ss.n_seqs * sizeof *z)) || score_set(&rs, &fs, &ss, &cfg, first, last, z))) {
        if (!z) cli_error("critic: --score: out of memory");
        goto done;
    }
    print_result(&rs, &fs, &cfg, &res, json);
    if (n_tells > 0) print_tells(tok, tells, n_real, n_fake, json);
    if (score) print_scores(&ss, z, json);
    if (json) printf("}\n");
    rc = 0;
done:
    free(z);
    critic_source *all[3] = {&rs, &fs, &ss};
    for (int k = 0; k < 3; k++) {
        free(all[k]->seqs);
        eval_set_free(&all[k]->set);
        data_corpus_close(all[k]->corpus);
    }
    tok_free(tok);
    return rc;
}
