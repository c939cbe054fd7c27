/*
 * overlap.c: distribution overlap between a generated set and a reference
 * set, after Yang & Lerch, "On the evaluation of generative models in music"
 * (Neural Computing and Applications, 2020) and their mgeval toolbox.
 *
 * Features of a piece (drum tracks left out; notes in (onset, pitch) order):
 *   pitch_count          distinct pitches
 *   pitch_class_hist     12 bins, normalised to sum 1 (all 0 without notes)
 *   pitch_range          highest minus lowest pitch
 *   avg_pitch_interval   mean |pitch difference| of consecutive notes
 *   note_count           notes
 *   avg_ioi              mean difference of consecutive note onsets, seconds
 *                        (onsets of all notes, so (last - first) / (n - 1))
 *   note_length_hist     12 classes, normalised: each note counted in the
 *                        class nearest its length in quarter notes: whole,
 *                        half, quarter, 8th, 16th, dotted half, dotted
 *                        quarter, dotted 8th, dotted 16th, half-, quarter- and
 *                        8th-note triplets (4, 2, 1, 1/2, 1/4, 3, 3/2, 3/4,
 *                        3/8, 4/3, 2/3, 1/3); scores in SMPTE time count a
 *                        quarter as 0.5 s
 * (the scalar ones are 0 when undefined: fewer than one or two notes).
 *
 * For each feature: Euclidean distances between pieces, intra-set (every
 * unordered pair within a set: mgeval's leave-one-out pairs, each counted
 * once, which leaves the distribution unchanged) and inter-set (every
 * generated piece against every reference piece). Each list of distances is
 * smoothed by a Gaussian kernel density estimate with Scott's bandwidth
 * (n^(-1/5) times the sample standard deviation, as scipy's gaussian_kde), and
 *   oa        overlapping area (integral of the pointwise minimum) of the
 *             reference's intra-set PDF and the inter-set PDF: near 1 when
 *             generated pieces are as far from the reference pieces as these
 *             are from one another, near 0 for disjoint sets;
 *   kld       KL(reference intra-set PDF || inter-set PDF), nats;
 *   oa_intra  overlapping area of the two intra-set PDFs (exactly the same
 *             distributions, so 1, for identical sets).
 * Differences from mgeval, each to make the numbers well defined: the
 * integrals run over a common grid of 2048 points covering both samples'
 * ranges widened by four bandwidths (mgeval integrates over the data range
 * only, so two identical PDFs overlap by less than 1); KL is taken on that
 * same grid, densities floored at 1e-10 of the uniform density over it
 * (mgeval compares the two PDFs sampled on two different grids); bandwidths
 * are floored at 1/256 of the combined data range so the grid resolves each
 * kernel (a set of identical distances has no spread). When a list exceeds a
 * million pairs, a million pairs are drawn at random (seed 1) instead.
 * Above 2,000 points the KDE bins the data linearly onto the grid first
 * (error well under 1e-3 there; tests/test_eval.c checks it against the
 * exact sum).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

#define KDE_GRID 2048
#define MAX_PAIRS 1000000u
#define BINNED_ABOVE 2000

static const char *const feature_names[EVAL_N_FEATURES] = {
    "pitch_count", "pitch_class_hist", "pitch_range", "avg_pitch_interval",
    "note_count",  "avg_ioi",          "note_length_hist",
};
static const int feature_dims[EVAL_N_FEATURES] = {1, 12, 1, 1, 1, 1, 12};

const char *eval_feature_name(int id)
{
    return id >= 0 && id < EVAL_N_FEATURES ? feature_names[id] : "?";
}

int eval_feature_dim(int id)
{
    return id >= 0 && id < EVAL_N_FEATURES ? feature_dims[id] : 0;
}

/* ------------------------------------------------------------------------ */
/* Features. */

typedef struct {
    int64_t start, end;
    int pitch;
} fnote;

static int cmp_fnote(const void *pa, const void *pb)
{
    const fnote *a = pa, *b = pb;
    if (a->start != b->start) return (a->start > b->start) - (a->start < b->start);
    return (a->pitch > b->pitch) - (a->pitch < b->pitch);
}

static double quarters(const tg_score *s, int64_t a, int64_t b)
{
    if (s->ticks_per_quarter > 0) return (double)(b - a) / s->ticks_per_quarter;
    return (tg_score_ticks_to_sec(s, -1, b) - tg_score_ticks_to_sec(s, -1, a)) * 2.0;
}

void eval_features(const tg_score *s, double out[EVAL_N_FEATURES][EVAL_FEATURE_MAX_DIM])
{
    memset(out, 0, sizeof(double) * EVAL_N_FEATURES * EVAL_FEATURE_MAX_DIM);
    size_t n = 0;
    for (size_t t = 0; t < s->n_tracks; t++)
        if (!s->tracks[t].is_drum) n += s->tracks[t].n_notes;
    if (n == 0) return;
    fnote *v = malloc(n * sizeof *v);
    if (!v) return; /* all zero: the caller cannot tell, but only under memory exhaustion */
    size_t k = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (s->tracks[t].is_drum) continue;
        for (size_t i = 0; i < s->tracks[t].n_notes; i++) {
            const tg_note *no = &s->tracks[t].notes[i];
            v[k++] = (fnote){no->start_ticks, no->end_ticks, no->pitch};
        }
    }
    qsort(v, n, sizeof *v, cmp_fnote);
    bool used[128] = {false};
    int lo = 127, hi = 0, distinct = 0;
    double interval_sum = 0;
    static const double lengths[12] = {4, 2, 1, 0.5, 0.25, 3, 1.5, 0.75, 0.375, 4.0 / 3, 2.0 / 3, 1.0 / 3};
    for (size_t i = 0; i < n; i++) {
        int p = v[i].pitch;
        if (!used[p]) distinct++;
        used[p] = true;
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
        out[EVAL_F_PITCH_CLASS_HIST][p % 12] += 1.0 / (double)n;
        if (i > 0) interval_sum += abs(p - v[i - 1].pitch);
        double q = quarters(s, v[i].start, v[i].end);
        int best = 0;
        for (int c = 1; c < 12; c++)
            if (fabs(q - lengths[c]) < fabs(q - lengths[best])) best = c;
        out[EVAL_F_NOTE_LENGTH_HIST][best] += 1.0 / (double)n;
    }
    out[EVAL_F_PITCH_COUNT][0] = distinct;
    out[EVAL_F_PITCH_RANGE][0] = hi - lo;
    out[EVAL_F_NOTE_COUNT][0] = (double)n;
    if (n > 1) {
        out[EVAL_F_AVG_PITCH_INTERVAL][0] = interval_sum / (double)(n - 1);
        double first = tg_score_ticks_to_sec(s, -1, v[0].start);
        double last = tg_score_ticks_to_sec(s, -1, v[n - 1].start);
        out[EVAL_F_AVG_IOI][0] = (last - first) / (double)(n - 1);
    }
    free(v);
}

/* ------------------------------------------------------------------------ */
/* Kernel density estimates. */

static void mean_sd(const double *x, size_t n, double *mean, double *sd, double *lo, double *hi)
{
    double m = 0, l = INFINITY, h = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        m += x[i];
        l = x[i] < l ? x[i] : l;
        h = x[i] > h ? x[i] : h;
    }
    m /= (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    *lo = l;
    *hi = h;
}

/* Scott's rule: n^(-1/5) * sd. */
static double scott_bandwidth(const double *x, size_t n)
{
    double m, sd, lo, hi;
    mean_sd(x, n, &m, &sd, &lo, &hi);
    return pow((double)n, -0.2) * sd;
}

/* The KDE with bandwidth h on the grid. */
static tg_status kde_grid(const double *x, size_t n, double h, double x0, double dx, size_t G,
                          bool binned, double *pdf)
{
    const double norm = 1.0 / ((double)n * h * sqrt(2.0 * 3.14159265358979323846));
    for (size_t g = 0; g < G; g++) pdf[g] = 0;
    if (!binned) {
        for (size_t g = 0; g < G; g++) {
            double xg = x0 + (double)g * dx, s = 0;
            for (size_t i = 0; i < n; i++) {
                double u = (xg - x[i]) / h;
                s += exp(-0.5 * u * u);
            }
            pdf[g] = s * norm;
        }
        return TG_OK;
    }
    double *w = calloc(G, sizeof *w);
    if (!w) return TG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) { /* linear binning */
        double pos = (x[i] - x0) / dx;
        if (pos < 0) pos = 0;
        if (pos > (double)(G - 1)) pos = (double)(G - 1);
        size_t k = (size_t)pos;
        if (k >= G - 1) k = G - 2;
        double f = pos - (double)k;
        w[k] += 1 - f;
        w[k + 1] += f;
    }
    long reach = (long)ceil(8.0 * h / dx);
    double *kern = malloc((size_t)(reach + 1) * sizeof *kern);
    if (!kern) {
        free(w);
        return TG_ERR_NOMEM;
    }
    for (long d = 0; d <= reach; d++) {
        double u = (double)d * dx / h;
        kern[d] = exp(-0.5 * u * u);
    }
    for (size_t k = 0; k < G; k++) {
        if (w[k] == 0) continue;
        long a = (long)k - reach < 0 ? 0 : (long)k - reach;
        long b = (long)k + reach > (long)G - 1 ? (long)G - 1 : (long)k + reach;
        for (long g = a; g <= b; g++) pdf[g] += w[k] * kern[labs(g - (long)k)];
    }
    for (size_t g = 0; g < G; g++) pdf[g] *= norm;
    free(kern);
    free(w);
    return TG_OK;
}

tg_status eval_kde(const double *x, size_t n, double x0, double dx, size_t n_grid, bool binned,
                   double *pdf, eval_kde_info *info)
{
    if (n == 0 || n_grid < 2 || !(dx > 0)) return TG_ERR_ARG;
    double m, sd, lo, hi;
    mean_sd(x, n, &m, &sd, &lo, &hi);
    double h = scott_bandwidth(x, n);
    if (!(h > 0)) h = 4 * dx;
    if (info) *info = (eval_kde_info){h, lo, hi};
    return kde_grid(x, n, h, x0, dx, n_grid, binned, pdf);
}

tg_status eval_oa_kld(const double *a, size_t na, const double *b, size_t nb, double *oa, double *kld)
{
    *oa = *kld = NAN;
    if (na == 0 || nb == 0) return TG_OK;
    double ma, sa, loa, hia, mb, sb, lob, hib;
    mean_sd(a, na, &ma, &sa, &loa, &hia);
    mean_sd(b, nb, &mb, &sb, &lob, &hib);
    double lo0 = loa < lob ? loa : lob, hi0 = hia > hib ? hia : hib, span = hi0 - lo0;
    if (!(span > 0)) { /* every distance in both lists is the same number */
        *oa = 1;
        *kld = 0;
        return TG_OK;
    }
    double ha = pow((double)na, -0.2) * sa, hb = pow((double)nb, -0.2) * sb;
    if (ha < span / 256) ha = span / 256;
    if (hb < span / 256) hb = span / 256;
    double lo = fmin(loa - 4 * ha, lob - 4 * hb), hi = fmax(hia + 4 * ha, hib + 4 * hb);
    double dx = (hi - lo) / (KDE_GRID - 1);
    double *pa = malloc(2 * KDE_GRID * sizeof *pa);
    if (!pa) return TG_ERR_NOMEM;
    double *pb = pa + KDE_GRID;
    tg_status st = kde_grid(a, na, ha, lo, dx, KDE_GRID, na > BINNED_ABOVE, pa);
    if (st == TG_OK) st = kde_grid(b, nb, hb, lo, dx, KDE_GRID, nb > BINNED_ABOVE, pb);
    if (st == TG_OK) {
        double floor = 1e-10 / (hi - lo), o = 0, k = 0;
        for (size_t g = 0; g < KDE_GRID; g++) {
            double w = (g == 0 || g == KDE_GRID - 1) ? 0.5 * dx : dx; /* trapezoid */
            double p = fmax(pa[g], floor), q = fmax(pb[g], floor);
            o += w * fmin(pa[g], pb[g]);
            k += w * p * log(p / q);
        }
        *oa = o;
        *kld = k;
    }
    free(pa);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Distances and the overlap of two sets. */

typedef double feature_row[EVAL_N_FEATURES][EVAL_FEATURE_MAX_DIM];

static double distance(const double *x, const double *y, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++) s += (x[i] - y[i]) * (x[i] - y[i]);
    return sqrt(s);
}

/* Distances of feature f over pairs: within rows a (b NULL: i < j) or across a x b. */
static tg_status pair_distances(const feature_row *a, size_t na, const feature_row *b, size_t nb, int f,
                                tg_rng *rng, double **out, size_t *n_out)
{
    int d = feature_dims[f];
    uint64_t pairs = b ? (uint64_t)na * nb : (uint64_t)na * (na - 1) / 2;
    if (na == 0 || (b && nb == 0)) pairs = 0;
    bool sample = pairs > MAX_PAIRS;
    size_t n = sample ? MAX_PAIRS : (size_t)pairs;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    if (sample) {
        for (size_t k = 0; k < n; k++) {
            size_t i, j;
            if (b) {
                i = tg_rng_below(rng, (uint32_t)na);
                j = tg_rng_below(rng, (uint32_t)nb);
                v[k] = distance(a[i][f], b[j][f], d);
            } else {
                do {
                    i = tg_rng_below(rng, (uint32_t)na);
                    j = tg_rng_below(rng, (uint32_t)na);
                } while (i == j);
                v[k] = distance(a[i][f], a[j][f], d);
            }
        }
    } else {
        size_t k = 0;
        for (size_t i = 0; i < na; i++) {
            if (b)
                for (size_t j = 0; j < nb; j++) v[k++] = distance(a[i][f], b[j][f], d);
            else
                for (size_t j = i + 1; j < na; j++) v[k++] = distance(a[i][f], a[j][f], d);
        }
    }
    *out = v;
    *n_out = n;
    return TG_OK;
}

static double mean_of(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return n ? s / (double)n : NAN;
}

tg_status eval_overlap(const eval_set *gen, const eval_set *ref, eval_overlap_result out[EVAL_N_FEATURES])
{
    for (int f = 0; f < EVAL_N_FEATURES; f++)
        out[f] = (eval_overlap_result){NAN, NAN, NAN, NAN, NAN, NAN};
    size_t ng = gen->n, nr = ref->n;
    feature_row *fg = malloc((ng ? ng : 1) * sizeof *fg);
    feature_row *fr = malloc((nr ? nr : 1) * sizeof *fr);
    if (!fg || !fr) {
        free(fg);
        free(fr);
        return TG_ERR_NOMEM;
    }
    for (size_t i = 0; i < ng; i++) eval_features(gen->pieces[i].score, fg[i]);
    for (size_t i = 0; i < nr; i++) eval_features(ref->pieces[i].score, fr[i]);
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_status st = TG_OK;
    for (int f = 0; f < EVAL_N_FEATURES && st == TG_OK; f++) {
        double *ig = NULL, *ir = NULL, *x = NULL;
        size_t nig = 0, nir = 0, nx = 0;
        st = pair_distances(fg, ng, NULL, 0, f, &rng, &ig, &nig);
        if (st == TG_OK) st = pair_distances(fr, nr, NULL, 0, f, &rng, &ir, &nir);
        if (st == TG_OK) st = pair_distances(fg, ng, fr, nr, f, &rng, &x, &nx);
        if (st == TG_OK) {
            out[f].intra_gen_mean = mean_of(ig, nig);
            out[f].intra_ref_mean = mean_of(ir, nir);
            out[f].inter_mean = mean_of(x, nx);
            st = eval_oa_kld(ir, nir, x, nx, &out[f].oa, &out[f].kld);
            double unused;
            if (st == TG_OK) st = eval_oa_kld(ig, nig, ir, nir, &out[f].oa_intra, &unused);
        }
        free(ig);
        free(ir);
        free(x);
    }
    free(fg);
    free(fr);
    return st;
}
