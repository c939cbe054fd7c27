/*
 * musicxml.c: a score as MusicXML 3.1 (partwise). notation.c lays the score
 * out (grid, chords, voices, bars, keys); this file writes each part bar by
 * bar: attributes where the meter or key changes, then each voice's notes
 * and rests (tied across bar lines and between the values a duration is cut
 * into), voices after the first of a bar behind a <backup>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "core/core.h"
#include "render/render.h"

/* ------------------------------------------------------------------------ */
/* Text that grows. */

typedef struct {
    char *p;
    size_t n, cap;
    bool failed;  /* out of memory: the rest is not written */
} xml_buf;

static void put(xml_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(xml_buf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int need = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (need < 0) {
            b->failed = true;
            return;
        }
        if (b->p && b->n + (size_t)need < b->cap) {
            b->n += (size_t)need;
            return;
        }
        if (tg_grow((void **)&b->p, &b->cap, b->n + (size_t)need + 1 + 4096, 1) != TG_OK) {
            b->failed = true;
            return;
        }
    }
}

/* Length of the UTF-8 sequence at s when it is a character XML allows
 * (no overlong forms, surrogates, U+FFFE, U+FFFF or code points past
 * U+10FFFF); 0 otherwise. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) || (s[0] == 0xF0 && s[1] < 0x90) ||
        (s[0] == 0xF4 && s[1] >= 0x90) || (s[0] == 0xEF && s[1] == 0xBF && s[2] >= 0xBE))
        return 0;
    return n;
}

/* Text as XML character data: markup characters escaped, control bytes left
 * out, bytes that are not UTF-8 written as '?'. */
static void put_text(xml_buf *b, const char *text)
{
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        size_t n = utf8_len(s);
        if (n == 1 && *s < 0x20 && *s != '\t') {
            s++;
        } else if (n == 1) {
            const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
            if (e) put(b, "%s", e);
            else put(b, "%c", *s);
            s++;
        } else if (n) {
            put(b, "%.*s", (int)n, (const char *)s);
            s += n;
        } else {
            put(b, "?");
            s++;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Header and part list. */

static const char *part_name(const notation_part *p)
{
    if (!p->track) return "Music";
    if (p->track->name[0]) return p->track->name;
    return p->track->is_drum ? "Drums" : render_gm_program_name(p->track->program);
}

static bool part_is_drums(const notation_part *p) { return p->track && p->track->is_drum; }


static void put_instruments(xml_buf *b, const notation_part *p, int id)
{
    if (!part_is_drums(p)) {
        int channel = p->track ? p->track->channel : 0, program = p->track ? p->track->program : 0;
        put(b, "      <score-instrument id=\"P%d-I1\"><instrument-name>", id);
        put_text(b, part_name(p));
        put(b, "</instrument-name></score-instrument>\n");
        put(b, "      <midi-instrument id=\"P%d-I1\"><midi-channel>%d</midi-channel>"
               "<midi-program>%d</midi-program></midi-instrument>\n", id, channel + 1, program + 1);
        return;
    }
    bool used[128] = {false};
    for (size_t i = 0; i < p->n_pitches; i++) used[p->pitches[i]] = true;
    for (int k = 0; k < 128; k++)
        if (used[k]) put(b, "      <score-instrument id=\"P%d-I%d\"><instrument-name>Drum %d</instrument-name>"
                            "</score-instrument>\n", id, k + 1, k);
    for (int k = 0; k < 128; k++)
        if (used[k]) put(b, "      <midi-instrument id=\"P%d-I%d\"><midi-channel>10</midi-channel>"
                            "<midi-unpitched>%d</midi-unpitched></midi-instrument>\n", id, k + 1, k + 1);
}

static void put_header(xml_buf *b, const notation_sheet *s, const char *title)
{
    put(b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
           "<!DOCTYPE score-partwise PUBLIC \"-//Recordare//DTD MusicXML 3.1 Partwise//EN\" "
           "\"http://www.musicxml.org/dtds/partwise.dtd\">\n"
           "<score-partwise version=\"3.1\">\n");
    if (title && title[0]) {
        put(b, "  <work><work-title>");
        put_text(b, title);
        put(b, "</work-title></work>\n");
    }
    put(b, "  <identification><encoding><software>tunegan %s</software></encoding></identification>\n",
        tg_version());
    put(b, "  <part-list>\n");
    for (size_t i = 0; i < s->n_parts; i++) {
        put(b, "    <score-part id=\"P%zu\">\n      <part-name>", i + 1);
        put_text(b, part_name(&s->parts[i]));
        put(b, "</part-name>\n");
        put_instruments(b, &s->parts[i], (int)i + 1);
        put(b, "    </score-part>\n");
    }
    put(b, "  </part-list>\n");
}

/* ------------------------------------------------------------------------ */
/* Note values. */

static const char *const type_names[9] = {"breve", "whole", "half", "quarter", "eighth",
                                          "16th", "32nd", "64th", "128th"};

/* Steps of value v (0 = breve .. 8 = 128th); 0 when it is not a whole number of units. */
static int64_t value_steps(const notation_sheet *s, int v)
{
    int64_t quarters_x32 = (int64_t)256 >> v; /* a breve is 8 quarters: 256 / 32 */
    int64_t num = quarters_x32 * s->steps_per_quarter;
    if (num % 32) return 0;
    int64_t steps = num / 32;
    return steps % s->unit ? 0 : steps;
}

/* The beat of a bar's meter in steps: a dotted quarter (three of the
 * denominator) in compound meters (6/8, 9/8, 12/8, 6/16...), else the
 * denominator's value; one unit when that is not a whole number of units. */
typedef struct {
    int64_t beat;
    bool compound;
} meter_beat;

static meter_beat beat_of(const notation_sheet *s, const notation_bar *bar)
{
    meter_beat m = {s->unit, bar->beats % 3 == 0 && bar->beats > 3 && bar->beat_type >= 8};
    int64_t whole = 4 * (int64_t)s->steps_per_quarter;
    if (whole % bar->beat_type) return m;
    int64_t beat = whole / bar->beat_type * (m.compound ? 3 : 1);
    if (beat >= s->unit && beat % s->unit == 0) m.beat = beat;
    return m;
}

/* Steps of value v, dotted or not (0 when not notatable on the grid). */
static int64_t value_len(const notation_sheet *s, int v, bool dot)
{
    int64_t plain = value_steps(s, v);
    if (!dot) return plain;
    int64_t half = v > 0 && v < 8 ? value_steps(s, v + 1) : 0; /* no dotted breve */
    return plain && half ? plain + half : 0;
}

/* The longest value that fits in len; in compound meters a note longer than
 * a beat lasts whole beats (in 6/8 four eighths are a dotted quarter tied to
 * an eighth, not a half). */
static void note_value(const notation_sheet *s, meter_beat m, int64_t len, int *value, bool *dot)
{
    for (int v = 0; v < 9; v++)
        for (int d = 1; d >= 0; d--) {
            int64_t steps = value_len(s, v, d);
            if (steps && steps <= len && (!m.compound || steps <= m.beat || steps % m.beat == 0)) {
                *value = v, *dot = d;
                return;
            }
        }
    *value = 8, *dot = false; /* not reached: one unit always fits */
}

/* The longest rest that fits at pos: within a beat, plain values starting on
 * a multiple of themselves that stay inside the beat; longer rests are whole
 * beats from a beat, plain ones on a multiple of themselves, dotted ones
 * only in compound meters. */
static void rest_value(const notation_sheet *s, meter_beat m, int64_t pos, int64_t len, int *value, bool *dot)
{
    for (int v = 0; v < 9; v++)
        for (int d = 1; d >= 0; d--) {
            int64_t steps = value_len(s, v, d);
            if (!steps || steps > len) continue;
            bool fits = steps < m.beat  ? !d && pos % steps == 0 && pos % m.beat + steps <= m.beat
                        : steps == m.beat ? pos % steps == 0 && (!d || m.compound)
                                          : steps % m.beat == 0 && pos % m.beat == 0 && (d ? m.compound : pos % steps == 0);
            if (fits) {
                *value = v, *dot = d;
                return;
            }
        }
    *value = 8, *dot = false;
}

/* ------------------------------------------------------------------------ */
/* Notes and rests. */

typedef struct {
    xml_buf *b;
    const notation_sheet *s;
    const notation_part *part;
    int part_id;    /* 1-based: P1, P2... */
    int voice;      /* 1-based */
    int staff;      /* 1-based; 0: the part has one staff */
    int fifths;
    bool minor;
    meter_beat meter;  /* of the bar being written */
} voice_writer;

static void put_voice(const voice_writer *w)
{
    put(w->b, "<voice>%d</voice>", w->voice);
}

static void put_staff(const voice_writer *w)
{
    if (w->staff) put(w->b, "<staff>%d</staff>", w->staff);
}

static void put_rest(const voice_writer *w, int64_t pos_in_bar, int64_t len)
{
    while (len > 0) {
        int v;
        bool dot;
        rest_value(w->s, w->meter, pos_in_bar, len, &v, &dot);
        int64_t steps = value_len(w->s, v, dot);
        put(w->b, "        <note><rest/><duration>%lld</duration>", (long long)steps);
        put_voice(w);
        put(w->b, "<type>%s</type>%s", type_names[v], dot ? "<dot/>" : "");
        put_staff(w);
        put(w->b, "</note>\n");
        pos_in_bar += steps, len -= steps;
    }
}

static void put_bar_rest(const voice_writer *w, int64_t len)
{
    put(w->b, "        <note><rest measure=\"yes\"/><duration>%lld</duration>", (long long)len);
    put_voice(w);
    put_staff(w);
    put(w->b, "</note>\n");
}

/* Where a General MIDI drum sits on a percussion staff (step, octave) and
 * its notehead: kicks in the bottom space, snares in the third, toms between,
 * hi-hats and cymbals above the staff with crosses; anything else on the
 * middle line. */
static void drum_place(int key, char *step, int *octave, bool *cross)
{
    static const struct { uint8_t key; char step; int8_t octave; bool cross; } places[] = {
        {35, 'E', 4, false}, {36, 'F', 4, false}, {37, 'C', 5, true},  {38, 'C', 5, false},
        {39, 'D', 5, true},  {40, 'C', 5, false}, {41, 'A', 4, false}, {42, 'G', 5, true},
        {43, 'G', 4, false}, {44, 'D', 4, true},  {45, 'B', 4, false}, {46, 'G', 5, true},
        {47, 'D', 5, false}, {48, 'E', 5, false}, {49, 'A', 5, true},  {50, 'F', 5, false},
        {51, 'F', 5, true},  {52, 'A', 5, true},  {53, 'F', 5, true},  {55, 'A', 5, true},
        {57, 'A', 5, true},  {59, 'F', 5, true},
    };
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        if (places[i].key == key) {
            *step = places[i].step, *octave = places[i].octave, *cross = places[i].cross;
            return;
        }
    *step = 'B', *octave = 4, *cross = false;
}

static void put_pitch(const voice_writer *w, int pitch)
{
    char step;
    int alter, octave;
    if (part_is_drums(w->part)) {
        bool cross;
        drum_place(pitch, &step, &octave, &cross);
        put(w->b, "<unpitched><display-step>%c</display-step><display-octave>%d</display-octave></unpitched>",
            step, octave);
        return;
    }
    notation_spell(pitch, w->fifths, w->minor, &step, &alter, &octave);
    put(w->b, "<pitch><step>%c</step>", step);
    if (alter) put(w->b, "<alter>%d</alter>", alter);
    put(w->b, "<octave>%d</octave></pitch>", octave);
}

/* A drum's notehead, after its <type> and <dot> (nothing for a plain one). */
static void put_notehead(const voice_writer *w, int pitch)
{
    char step;
    int octave;
    bool cross;
    if (!part_is_drums(w->part)) return;
    drum_place(pitch, &step, &octave, &cross);
    if (cross) put(w->b, "<notehead>x</notehead>");
}

/* One value of a chord: every pitch, the first without <chord/>. */
static void put_chord_value(const voice_writer *w, const notation_chord *c, int64_t steps, int value, bool dot,
                            bool tie_stop, bool tie_start)
{
    for (size_t i = 0; i < c->count; i++) {
        int pitch = w->part->pitches[c->first + i];
        put(w->b, "        <note>%s", i ? "<chord/>" : "");
        put_pitch(w, pitch);
        put(w->b, "<duration>%lld</duration>", (long long)steps);
        if (tie_stop) put(w->b, "<tie type=\"stop\"/>");
        if (tie_start) put(w->b, "<tie type=\"start\"/>");
        if (part_is_drums(w->part)) put(w->b, "<instrument id=\"P%d-I%d\"/>", w->part_id, pitch + 1);
        put_voice(w);
        put(w->b, "<type>%s</type>%s", type_names[value], dot ? "<dot/>" : "");
        put_notehead(w, pitch);
        put_staff(w);
        if (tie_stop || tie_start)
            put(w->b, "<notations>%s%s</notations>", tie_stop ? "<tied type=\"stop\"/>" : "",
                tie_start ? "<tied type=\"start\"/>" : "");
        put(w->b, "</note>\n");
    }
}

/* The part of chord c in [from, to), cut into values joined by ties; tied to
 * what comes before when c starts earlier, to what follows when it ends later. */
static void put_chord(const voice_writer *w, const notation_chord *c, int64_t from, int64_t to)
{
    bool tied_before = c->start < from;
    while (from < to) {
        int value;
        bool dot;
        note_value(w->s, w->meter, to - from, &value, &dot);
        int64_t steps = value_len(w->s, value, dot);
        bool more = from + steps < to || c->end > to;
        put_chord_value(w, c, steps, value, dot, tied_before, more);
        tied_before = true;
        from += steps;
    }
}

/* ------------------------------------------------------------------------ */
/* Bars. */

/* Skips the voice's chords that ended before the bar; whether one sounds in it. */
static bool voice_in_bar(const notation_voice *v, size_t *cursor, const notation_bar *bar)
{
    while (*cursor < v->n && v->chords[*cursor].end <= bar->start) (*cursor)++;
    return *cursor < v->n && v->chords[*cursor].start < bar->start + bar->len;
}

/* The voice's notes in the bar, rests between them and up to the bar's end. */
static void put_voice_bar(const voice_writer *w, const notation_voice *v, size_t cursor, const notation_bar *bar)
{
    int64_t end = bar->start + bar->len, pos = bar->start;
    for (size_t i = cursor; i < v->n && v->chords[i].start < end; i++) {
        const notation_chord *c = &v->chords[i];
        int64_t from = c->start > bar->start ? c->start : bar->start;
        int64_t to = c->end < end ? c->end : end;
        if (from > pos) put_rest(w, pos - bar->start, from - pos);
        put_chord(w, c, from, to);
        pos = to;
    }
    if (pos < end) put_rest(w, pos - bar->start, end - pos);
}

static void put_clef(xml_buf *b, const notation_part *p, int staff)
{
    char number[32] = "";
    if (p->n_staves > 1) snprintf(number, sizeof number, " number=\"%d\"", staff);
    char clef = p->clefs[staff - 1];
    if (clef == 'P') put(b, "<clef%s><sign>percussion</sign></clef>", number);
    else if (clef == 'F') put(b, "<clef%s><sign>F</sign><line>4</line></clef>", number);
    else put(b, "<clef%s><sign>G</sign><line>2</line></clef>", number);
}

/* Divisions, staves and clefs in the first bar; key and meter there and where they change. */
static void put_attributes(xml_buf *b, const notation_sheet *s, const notation_part *p, const notation_bar *bar,
                           const notation_bar *prev)
{
    bool key = !prev || prev->fifths != bar->fifths || prev->minor != bar->minor;
    bool time = !prev || prev->beats != bar->beats || prev->beat_type != bar->beat_type;
    if (!key && !time) return;
    put(b, "      <attributes>");
    if (!prev) put(b, "<divisions>%d</divisions>", s->steps_per_quarter);
    if (key) put(b, "<key><fifths>%d</fifths><mode>%s</mode></key>", bar->fifths, bar->minor ? "minor" : "major");
    if (time) put(b, "<time><beats>%d</beats><beat-type>%d</beat-type></time>", bar->beats, bar->beat_type);
    if (!prev && p->n_staves > 1) put(b, "<staves>%d</staves>", p->n_staves);
    for (int st = 1; !prev && st <= p->n_staves; st++) put_clef(b, p, st);
    put(b, "</attributes>\n");
}

static void put_tempo(xml_buf *b, double bpm)
{
    put(b, "      <direction placement=\"above\"><direction-type><metronome><beat-unit>quarter</beat-unit>"
           "<per-minute>%.0f</per-minute></metronome></direction-type><sound tempo=\"%.3f\"/></direction>\n",
        bpm, bpm);
}

/* One bar of a part, staff by staff: the voices that sound in it (a staff
 * where none does gets a bar rest in its first voice), each voice after the
 * first behind a <backup> to the bar's start. */
static void put_measure(xml_buf *b, const notation_sheet *s, const notation_part *p, int part_id, size_t bar_i,
                        size_t *cursors)
{
    const notation_bar *bar = &s->bars[bar_i];
    put(b, "    <measure number=\"%zu\">\n", bar_i + 1);
    put_attributes(b, s, p, bar, bar_i ? &s->bars[bar_i - 1] : NULL);
    if (bar_i == 0 && part_id == 1) put_tempo(b, s->bpm);
    voice_writer w = {b, s, p, part_id, 1, 0, bar->fifths, bar->minor, beat_of(s, bar)};
    bool written = false;
    for (int st = 1; st <= p->n_staves; st++) {
        w.staff = p->n_staves > 1 ? st : 0;
        int first = -1, sounding = 0;
        for (int v = 0; v < p->n_voices; v++) {
            if (p->voices[v].staff != st) continue;
            if (first < 0) first = v;
            bool sounds = voice_in_bar(&p->voices[v], &cursors[v], bar);
            sounding += sounds;
            if (!sounds) continue;
            if (written) put(b, "        <backup><duration>%lld</duration></backup>\n", (long long)bar->len);
            w.voice = v + 1;
            put_voice_bar(&w, &p->voices[v], cursors[v], bar);
            written = true;
        }
        if (!sounding) { /* a bar rest in the staff's first voice */
            if (written) put(b, "        <backup><duration>%lld</duration></backup>\n", (long long)bar->len);
            w.voice = first < 0 ? 1 : first + 1;
            put_bar_rest(&w, bar->len);
            written = true;
        }
    }
    put(b, "    </measure>\n");
}

static tg_status put_part(xml_buf *b, const notation_sheet *s, size_t i)
{
    const notation_part *p = &s->parts[i];
    size_t *cursors = calloc(p->n_voices ? (size_t)p->n_voices : 1, sizeof *cursors);
    if (!cursors) return TG_ERR_NOMEM;
    put(b, "  <part id=\"P%zu\">\n", i + 1);
    for (size_t bar = 0; bar < s->n_bars; bar++) put_measure(b, s, p, (int)i + 1, bar, cursors);
    put(b, "  </part>\n");
    free(cursors);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */

tg_musicxml_options tg_musicxml_options_default(void)
{
    return (tg_musicxml_options){.steps_per_quarter = 12, .title = NULL};
}

tg_status tg_musicxml_write_memory(const tg_score *score, const tg_musicxml_options *opt, char **out,
                                   size_t *len, char *err, size_t err_len)
{
    if (err && err_len) err[0] = 0;
    if (!score || !out || !len) return TG_ERR_ARG;
    *out = NULL;
    *len = 0;
    tg_musicxml_options o = opt ? *opt : tg_musicxml_options_default();
    notation_sheet s;
    tg_status st = notation_build(score, o.steps_per_quarter, &s, err, err_len);
    if (st != TG_OK) return st;
    xml_buf b = {0};
    put_header(&b, &s, o.title);
    for (size_t i = 0; i < s.n_parts && st == TG_OK; i++) st = put_part(&b, &s, i);
    put(&b, "</score-partwise>\n");
    notation_free(&s);
    if (st == TG_OK && b.failed) st = TG_ERR_NOMEM;
    if (st != TG_OK) {
        free(b.p);
        if (err && err_len) snprintf(err, err_len, "%s", tg_status_str(st));
        return st;
    }
    *out = b.p;
    *len = b.n;
    return TG_OK;
}

tg_status tg_musicxml_write_file(const char *path, const tg_score *score, const tg_musicxml_options *opt,
                                 char *err, size_t err_len)
{
    if (!path) return TG_ERR_ARG;
    char *text;
    size_t len;
    tg_status st = tg_musicxml_write_memory(score, opt, &text, &len, err, err_len);
    if (st != TG_OK) return st;
    errno = 0;
    st = tg_file_write_all(path, text, len);
    if (st != TG_OK && err && err_len)
        snprintf(err, err_len, "%s: %s", path, errno ? strerror(errno) : tg_status_str(st));
    free(text);
    return st;
}
