/* test_musicxml.c: the MusicXML writer on small hand-made scores: a note
 * across a bar line (two tied notes), a dotted value, rests, a chord and a
 * second voice, a 3/4 -> 6/8 change, key signatures and spelling, the key
 * estimate, the quantisation rule (rounding, ties, the shortest note), one
 * pitch never overlapping itself, a grand staff, more than four voices,
 * drums, escaping, errors naming their cause and the atomic file. The XML is
 * checked for balanced tags, then by the text of single measures. MuseScore
 * reading it back is tests/test_musicxml_musescore.py. */
#include <unistd.h>

#include "core/core.h"
#include "render/render.h"
#include "tok/tok.h"
#include "test.h"

#define TPQ 480 /* ticks per quarter of the scores below; the grid is 12 (a quarter is 12 steps) */

static tg_score *new_score(void)
{
    tg_score *sc = NULL;
    if (tg_score_create(TPQ, &sc) != TG_OK) return NULL;
    return sc;
}

static size_t add_track(tg_score *sc, const char *name, int channel, int program)
{
    size_t t = 0;
    CHECK_OK(tg_score_add_track(sc, name, channel, program, -1, &t));
    return t;
}

/* A note from quarter a to quarter b (fractions allowed). */
static void note(tg_score *sc, size_t t, double a, double b, int pitch)
{
    tg_note n = {(int64_t)(a * TPQ + 0.5), (int64_t)(b * TPQ + 0.5), (uint8_t)pitch, 90,
                 (uint8_t)sc->tracks[t].channel};
    CHECK_OK(tg_score_add_note(sc, t, n));
}

/* Whether every tag is closed in order ("<?", "<!" and "<x/>" stand alone). */
static bool balanced(const char *xml)
{
    char stack[64][32];
    int depth = 0;
    for (const char *p = strchr(xml, '<'); p; p = strchr(p + 1, '<')) {
        if (p[1] == '?' || p[1] == '!') continue;
        const char *end = strchr(p, '>');
        if (!end) return false;
        bool closing = p[1] == '/', empty = end[-1] == '/';
        const char *name = p + 1 + closing;
        size_t n = strcspn(name, " />");
        if (n >= 32) return false;
        if (closing) {
            if (!depth || strncmp(stack[depth - 1], name, n) != 0 || stack[depth - 1][n]) return false;
            depth--;
        } else if (!empty) {
            if (depth == 64) return false;
            memcpy(stack[depth], name, n);
            stack[depth++][n] = 0;
        }
    }
    return depth == 0;
}

static char *xml_of(const tg_score *sc, int grid)
{
    tg_musicxml_options o = tg_musicxml_options_default();
    o.steps_per_quarter = grid;
    char *xml = NULL, err[256] = "";
    size_t len = 0;
    CHECK_OK(tg_musicxml_write_memory(sc, &o, &xml, &len, err, sizeof err));
    if (!xml) return NULL;
    CHECK_INT(strlen(xml), len);
    CHECK(balanced(xml));
    CHECK(strstr(xml, "<!DOCTYPE score-partwise PUBLIC \"-//Recordare//DTD MusicXML 3.1 Partwise//EN\"") != NULL);
    return xml;
}

/* The text of measure `number` of part `part` (both from 1), "" when there is none. */
static char *measure(const char *xml, int part, int number)
{
    static char buf[16384];
    char key[64];
    buf[0] = 0;
    snprintf(key, sizeof key, "<part id=\"P%d\">", part);
    const char *p = xml ? strstr(xml, key) : NULL;
    snprintf(key, sizeof key, "<measure number=\"%d\">", number);
    const char *m = p ? strstr(p, key) : NULL;
    const char *end = m ? strstr(m, "</measure>") : NULL;
    if (end && (size_t)(end - m) < sizeof buf) {
        memcpy(buf, m, (size_t)(end - m));
        buf[end - m] = 0;
    }
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

#define HAS(text, needle) CHECK(strstr((text), (needle)) != NULL)
#define LACKS(text, needle) CHECK(strstr((text), (needle)) == NULL)

static void test_tie_across_bar(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "Melody", 0, 73);
    note(sc, t, 3, 5, 72); /* beat 4 of bar 1 to beat 2 of bar 2 */
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    HAS(m1, "<duration>12</duration><tie type=\"start\"/><voice>1</voice><type>quarter</type>");
    HAS(m1, "<tied type=\"start\"/>");
    LACKS(m1, "type=\"stop\"");
    HAS(m1, "<rest/><duration>24</duration><voice>1</voice><type>half</type>"); /* beats 1-2 */
    HAS(m1, "<rest/><duration>12</duration>");                                 /* beat 3 */
    const char *m2 = measure(xml, 1, 2);
    HAS(m2, "<duration>12</duration><tie type=\"stop\"/><voice>1</voice><type>quarter</type>");
    HAS(m2, "<tied type=\"stop\"/>");
    LACKS(m2, "type=\"start\"");
    CHECK_INT(count(xml, "<measure "), 2);
    HAS(xml, "<part-name>Melody</part-name>");
    HAS(xml, "<midi-program>74</midi-program>"); /* program 73 (flute) is MIDI's 74 */
    free(xml);
    tg_score_free(sc);
}

static void test_dotted_and_rests(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 40);
    note(sc, t, 0, 1.5, 67);     /* a dotted quarter */
    note(sc, t, 1.5, 2, 69);     /* an eighth */
    note(sc, t, 2.25, 2.5, 71);  /* a 16th after a 16th rest */
    note(sc, t, 8, 9, 72);       /* bar 3; bar 2 is empty */
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    HAS(m1, "<duration>18</duration><voice>1</voice><type>quarter</type><dot/>");
    LACKS(m1, "<tie");
    HAS(m1, "<duration>6</duration><voice>1</voice><type>eighth</type>");
    HAS(m1, "<rest/><duration>3</duration><voice>1</voice><type>16th</type>");
    HAS(m1, "<duration>3</duration><voice>1</voice><type>16th</type></note>");
    /* the rest of the bar from 2.5: an eighth to the beat, then a quarter */
    HAS(m1, "<rest/><duration>6</duration><voice>1</voice><type>eighth</type>");
    HAS(m1, "<rest/><duration>12</duration><voice>1</voice><type>quarter</type>");
    HAS(measure(xml, 1, 2), "<rest measure=\"yes\"/><duration>48</duration>");
    HAS(xml, "<part-name>Violin</part-name>"); /* unnamed: the General MIDI program's name */
    free(xml);
    tg_score_free(sc);
}

static void test_chord_and_voices(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "Piano", 0, 0);
    note(sc, t, 0, 2, 60);
    note(sc, t, 0, 2, 64);
    note(sc, t, 0, 2, 67);
    note(sc, t, 0, 1, 72); /* starts with the chord, ends earlier: the first voice (shorter first), the chord the second */
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    CHECK_INT(count(m1, "<chord/>"), 2);
    HAS(m1, "<note><pitch><step>C</step><octave>5</octave></pitch><duration>12</duration><voice>1</voice>");
    HAS(m1, "<backup><duration>48</duration></backup>\n"
            "        <note><pitch><step>C</step><octave>4</octave></pitch><duration>24</duration><voice>2</voice>");
    HAS(m1, "<note><chord/><pitch><step>E</step><octave>4</octave></pitch><duration>24</duration><voice>2</voice>");
    HAS(m1, "<note><chord/><pitch><step>G</step><octave>4</octave></pitch><duration>24</duration><voice>2</voice>");
    free(xml);
    tg_score_free(sc);

    /* bar 2 holds only the second voice's tied end: no bar rest for the first voice */
    sc = new_score();
    t = add_track(sc, "", 0, 0);
    note(sc, t, 0, 2, 64);
    note(sc, t, 0, 6, 60);
    xml = xml_of(sc, 12);
    const char *m2 = measure(xml, 1, 2);
    LACKS(m2, "<rest measure=\"yes\"/>");
    LACKS(m2, "<voice>1</voice>");
    HAS(m2, "<duration>24</duration><tie type=\"stop\"/><voice>2</voice><type>half</type>");
    HAS(m2, "<rest/><duration>24</duration><voice>2</voice><type>half</type>");
    free(xml);
    tg_score_free(sc);
}

static void test_meter_change(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 0);
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){0, 3, 4, -1}));
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){3 * TPQ, 6, 8, -1}));
    note(sc, t, 0, 3, 67);      /* a dotted half fills the 3/4 bar */
    note(sc, t, 3, 4.5, 69);    /* 6/8: a dotted quarter */
    note(sc, t, 9, 10.5, 71);   /* bar 4 (the third 6/8 bar); bar 3 is empty */
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    HAS(m1, "<time><beats>3</beats><beat-type>4</beat-type></time>");
    HAS(m1, "<duration>36</duration><voice>1</voice><type>half</type><dot/>");
    const char *m2 = measure(xml, 1, 2);
    HAS(m2, "<time><beats>6</beats><beat-type>8</beat-type></time>");
    HAS(m2, "<duration>18</duration><voice>1</voice><type>quarter</type><dot/>");
    LACKS(m2, "<divisions>");
    HAS(measure(xml, 1, 3), "<rest measure=\"yes\"/><duration>36</duration>");
    LACKS(measure(xml, 1, 3), "<time>");
    HAS(measure(xml, 1, 4), "<duration>18</duration><voice>1</voice><type>quarter</type><dot/>");
    HAS(measure(xml, 1, 4), "<rest/><duration>18</duration><voice>1</voice><type>quarter</type><dot/>"); /* a beat of 6/8 */
    CHECK_INT(count(xml, "<measure "), 4);
    free(xml);
    tg_score_free(sc);

    /* 6/8: four eighths are a dotted quarter tied to an eighth, then a quarter rest to the bar's end */
    sc = new_score();
    t = add_track(sc, "", 0, 0);
    CHECK_OK(tg_score_add_timesig(sc, (tg_timesig){0, 6, 8, -1}));
    note(sc, t, 0, 2, 67);
    xml = xml_of(sc, 12);
    m1 = measure(xml, 1, 1);
    HAS(m1, "<duration>18</duration><tie type=\"start\"/><voice>1</voice><type>quarter</type><dot/>");
    HAS(m1, "<duration>6</duration><tie type=\"stop\"/><voice>1</voice><type>eighth</type>");
    HAS(m1, "<rest/><duration>12</duration><voice>1</voice><type>quarter</type></note>");
    CHECK_INT(count(m1, "<rest/>"), 1);
    LACKS(m1, "<type>half</type>");
    free(xml);
    tg_score_free(sc);
}

static void test_keys_and_spelling(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 0);
    CHECK_OK(tg_score_add_keysig(sc, (tg_keysig){0, -3, 1, -1}));          /* C minor */
    CHECK_OK(tg_score_add_keysig(sc, (tg_keysig){4 * TPQ + 10, 2, 0, -1})); /* D major, inside bar 2 */
    note(sc, t, 0, 1, 63);  /* E flat */
    note(sc, t, 1, 2, 71);  /* B natural: the raised leading tone */
    note(sc, t, 2, 3, 66);  /* F sharp / G flat: flats in a flat key */
    note(sc, t, 4, 5, 66);  /* bar 2: still C minor (the change is inside the bar) */
    note(sc, t, 8, 9, 66);  /* bar 3: D major, F sharp */
    note(sc, t, 9, 10, 70); /* A sharp: sharps in a sharp key */
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    HAS(m1, "<key><fifths>-3</fifths><mode>minor</mode></key>");
    HAS(m1, "<step>E</step><alter>-1</alter><octave>4</octave>");
    HAS(m1, "<step>B</step><octave>4</octave>");
    HAS(m1, "<step>G</step><alter>-1</alter><octave>4</octave>");
    LACKS(measure(xml, 1, 2), "<key>");
    const char *m3 = measure(xml, 1, 3);
    HAS(m3, "<key><fifths>2</fifths><mode>major</mode></key>");
    HAS(m3, "<step>F</step><alter>1</alter><octave>4</octave>");
    HAS(m3, "<step>A</step><alter>1</alter><octave>4</octave>");
    free(xml);
    tg_score_free(sc);

    char step;
    int alter, octave;
    notation_spell(60, 7, false, &step, &alter, &octave); /* C sharp major: C is B sharp */
    CHECK(step == 'B' && alter == 1 && octave == 3);
    notation_spell(71, -7, false, &step, &alter, &octave); /* C flat major: B is C flat */
    CHECK(step == 'C' && alter == -1 && octave == 5);
    notation_spell(67, 5, true, &step, &alter, &octave); /* G sharp minor: G is F double sharp */
    CHECK(step == 'F' && alter == 2 && octave == 4);
    notation_spell(61, -1, true, &step, &alter, &octave); /* D minor: C sharp, not D flat */
    CHECK(step == 'C' && alter == 1 && octave == 4);
    notation_spell(64, -2, false, &step, &alter, &octave); /* B flat major: E natural, not F flat */
    CHECK(step == 'E' && alter == 0 && octave == 4);
    notation_spell(55, 4, false, &step, &alter, &octave); /* E major: G natural, not F double sharp */
    CHECK(step == 'G' && alter == 0 && octave == 3);
    notation_spell(66, -1, false, &step, &alter, &octave); /* F major: G flat (flats in a flat key) */
    CHECK(step == 'G' && alter == -1 && octave == 4);
    notation_spell(70, 0, false, &step, &alter, &octave); /* C major: A sharp (sharps) */
    CHECK(step == 'A' && alter == 1 && octave == 4);
}

static void test_key_estimate(void)
{
    static const int d_major[] = {62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62, 69};
    static const int e_minor[] = {64, 66, 67, 69, 71, 72, 75, 76, 71, 67, 64, 64};
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 0);
    for (int i = 0; i < 12; i++) note(sc, t, i, i + 1, d_major[i]);
    int fifths;
    bool minor;
    notation_estimate_key(sc, &fifths, &minor);
    CHECK_INT(fifths, 2);
    CHECK(!minor);
    char *xml = xml_of(sc, 12);
    HAS(measure(xml, 1, 1), "<key><fifths>2</fifths><mode>major</mode></key>");
    free(xml);
    tg_score_free(sc);
    sc = new_score();
    t = add_track(sc, "", 0, 0);
    for (int i = 0; i < 12; i++) note(sc, t, i, i + 1, e_minor[i]);
    notation_estimate_key(sc, &fifths, &minor);
    CHECK_INT(fifths, 1);
    CHECK(minor);
    tg_score_free(sc);
}

static void test_quantisation(void)
{
    CHECK_INT(notation_unit(12), 3);
    CHECK_INT(notation_unit(8), 1);
    CHECK_INT(notation_unit(6), 3);
    CHECK_INT(notation_unit(96), 3); /* at most 32 per quarter: a 128th note */
    CHECK_INT(notation_unit(5), 5);
    CHECK_INT(tg_musicxml_options_default().steps_per_quarter, tok_config_default(TOK_REMI).remi.steps_per_quarter);
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 0);
    /* the unit is a 16th, 120 ticks */
    tg_note a = {80, 400, 60, 90, 0};  /* 0.67 and 3.33 units: 1 to 3 (steps 3 to 9) */
    tg_note b = {540, 550, 62, 90, 0}; /* 4.5 units (a tie: the later, 5), 10 ticks: one unit */
    tg_note c = {900, 1020, 64, 90, 0}; /* 7.5 to 8.5 units: 8 to 9 */
    CHECK_OK(tg_score_add_note(sc, t, a));
    CHECK_OK(tg_score_add_note(sc, t, b));
    CHECK_OK(tg_score_add_note(sc, t, c));
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    HAS(m1, "<rest/><duration>3</duration><voice>1</voice><type>16th</type></note>\n"
            "        <note><pitch><step>C</step><octave>4</octave></pitch><duration>6</duration>");
    HAS(m1, "<rest/><duration>3</duration><voice>1</voice><type>16th</type></note>\n"
            "        <note><pitch><step>D</step><octave>4</octave></pitch><duration>3</duration>");
    HAS(m1, "<rest/><duration>6</duration><voice>1</voice><type>eighth</type></note>\n"
            "        <note><pitch><step>E</step><octave>4</octave></pitch><duration>3</duration>");
    free(xml);
    tg_score_free(sc);
    sc = new_score();
    t = add_track(sc, "", 0, 0);
    note(sc, t, 0, 7.0 / 8, 60); /* grid 8: the unit is a step, a 32nd; 7 of them: a dotted 8th tied to a 32nd */
    xml = xml_of(sc, 8);
    m1 = measure(xml, 1, 1);
    HAS(m1, "<divisions>8</divisions>");
    HAS(m1, "<duration>6</duration><tie type=\"start\"/><voice>1</voice><type>eighth</type><dot/>");
    HAS(m1, "<duration>1</duration><tie type=\"stop\"/><voice>1</voice><type>32nd</type>");
    free(xml);
    tg_score_free(sc);
}

static void test_same_pitch(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 0);
    note(sc, t, 0, 2, 60);
    note(sc, t, 1, 3, 60); /* cuts the first at beat 2 */
    note(sc, t, 0, 1, 64);
    note(sc, t, 0, 2, 64); /* starts with the other E: merged into the longer */
    char *xml = xml_of(sc, 12);
    const char *m1 = measure(xml, 1, 1);
    CHECK_INT(count(m1, "<step>C</step>"), 2);
    CHECK_INT(count(m1, "<step>E</step>"), 1);
    HAS(m1, "<step>C</step><octave>4</octave></pitch><duration>12</duration>");
    HAS(m1, "<step>C</step><octave>4</octave></pitch><duration>24</duration>");
    HAS(m1, "<step>E</step><octave>4</octave></pitch><duration>24</duration>");
    free(xml);
    tg_score_free(sc);
}

static void test_staves(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "", 0, 0);
    for (int i = 0; i < 4; i++) note(sc, t, i, i + 1, 72), note(sc, t, i, i + 1, 48);
    size_t u = add_track(sc, "", 1, 48);
    for (int v = 0; v < 6; v++) note(sc, u, v * 0.25, 4, 60 + v); /* six voices: a second staff */
    char *xml = xml_of(sc, 12);
    const char *p1 = measure(xml, 1, 1);
    HAS(p1, "<staves>2</staves><clef number=\"1\"><sign>G</sign><line>2</line></clef>"
            "<clef number=\"2\"><sign>F</sign><line>4</line></clef>");
    HAS(p1, "<step>C</step><octave>5</octave></pitch><duration>12</duration><voice>1</voice><type>quarter</type><staff>1</staff>");
    HAS(p1, "<step>C</step><octave>3</octave></pitch><duration>12</duration><voice>2</voice><type>quarter</type><staff>2</staff>");
    const char *p2 = measure(xml, 2, 1);
    HAS(p2, "<staves>2</staves>");
    HAS(p2, "<voice>4</voice>");
    HAS(p2, "<voice>6</voice>");
    HAS(p2, "<staff>2</staff>");
    CHECK_INT(count(p2, "<backup>"), 5);
    free(xml);
    tg_score_free(sc);
}

static void test_drums_and_text(void)
{
    tg_score *sc = new_score();
    size_t t = add_track(sc, "Kit <1> & \"more\"\x01\xed\xa0\x80", 9, 0); /* a control byte and a surrogate */
    note(sc, t, 0, 0.25, 36);
    note(sc, t, 1, 1.25, 38);
    tg_musicxml_options o = tg_musicxml_options_default();
    o.title = "R\xc3\xa9" "el & <fake>\xff";
    char *xml = NULL, err[256];
    size_t len;
    CHECK_OK(tg_musicxml_write_memory(sc, &o, &xml, &len, err, sizeof err));
    if (!xml) return;
    CHECK(balanced(xml));
    HAS(xml, "<work-title>R\xc3\xa9" "el &amp; &lt;fake&gt;?</work-title>");
    HAS(xml, "<part-name>Kit &lt;1&gt; &amp; &quot;more&quot;??" "?</part-name>");
    HAS(xml, "<midi-instrument id=\"P1-I37\"><midi-channel>10</midi-channel><midi-unpitched>37</midi-unpitched>");
    HAS(xml, "<midi-instrument id=\"P1-I39\"><midi-channel>10</midi-channel><midi-unpitched>39</midi-unpitched>");
    HAS(xml, "<clef><sign>percussion</sign></clef>");
    HAS(xml, "<unpitched>");
    HAS(xml, "<instrument id=\"P1-I37\"/>");
    LACKS(xml, "<pitch>");
    free(xml);
    tg_score_free(sc);
}

static void test_empty_and_errors(void)
{
    tg_score *sc = new_score();
    char *xml = xml_of(sc, 12);
    if (xml) HAS(measure(xml, 1, 1), "<rest measure=\"yes\"/><duration>48</duration>");
    free(xml);
    tg_musicxml_options o = tg_musicxml_options_default();
    char err[256] = "";
    size_t len;
    o.steps_per_quarter = 0;
    CHECK_STATUS(tg_musicxml_write_memory(sc, &o, &xml, &len, err, sizeof err), TG_ERR_ARG);
    HAS(err, "steps per quarter");
    o.steps_per_quarter = 12;
    sc->ticks_per_quarter = 0; /* as the reader leaves an SMPTE file */
    CHECK_STATUS(tg_musicxml_write_memory(sc, &o, &xml, &len, err, sizeof err), TG_ERR_UNSUPPORTED);
    HAS(err, "SMPTE");
    sc->ticks_per_quarter = TPQ;
    size_t far = add_track(sc, "", 0, 0);
    note(sc, far, 4.0 * TG_MUSICXML_MAX_BARS, 4.0 * TG_MUSICXML_MAX_BARS + 1, 60); /* bar 100001 */
    CHECK_STATUS(tg_musicxml_write_memory(sc, &o, &xml, &len, err, sizeof err), TG_ERR_TOO_LARGE);
    HAS(err, "more than 100000 bars");
    tg_score_free(sc);
    sc = new_score();
    CHECK(tg_musicxml_write_file("/nonexistent-dir/x.musicxml", sc, NULL, err, sizeof err) != TG_OK);
    HAS(err, "/nonexistent-dir/x.musicxml: ");

    char dir[] = "/tmp/tg_musicxml_XXXXXX", path[64];
    if (!mkdtemp(dir)) return;
    snprintf(path, sizeof path, "%s/a.musicxml", dir);
    size_t t = add_track(sc, "", 0, 0);
    note(sc, t, 0, 1, 60);
    CHECK_OK(tg_musicxml_write_file(path, sc, NULL, err, sizeof err));
    uint8_t *data = NULL;
    size_t n = 0;
    CHECK_OK(tg_file_read_all(path, 1 << 20, &data, &n));
    CHECK(n > 100 && memcmp(data, "<?xml", 5) == 0);
    char *mem = NULL;
    CHECK_OK(tg_musicxml_write_memory(sc, NULL, &mem, &len, err, sizeof err));
    CHECK(mem && len == n && memcmp(mem, data, n) == 0);
    free(mem);
    free(data);
    unlink(path);
    CHECK(rmdir(dir) == 0); /* nothing else (no temporary file) was left */
    tg_score_free(sc);
}

int main(void)
{
    test_tie_across_bar();
    test_dotted_and_rests();
    test_chord_and_voices();
    test_meter_change();
    test_keys_and_spelling();
    test_key_estimate();
    test_quantisation();
    test_same_pitch();
    test_staves();
    test_drums_and_text();
    test_empty_and_errors();
    return test_finish("test_musicxml");
}
