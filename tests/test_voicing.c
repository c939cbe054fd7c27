/*
 * test_voicing.c: the voice-leading rules of src/sample/voicing.c, which
 * harmony.c counts and fill.c keeps. Hand-made cases: the motion rules
 * (parallel fifths, octaves and unisons, a crossed fourth read as a fifth,
 * contrary and oblique motion, rests); a remi-tracks bar in which the
 * soprano moves C5 -> D5 and the alto's previous note is F4, so the alto's
 * G4 is a parallel fifth and masked (judged through the policy's own row of
 * notes and grammar state), with crossings and ranges around it and the
 * unwritten voices left free; the tenor's octaves and fifths against both;
 * a duration over which the soprano comes down through the alto; a tenor
 * note held over the bar line, which the alto of the next bar may not cross
 * before the tenor is written there; and the order of relaxation when no
 * pitch keeps the rules.
 */
#include <stdlib.h>
#include <string.h>

#include "sample/sample.h"
#include "test.h"
#include "tok/tok.h"

static void test_motion(void)
{
    CHECK_INT(voicing_parallel_motion(72, 74, 65, 67), VOICING_FIFTHS);   /* C5-F4 -> D5-G4 */
    CHECK_INT(voicing_parallel_motion(72, 74, 60, 62), VOICING_OCTAVES);  /* octaves */
    CHECK_INT(voicing_parallel_motion(67, 65, 67, 65), VOICING_OCTAVES);  /* unisons, down */
    CHECK_INT(voicing_parallel_motion(72, 79, 53, 60), VOICING_FIFTHS);   /* compound fifths, by leaps */
    CHECK_INT(voicing_parallel_motion(60, 62, 65, 67), VOICING_FIFTHS);   /* a crossed fourth: voice order */
    CHECK_INT(voicing_parallel_motion(72, 74, 65, 63), VOICING_FREE);     /* contrary */
    CHECK_INT(voicing_parallel_motion(72, 72, 65, 65), VOICING_FREE);     /* held */
    CHECK_INT(voicing_parallel_motion(72, 74, 65, 65), VOICING_FREE);     /* oblique */
    CHECK_INT(voicing_parallel_motion(72, 74, 64, 67), VOICING_FREE);     /* sixth to fifth */
    CHECK_INT(voicing_parallel_motion(-1, 74, 65, 67), VOICING_FREE);     /* from a rest */
    CHECK_INT(voicing_parallel_motion(72, 74, 65, -1), VOICING_FREE);     /* into a rest */
    CHECK(voicing_crossed(60, 62));
    CHECK(!voicing_crossed(62, 62));
    CHECK(!voicing_crossed(62, 60));
    CHECK(!voicing_crossed(-1, 62));
    int lo[SAMPLE_VOICES], hi[SAMPLE_VOICES];
    voicing_ranges_default(lo, hi);
    CHECK_INT(lo[0], 60);
    CHECK_INT(hi[0], 79);
    CHECK_INT(lo[3], 40);
    CHECK_INT(hi[3], 60);
}

/* Feeds names (NULL-terminated) to the grammar and the row. */
static void feed(const tok_tokenizer *tok, tok_grammar *g, voicing_row *r, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        int id = tok_lookup(tok, names[i]);
        if (id < 0) {
            fprintf(stderr, "no token %s\n", names[i]);
            CHECK(id >= 0);
            return;
        }
        CHECK_OK(voicing_row_feed(r, g, id, false));
        CHECK_OK(tok_grammar_feed(g, id));
    }
}

static sample_voicing satb(void)
{
    sample_voicing v;
    memset(&v, 0, sizeof v);
    for (int k = 0; k < TOK_TRACKS_MAX; k++) v.voice_of_slot[k] = k < SAMPLE_VOICES ? k : -1;
    voicing_ranges_default(v.low, v.high);
    return v;
}

/* A 4/4 bar (12 steps a quarter): soprano C5 (beat 1) D5 (beat 2) C4
 * (beat 3); the alto F4 on beat 1, then its beat-2 note is judged. */
static void test_alto_fifth(const tok_tokenizer *tok)
{
    static const char *const bar[] = {
        "BOS", "Track_0", "Program_52", "Track_1", "Program_52", "Track_2", "Program_52", "Track_3", "Program_52",
        "Bar", "TimeSig_4/4",
        "Track_0", "Position_0", "Pitch_72", "Velocity_20", "Duration_12", "Position_12", "Pitch_74", "Duration_12",
        "Position_24", "Pitch_60", "Duration_24",
        "Track_1", "Position_0", "Pitch_65", "Velocity_20", "Duration_12", "Position_12", NULL};
    const sample_voicing v = satb();
    voicing_row r;
    voicing_row_init(&r, &v, tok_steps_per_quarter(tok));
    tok_grammar g;
    tok_grammar_init(&g, tok);
    feed(tok, &g, &r, bar);
    CHECK_INT(voicing_voice_at(&r, &g), 1);
    uint8_t flags[128];
    voicing_judge(&r, &g, flags);
    CHECK(flags[67] & VOICING_PARALLELS);         /* G4: C5-F4 -> D5-G4 */
    CHECK_INT(flags[67] & ~VOICING_PARALLELS, 0); /* and nothing else */
    CHECK_INT(flags[69], 0);                      /* A4: a sixth, free */
    CHECK_INT(flags[74], 0);                      /* D5: fifth to unison, at the top of the range */
    CHECK(flags[75] & VOICING_CROSSING);          /* above the soprano's D5 */
    CHECK(flags[75] & VOICING_RANGE);             /* and above D5, the alto's top */
    CHECK_INT(flags[62], 0);                      /* D4: contrary to the soprano */
    CHECK(flags[54] & VOICING_RANGE);             /* below G3 */
    CHECK_INT(flags[54] & ~VOICING_RANGE, 0);     /* the tenor and bass are not written yet: no crossing */
    CHECK(flags[62 - 12] & VOICING_RANGE);

    /* the alto takes A4 (69) for a half note: the soprano's C4 on beat 3
     * starts below it, a crossing; a quarter note is not crossed */
    static const char *const a4[] = {"Pitch_69", NULL};
    feed(tok, &g, &r, a4);
    CHECK(voicing_held_crosses(&r, &g, 24));
    CHECK(!voicing_held_crosses(&r, &g, 12));
    static const char *const q[] = {"Duration_12", NULL};
    feed(tok, &g, &r, q);
    CHECK_INT(r.n[1], 2);
    CHECK_INT(r.notes[1][1].from, 4);
    CHECK_INT(r.notes[1][1].to, 8);
    CHECK_INT(r.notes[1][1].pitch, 69);

    /* the tenor, written after the soprano and alto: F3 on beat 1 (an
     * octave under the alto's F4, a twelfth under the soprano's C5), then
     * beat 2 judged against F4 -> A4 and C5 -> D5 */
    static const char *const ten[] = {"Track_2", "Position_0", "Pitch_53", "Velocity_20", "Duration_12",
                                      "Position_12", NULL};
    feed(tok, &g, &r, ten);
    CHECK_INT(voicing_voice_at(&r, &g), 2);
    voicing_judge(&r, &g, flags);
    CHECK_INT(flags[57], VOICING_PARALLELS); /* A3: octaves with the alto */
    CHECK_INT(flags[55], VOICING_PARALLELS); /* G3: fifths (compound) with the soprano */
    CHECK_INT(flags[53], 0);                 /* F3 again: oblique */
    CHECK_INT(flags[52], 0);                 /* E3: contrary */
    CHECK_INT(flags[70], VOICING_CROSSING | VOICING_RANGE); /* above the alto's A4 and G4 */
    CHECK_INT(flags[47], VOICING_RANGE);     /* below C3; the bass is not written yet */

    /* the tenor holds E4 (64) from beat 2 over the bar line into the next
     * bar; there the alto, written before the tenor, may not go below it,
     * though the tenor is not written in that bar yet */
    static const char *const held[] = {"Pitch_64", "Duration_48", "Track_3", "Bar", "Track_0", "Position_0",
                                       "Pitch_72", "Velocity_20", "Duration_48", "Track_1", "Position_0", NULL};
    feed(tok, &g, &r, held);
    CHECK_INT(voicing_voice_at(&r, &g), 1);
    voicing_judge(&r, &g, flags);
    CHECK_INT(flags[63], VOICING_CROSSING);  /* D#4 under the tenor's E4 */
    CHECK_INT(flags[64], 0);                 /* a unison is no crossing */
    CHECK_INT(flags[73], VOICING_CROSSING);  /* C#5 above the soprano's C5 */
    voicing_row_free(&r);
}

/* Relaxation: the range first, then crossings, then parallels, only when a pitch must come. */
static void test_relax(const tok_tokenizer *tok)
{
    const int V = tok_vocab_size(tok);
    uint8_t *mask = calloc((size_t)V, 1), flags[128] = {0};
    const int all = VOICING_RANGE | VOICING_CROSSING | VOICING_PARALLELS;
    bool other = true;
    for (int p = 60; p <= 61; p++) mask[tok_id(tok, TOK_T_PITCH, p)] = 1;
    CHECK_INT(voicing_rules_kept(tok, mask, flags, &other), all); /* clean pitches: strict */
    CHECK(!other);
    flags[60] = VOICING_RANGE | VOICING_CROSSING, flags[61] = VOICING_RANGE;
    CHECK_INT(voicing_rules_kept(tok, mask, flags, NULL), VOICING_CROSSING | VOICING_PARALLELS);
    flags[61] = VOICING_CROSSING | VOICING_PARALLELS;
    CHECK_INT(voicing_rules_kept(tok, mask, flags, NULL), VOICING_PARALLELS); /* 60 keeps the parallels */
    flags[60] = all, flags[61] = VOICING_PARALLELS;
    CHECK_INT(voicing_rules_kept(tok, mask, flags, NULL), 0);
    flags[62] = 0; /* a clean pitch the grammar does not allow does not count */
    CHECK_INT(voicing_rules_kept(tok, mask, flags, NULL), 0);
    mask[tok_id(tok, TOK_T_POSITION, 24)] = 1; /* another token may come: nothing is relaxed */
    CHECK_INT(voicing_rules_kept(tok, mask, flags, &other), all);
    CHECK(other);
    free(mask);
}

int main(void)
{
    test_motion();
    tok_config c = tok_config_default(TOK_REMI_TRACKS);
    tok_tokenizer *tok = NULL;
    CHECK_OK(tok_create(&c, &tok));
    if (tok) test_alto_fifth(tok);
    if (tok) test_relax(tok);
    tok_free(tok);
    return test_finish("test_voicing");
}
