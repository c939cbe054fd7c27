/*
 * score.h: internal helpers of the score (src/score). The score itself and its
 * public functions are declared in include/tunegan.h.
 */
#ifndef TG_SCORE_H
#define TG_SCORE_H

#include "tunegan.h"

/* Default tempo before the first tempo event: 120 bpm. */
#define TG_DEFAULT_USEC_PER_QUARTER 500000u

/* Ticks of one bar of the given time signature. */
int64_t score_bar_ticks(const tg_score *score, tg_timesig ts);

#endif /* TG_SCORE_H */
