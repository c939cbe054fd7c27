/*
 * score.h: internal helpers of the score (src/score). The score itself and its
 * public functions are declared in include/tunegan.h.
 */
#ifndef TG_SCORE_H
#define TG_SCORE_H

#include "tunegan.h"

/* Default tempo before the first tempo event: 120 bpm. */
#define TG_DEFAULT_USEC_PER_QUARTER 500000u

/* Stable merge sort of n map entries (tg_tempo, tg_timesig or tg_keysig: each
 * starts with its int64_t ticks) by ticks; TG_ERR_NOMEM leaves them as they were. */
tg_status score_sort_by_ticks(void *base, size_t n, size_t elem);

/* Ticks of one bar of the given time signature. */
int64_t score_bar_ticks(const tg_score *score, tg_timesig ts);

#endif /* TG_SCORE_H */
