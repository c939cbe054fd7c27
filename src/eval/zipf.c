/*
 * zipf.c: SeqGAN's music MSE, as we read it, and a plain pitch MSE beside it.
 *
 * SeqGAN (Yu et al. 2017, section "Music Generation") reports BLEU and "MSE"
 * on Nottingham, the latter measuring "the fitness of the continuous pitch
 * data patterns", citing Manaris et al. 2007 ("A corpus-based hybrid approach
 * to music analysis and composition", AAAI). The paper gives no formula.
 * Manaris et al. describe each piece by Zipf metrics: for an attribute of the
 * notes (pitch, duration, melodic interval, ...) count how often each value
 * occurs, rank the values by frequency and fit a line to log10(frequency)
 * against log10(rank); the slope (-1 is Zipf's ideal, 0 uniform, steeper
 * monotonous) and the fit's R^2 are two features. Our reading:
 *
 *   zipf vector v(piece)  slope and R^2 of seven attributes (14 numbers):
 *     pitch              MIDI pitch of each note
 *     pitch_class        pitch mod 12
 *     duration           length in 1/12 of a quarter note (rounded; scores in
 *                        SMPTE time count a quarter as 0.5 s)
 *     pitch_duration     the (pitch, duration) pair
 *     melodic_interval   signed semitones between consecutive notes of the
 *                        melody (the highest pitch at each onset)
 *     melodic_bigram     consecutive pairs of melodic intervals
 *     harmonic_interval  |semitones| between a note and each note already
 *                        sounding when it starts (each pair once)
 *   zipf_mse          the mean over the 14 components of the squared
 *                     difference between the generated set's mean vector and
 *                     the reference set's (how far the sets' typical fitness
 *                     patterns are apart): the reading we report as "MSE";
 *   zipf_mse_nearest  the mean over generated pieces of the smallest mean
 *                     squared difference to any reference piece's vector.
 * Drum tracks are left out. A distribution with fewer than two distinct values
 * has slope 0 and R^2 0; one whose values are all equally frequent has slope 0
 * and R^2 1 (the flat line fits every point).
 *
 * pitch_mse, the plain reading: each piece's melody (as above) is cut to its
 * first 32 notes (SeqGAN's sequences had 32 steps); the pitch MSE of a
 * generated piece is the smallest, over reference pieces, mean of squared
 * pitch differences over their common prefix; pitch_mse is its mean over the
 * generated pieces (semitones squared, so on SeqGAN's scale of ~20).
 *
 * Neither reading reproduces SeqGAN's figures exactly (their code for the
 * music experiment was not published); both are reported so readers can judge.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

#define MELODY_PREFIX 32

static const char *const attr_names[EVAL_ZIPF_ATTRS] = {
    "pitch", "pitch_class", "duration", "pitch_duration", "melodic_interval", "melodic_bigram",
    "harmonic_interval",
};

const char *eval_zipf_attr_name(int attr)
{
    return attr >= 0 && attr < EVAL_ZIPF_ATTRS ? attr_names[attr] : "?";
}

static int cmp_u64_desc(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a < b) - (a > b);
}

void eval_zipf_fit(const uint64_t *counts, size_t n, double *slope, double *r2)
{
    *slope = 0;
    *r2 = 0;
    uint64_t *c = malloc((n ? n : 1) * sizeof *c);
    if (!c) return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (counts[i]) c[k++] = counts[i];
    if (k < 2) {
        free(c);
        return;
    }
    qsort(c, k, sizeof *c, cmp_u64_desc);
    double mx = 0, my = 0;
    for (size_t i = 0; i < k; i++) {
        mx += log10((double)(i + 1));
        my += log10((double)c[i]);
    }
    mx /= (double)k;
    my /= (double)k;
    double sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < k; i++) {
        double dx = log10((double)(i + 1)) - mx, dy = log10((double)c[i]) - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    free(c);
    *slope = sxy / sxx;
    *r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 1.0;
}

/* ------------------------------------------------------------------------ */
/* Attributes of a piece. */

typedef struct {
    int64_t start, end;
    int pitch;
} pnote;

static int cmp_pnote(const void *pa, const void *pb)
{
    const pnote *a = pa, *b = pb;
    if (a->start != b->start) return (a->start > b->start) - (a->start < b->start);
    return (a->pitch > b->pitch) - (a->pitch < b->pitch);
}

/* The pitched notes sorted by (start, pitch); *n gets the count. */
static pnote *pitched_notes(const tg_score *s, size_t *n)
{
    size_t cnt = 0;
    for (size_t t = 0; t < s->n_tracks; t++)
        if (!s->tracks[t].is_drum) cnt += s->tracks[t].n_notes;
    pnote *v = malloc((cnt ? cnt : 1) * sizeof *v);
    if (!v) return NULL;
    size_t k = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (s->tracks[t].is_drum) continue;
        for (size_t i = 0; i < s->tracks[t].n_notes; i++) {
            const tg_note *no = &s->tracks[t].notes[i];
            v[k++] = (pnote){no->start_ticks, no->end_ticks, no->pitch};
        }
    }
    qsort(v, cnt, sizeof *v, cmp_pnote);
    *n = cnt;
    return v;
}

/* The melody of sorted notes: the highest pitch at each onset. */
static size_t melody_of(const pnote *v, size_t n, int *out, size_t max_n)
{
    size_t m = 0;
    for (size_t i = 0; i < n && m < max_n;) {
        size_t j = i;
        while (j + 1 < n && v[j + 1].start == v[i].start) j++;
        out[m++] = v[j].pitch; /* sorted by pitch within an onset: the last is the highest */
        i = j + 1;
    }
    return m;
}

size_t eval_melody(const tg_score *score, int *pitches, size_t max_n)
{
    size_t n;
    pnote *v = pitched_notes(score, &n);
    if (!v) return 0;
    size_t m = melody_of(v, n, pitches, max_n);
    free(v);
    return m;
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

/* Fits the rank-frequency line of a list of values (sorted in place). */
static tg_status fit_values(int64_t *vals, size_t n, double *slope, double *r2)
{
    if (n > 1) qsort(vals, n, sizeof *vals, cmp_i64); /* vals may be NULL when n is 0 */
    uint64_t *counts = malloc((n ? n : 1) * sizeof *counts);
    if (!counts) return TG_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && vals[j] == vals[i]) j++;
        counts[k++] = j - i;
        i = j;
    }
    eval_zipf_fit(counts, k, slope, r2);
    free(counts);
    return TG_OK;
}

static int64_t duration_steps(const tg_score *s, const pnote *no)
{
    if (s->ticks_per_quarter > 0)
        return (int64_t)llround((double)(no->end - no->start) * 12.0 / s->ticks_per_quarter);
    double sec = tg_score_ticks_to_sec(s, -1, no->end) - tg_score_ticks_to_sec(s, -1, no->start);
    return (int64_t)llround(sec * 24.0);
}

tg_status eval_zipf_vector(const tg_score *s, double v[EVAL_ZIPF_DIMS])
{
    for (int i = 0; i < EVAL_ZIPF_DIMS; i++) v[i] = 0;
    size_t n;
    pnote *notes = pitched_notes(s, &n);
    int *mel = malloc((n ? n : 1) * sizeof *mel);
    int64_t *vals = malloc((n ? n : 1) * sizeof *vals);
    if (!notes || !mel || !vals) {
        free(notes);
        free(mel);
        free(vals);
        return TG_ERR_NOMEM;
    }
    tg_status st = TG_OK;
    for (int a = 0; a < EVAL_ZIPF_ATTRS && st == TG_OK; a++) {
        size_t k = 0;
        if (a <= 3) {
            for (size_t i = 0; i < n; i++) {
                int64_t d = duration_steps(s, &notes[i]);
                vals[k++] = a == 0 ? notes[i].pitch
                          : a == 1 ? notes[i].pitch % 12
                          : a == 2 ? d
                                   : (int64_t)notes[i].pitch * ((int64_t)1 << 40) + d;
            }
        } else if (a == 4 || a == 5) {
            size_t m = melody_of(notes, n, mel, n);
            for (size_t i = 0; i + 1 < m; i++) {
                int64_t iv = mel[i + 1] - mel[i];
                if (a == 4) {
                    vals[k++] = iv;
                } else if (i + 2 < m) {
                    int64_t iv2 = mel[i + 2] - mel[i + 1];
                    vals[k++] = (iv + 128) * 256 + (iv2 + 128);
                }
            }
        } else {
            /* harmonic intervals: a sweep keeping the notes still sounding */
            size_t *active = malloc((n ? n : 1) * sizeof *active);
            int64_t *hv = NULL;
            size_t n_active = 0, hn = 0, hcap = 0;
            if (!active) st = TG_ERR_NOMEM;
            for (size_t i = 0; i < n && st == TG_OK; i++) {
                size_t keep = 0;
                for (size_t j = 0; j < n_active; j++)
                    if (notes[active[j]].end > notes[i].start) active[keep++] = active[j];
                n_active = keep;
                for (size_t j = 0; j < n_active && st == TG_OK; j++) {
                    if (hn == hcap) {
                        size_t cap = hcap ? 2 * hcap : 256;
                        int64_t *p = realloc(hv, cap * sizeof *p);
                        if (!p) {
                            st = TG_ERR_NOMEM;
                            break;
                        }
                        hv = p;
                        hcap = cap;
                    }
                    hv[hn++] = llabs((int64_t)notes[i].pitch - notes[active[j]].pitch);
                }
                active[n_active++] = i;
            }
            if (st == TG_OK) st = fit_values(hv, hn, &v[2 * a], &v[2 * a + 1]);
            free(hv);
            free(active);
            continue;
        }
        st = fit_values(vals, k, &v[2 * a], &v[2 * a + 1]);
    }
    free(notes);
    free(mel);
    free(vals);
    return st;
}

/* ------------------------------------------------------------------------ */

static double sq_dist(const double *a, const double *b, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s / d;
}

tg_status eval_mse(const eval_set *gen, const eval_set *ref, eval_mse_result *out)
{
    out->zipf_mse = out->zipf_mse_nearest = out->pitch_mse = NAN;
    if (gen->n == 0 || ref->n == 0) return TG_ERR_ARG;
    size_t ng = gen->n, nr = ref->n;
    double *vg = malloc(ng * EVAL_ZIPF_DIMS * sizeof *vg);
    double *vr = malloc(nr * EVAL_ZIPF_DIMS * sizeof *vr);
    int *mg = malloc(ng * MELODY_PREFIX * sizeof *mg);
    int *mr = malloc(nr * MELODY_PREFIX * sizeof *mr);
    size_t *lg = malloc(ng * sizeof *lg), *lr = malloc(nr * sizeof *lr);
    tg_status st = vg && vr && mg && mr && lg && lr ? TG_OK : TG_ERR_NOMEM;
    for (size_t i = 0; i < ng && st == TG_OK; i++) {
        st = eval_zipf_vector(gen->pieces[i].score, vg + i * EVAL_ZIPF_DIMS);
        lg[i] = eval_melody(gen->pieces[i].score, mg + i * MELODY_PREFIX, MELODY_PREFIX);
    }
    for (size_t i = 0; i < nr && st == TG_OK; i++) {
        st = eval_zipf_vector(ref->pieces[i].score, vr + i * EVAL_ZIPF_DIMS);
        lr[i] = eval_melody(ref->pieces[i].score, mr + i * MELODY_PREFIX, MELODY_PREFIX);
    }
    if (st == TG_OK) {
        double mean_g[EVAL_ZIPF_DIMS] = {0}, mean_r[EVAL_ZIPF_DIMS] = {0};
        for (size_t i = 0; i < ng; i++)
            for (int d = 0; d < EVAL_ZIPF_DIMS; d++) mean_g[d] += vg[i * EVAL_ZIPF_DIMS + d] / (double)ng;
        for (size_t i = 0; i < nr; i++)
            for (int d = 0; d < EVAL_ZIPF_DIMS; d++) mean_r[d] += vr[i * EVAL_ZIPF_DIMS + d] / (double)nr;
        out->zipf_mse = sq_dist(mean_g, mean_r, EVAL_ZIPF_DIMS);
        double sum = 0, psum = 0;
        size_t pcount = 0;
        for (size_t i = 0; i < ng; i++) {
            double best = INFINITY, pbest = INFINITY;
            for (size_t j = 0; j < nr; j++) {
                double d = sq_dist(vg + i * EVAL_ZIPF_DIMS, vr + j * EVAL_ZIPF_DIMS, EVAL_ZIPF_DIMS);
                if (d < best) best = d;
                size_t L = lg[i] < lr[j] ? lg[i] : lr[j];
                if (L == 0) continue;
                double e = 0;
                for (size_t t = 0; t < L; t++) {
                    double diff = mg[i * MELODY_PREFIX + t] - mr[j * MELODY_PREFIX + t];
                    e += diff * diff;
                }
                e /= (double)L;
                if (e < pbest) pbest = e;
            }
            sum += best;
            if (isfinite(pbest)) {
                psum += pbest;
                pcount++;
            }
        }
        out->zipf_mse_nearest = sum / (double)ng;
        if (pcount) out->pitch_mse = psum / (double)pcount;
    }
    free(vg);
    free(vr);
    free(mg);
    free(mr);
    free(lg);
    free(lr);
    return st;
}
