#!/bin/bash
# test_cli_serve.sh: `tunegan serve` through its HTTP API, with curl and the
# bundled model, on a free port of loopback. Checks: it says where it
# listens and that it is loopback only; the page and its files are served,
# and nothing else (path traversal, encoded or not, and the embedded primer
# are 404); requests from elsewhere (no X-Tunegan header, a foreign Host) are
# refused; bad uploads (not MIDI, damaged, empty, over the limit by
# Content-Length or chunked) get a message naming the file and leave the
# session as it was; a continuation keeps the piece's first bars note for
# note, has the bars asked for, downloads as MIDI, MusicXML (and WAV with a SoundFont)
# and is the same bytes again with the same seed; an accompaniment of the
# melody keeps it note for note and adds a track, writing bars 2-3 again
# keeps every note outside them, bad bars and unknown tracks are refused
# naming them; bad parameters are refused naming the field; requests past the queue are told the studio is busy and
# the queued ones all finish; Ctrl-C stops it with status 0 and removes its
# temporary folder; a port in use and a bad --host are clear errors.
# Environment (set by ctest): TG_BIN, TG_TEST_DATA, TG_SOURCE_DIR.
set -u
BIN=${TG_BIN:?TG_BIN not set}
DATA=${TG_TEST_DATA:?TG_TEST_DATA not set}
SRC=${TG_SOURCE_DIR:?TG_SOURCE_DIR not set}
MODEL=$SRC/models/default/model.safetensors
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/tg_cli_serve.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
for tool in curl "$PY"; do
    command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
"$BIN" --version | grep -q microhttpd || { echo "skipped: tunegan was built without libmicrohttpd"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: no bundled model at $MODEL"; exit 77; }

# start_server NAME ARGS...: runs the server with its own TMPDIR, sets $pid and $url.
start_server() {
    local name=$1; shift
    mkdir -p "$tmp/$name.tmp"
    TMPDIR=$tmp/$name.tmp "$BIN" serve --port 0 --threads 1 --model "$MODEL" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    url=
    for _ in $(seq 1 100); do
        url=$(sed -n 's/.*studio is at \(http:[^ ]*\)$/\1/p' "$tmp/$name.out")
        [ -n "$url" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "$name: the server did not say where it listens"; cat "$tmp/$name.err" >&2
    return 1
}
# req METHOD PATH [CURL ARGS...]: body to $tmp/body, status to $code.
req() {
    local m=$1 p=$2; shift 2
    code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$url${p#/}")
}
post() { local p=$1; shift; req POST "$p" -H 'X-Tunegan: 1' "$@"; }
want() { if [ "$code" = "$1" ]; then ok; else fail "$2: HTTP $code, want $1: $(head -c 300 "$tmp/body")"; fi; }
body_has() { if grep -qF -- "$1" "$tmp/body"; then ok; else fail "$2: body lacks '$1': $(head -c 300 "$tmp/body")"; fi; }
jget() { "$PY" -c "import json,sys; d=json.load(open('$tmp/body')); print(eval(sys.argv[1]))" "$1"; }
# wait_job ID: polls until done or failed (60 s at most); the job's JSON in $tmp/body.
wait_job() {
    for _ in $(seq 1 600); do
        req GET "/api/jobs/$1"
        case "$(jget 'd["state"]')" in done|failed) return 0 ;; esac
        sleep 0.1
    done
    fail "job $1 did not finish in 60 s"
}

# A 4-bar piece the project writes itself (the bundled primer's tokens).
"$BIN" detokenize -o "$tmp/twinkle.mid" "$SRC/assets/primers/twinkle.txt" >/dev/null

start_server main --max-queue 2 || { finish cli_serve; exit 1; }
grep -qF "listening on 127.0.0.1 only" "$tmp/main.err" && ok || fail "it does not say it listens on loopback only"
case "$url" in http://127.0.0.1:*) ok ;; *) fail "url $url is not on 127.0.0.1" ;; esac

# --- the page and its files, and nothing else
req GET /; want 200 "the page"; body_has "tunegan" "the page"
req GET /static/studio.js; want 200 "studio.js"
req GET /static/roll.js; want 200 "roll.js"
req GET /static/nothing.js; want 404 "a missing file"
req GET "/static/..%2f..%2f..%2fetc%2fpasswd"; want 404 "an encoded path traversal"
req GET /static/../../../etc/passwd --path-as-is; want 404 "a path traversal"
req GET /static/primer-twinkle.txt; want 404 "the embedded primer is not a page file"
req GET /api/nothing; want 404 "an unknown API path"
req DELETE /api/takes; want 405 "an unknown method"
req GET /api/studio; want 200 "the studio"
[ "$(jget 'd["model"]["parameters"]')" = 3634944 ] && ok || fail "the studio does not name the bundled model's size"
# the bundled model's sampling defaults (models/default/sampling.tsv), for the page's sliders
[ "$(jget 'd["model"]["sampling"]')" = "{'temperature': 0.95}" ] && ok \
    || fail "the studio does not give the model's sampling defaults: $(jget 'd["model"].get("sampling")')"
audio=$(jget 'd["audio"]')

# --- requests from elsewhere
req POST /api/primer; want 403 "a POST without X-Tunegan"
req GET /api/studio -H "Host: rebinding.example:80"; want 403 "a foreign Host"

# --- bad uploads: a message naming the file, nothing else changes
post "/api/upload?name=README.md" --data-binary "@$SRC/README.md"; want 400 "a text file"
body_has "README.md is not a MIDI file" "a text file's message"
post "/api/upload?name=mthd_short.mid" --data-binary "@$DATA/mthd_short.mid"; want 400 "a damaged file"
body_has "MThd" "a damaged file's message"
post "/api/upload?name=empty.mid" --data-binary "@$DATA/empty.mid"; want 400 "an empty file"
body_has "empty.mid is empty" "an empty file's message"
post "/api/upload?name=only.mid" --data-binary "@$DATA/only_mthd.mid"; want 400 "a file without notes"
body_has "has no notes" "a file without notes' message"
head -c $((5 << 20)) /dev/zero >"$tmp/big.mid"
post "/api/upload?name=big.mid" --data-binary "@$tmp/big.mid"; want 413 "5 MB by Content-Length"
body_has "larger than the studio takes (4 MB)" "the size limit's message"
post "/api/upload?name=big.mid" -H "Transfer-Encoding: chunked" --data-binary "@$tmp/big.mid"; want 413 "5 MB chunked"
# 1 GB announced: refused before a byte of it is read (the body sent is small)
post "/api/upload?name=huge.mid" -H "Content-Length: 1073741824" --data-binary "@$DATA/format0.mid" --max-time 10
want 413 "1 GB by Content-Length"
req GET /api/takes; want 200 "the takes"
[ "$(jget 'len(d)')" = 0 ] && ok || fail "bad uploads changed the session: $(cat "$tmp/body")"

# --- a piece, then a continuation of it
post "/api/upload?name=twinkle.mid" --data-binary "@$tmp/twinkle.mid"; want 201 "a MIDI upload"
piece=$(jget 'd["id"]')
[ "$(jget 'len(d["bars"]) - 1')" = 4 ] && ok || fail "the piece does not have its 4 bars"
post /api/primer; want 201 "the bundled primer"
body_has "Twinkle" "the bundled primer's label"

gen() { post /api/generate -H 'Content-Type: application/json' -d "$1"; }
gen '{"mode":"continue","source":'"$piece"',"keep_bars":2,"bars":4,"num":2,"seed":5,"temperature":0.9,"top_p":0.95}'
want 202 "a continuation request"
job=$(jget 'd["job"]')
wait_job "$job"
[ "$(jget 'd["state"]')" = done ] && ok || fail "the continuation failed: $(cat "$tmp/body")"
takes=$(jget '" ".join(str(t) for t in d["takes"])')
[ "$(echo $takes | wc -w)" = 2 ] && ok || fail "the continuation has $takes, not 2 takes"
for t in $takes; do
    req GET "/api/takes/$t"; want 200 "take $t"
    cp "$tmp/body" "$tmp/take$t.json"
    # the bars asked for: notes start within 2 + 4 bars and past the 2 kept
    "$PY" - "$tmp/take$t.json" <<'EOF' && ok || fail "take $t does not have 2 + 4 bars"
import json, sys
d = json.load(open(sys.argv[1]))
bars = d["bars"]
starts = [n[0] for tr in d["tracks"] for n in tr["notes"]]
sys.exit(0 if len(bars) >= 7 and max(starts) < bars[6] and max(starts) >= bars[2] and d["primer_end_ticks"] == bars[2] else 1)
EOF
    req GET "/api/takes/$t/file?format=mid"; want 200 "take $t as MIDI"
    cp "$tmp/body" "$tmp/take$t.mid"
    [ "$(head -c 4 "$tmp/take$t.mid")" = MThd ] && ok || fail "take $t's download is not MIDI"
    # the kept bars, note for note (ticks, pitch) as in the piece
    cut=$("$PY" -c "import json; print(json.load(open('$tmp/take$t.json'))['bars'][2])")
    "$BIN" notes "$tmp/twinkle.mid" | awk -v c="$cut" '$4 < c { print $3, $4 }' | sort >"$tmp/kept.want"
    "$BIN" notes "$tmp/take$t.mid" | awk -v c="$cut" '$4 < c { print $3, $4 }' | sort >"$tmp/kept.got"
    if [ -s "$tmp/kept.want" ] && cmp -s "$tmp/kept.want" "$tmp/kept.got"; then ok
    else fail "take $t does not start with the piece's 2 bars"; diff "$tmp/kept.want" "$tmp/kept.got" | head >&2; fi
done
first=${takes%% *}
if [ "$audio" = True ]; then
    req GET "/api/takes/$first/file?format=wav"; want 200 "a WAV download"
    [ "$(head -c 4 "$tmp/body")" = RIFF ] && ok || fail "the WAV download is not RIFF"
else
    echo "note: no SoundFont: the WAV download is not checked"
fi
req GET "/api/takes/$first/file?format=musicxml"; want 200 "a MusicXML download"
"$PY" -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); sys.exit(d.documentElement.tagName != 'score-partwise' or not d.getElementsByTagName('note'))" "$tmp/body" \
    && ok || fail "the MusicXML download is not a score with notes: $(head -c 200 "$tmp/body")"
req GET "/api/takes/$first/file?format=../../etc/passwd"; want 400 "a bad format"
req GET "/api/takes/999/file?format=mid"; want 404 "a take that is not there"
req GET "/api/takes/1x"; want 404 "a malformed take number"

# the same seed gives the same bytes
gen '{"mode":"continue","source":'"$piece"',"keep_bars":2,"bars":4,"num":1,"seed":5,"temperature":0.9,"top_p":0.95}'
wait_job "$(jget 'd["job"]')"
again=$(jget 'd["takes"][0]')
req GET "/api/takes/$again/file?format=mid"
cmp -s "$tmp/body" "$tmp/take$first.mid" && ok || fail "the same seed gave other music"

# --- bad parameters are refused, naming the field
# a new tune without a temperature takes the model's (0.95): the same notes as asking for 0.95
newtune() { # SEED [TEMPERATURE]: the MIDI of an 8-bar tune in $tmp/new-SEED-TEMPERATURE.mid
    local t=${2:-}
    gen '{"mode":"new","bars":8,"num":1,"seed":'"$1${t:+,\"temperature\":$t}"'}'; wait_job "$(jget 'd["job"]')"
    req GET "/api/takes/$(jget 'd["takes"][0]')/file?format=mid"; cp "$tmp/body" "$tmp/new-$1-$t.mid"
}
newtune 11; newtune 11 0.95; newtune 11 1
cmp -s "$tmp/new-11-.mid" "$tmp/new-11-0.95.mid" && ok || fail "a new tune without a temperature is not one at 0.95"
cmp -s "$tmp/new-11-.mid" "$tmp/new-11-1.mid" && fail "a new tune without a temperature is one at 1" || ok
gen '{"mode":"new","num":100}'; want 400 "num 100"; body_has "num must be between 1 and 8" "num's message"
gen '{"mode":"new","temperature":"hot"}'; want 400 "a string temperature"; body_has "temperature must be a number" "temperature's message"
gen '{"mode":"new","top_p":0}'; want 400 "top_p 0"
gen '{"mode":"new","bars":2.5}'; want 400 "bars 2.5"; body_has "whole number" "bars' message"
gen '{"mode":"new","tempreature":1}'; want 400 "a misspelt field"; body_has "unknown field 'tempreature'" "the typo's message"
gen '{"mode":"continue"}'; want 400 "continue without a source"
gen '{"mode":"continue","source":999}'; want 404 "continue a take that is not there"
gen '{"mode":"continue","source":'"$piece"',"keep_bars":5}'; want 400 "keep more bars than the piece has"
body_has "has 4 bars" "keep_bars' message"
gen '{"mode":'; want 400 "broken JSON"
gen '{"mode":"remix"}'; want 400 "an unknown mode"

# --- accompany a melody, then write bars 2-3 of the result again (the bundled any-track model)
if [ -f "$SRC/models/accompany-nottingham/model.safetensors" ]; then
    req GET "/api/takes/$piece"
    [ "$(jget 'd["accompany"]["tracks"]')" = "['melody', 'chords']" ] && ok || fail "a melody's take does not offer the model's tracks: $(jget 'd.get("accompany")')"
    case "$(jget 'd["accompany"]["model"]')" in */accompany-nottingham/model.safetensors) ok ;;
        *) fail "a melody is not given accompany-nottingham: $(jget 'd["accompany"]')" ;; esac
    gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7,"temperature":0.9}'; want 202 "an accompany request"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"]')" = done ] && ok || fail "the accompaniment failed: $(cat "$tmp/body")"
    acc=$(jget 'd["takes"][0]')
    [ "$(jget '"bars_before" in d')" = False ] && ok || fail "an accompaniment's job names bars around a gap"
    req GET "/api/takes/$acc"
    [ "$(jget 'len(d["tracks"]), d["given_tracks"], d["model"], d["kind"]')" = "(2, [0], 'accompany-nottingham', 'accompany')" ] && ok \
        || fail "the accompaniment is not the melody given plus a track: $(jget 'len(d["tracks"]), d.get("given_tracks"), d.get("model")')"
    req GET "/api/takes/$acc/file?format=mid"; cp "$tmp/body" "$tmp/acc.mid"
    # the melody note for note (pitch, start, end, velocity), and notes in a new track
    mel=$("$BIN" notes "$tmp/twinkle.mid" | awk '!/^#/ { print $1; exit }')
    "$BIN" notes "$tmp/twinkle.mid" | awk '!/^#/ { print $3, $4, $5, $6 }' | sort >"$tmp/mel.want"
    "$BIN" notes "$tmp/acc.mid" | awk -v m="$mel" '!/^#/ && $1 == m { print $3, $4, $5, $6 }' | sort >"$tmp/mel.got"
    if [ -s "$tmp/mel.want" ] && cmp -s "$tmp/mel.want" "$tmp/mel.got"; then ok
    else fail "the accompaniment changed the melody"; diff "$tmp/mel.want" "$tmp/mel.got" | head >&2; fi
    [ "$("$BIN" notes "$tmp/acc.mid" | awk -v m="$mel" '!/^#/ && $1 != m' | wc -l)" -gt 0 ] && ok || fail "the accompaniment has no new notes"

    # rerank: the best of 3 whole takes is one of the 3 takes num 3 draws with the same seed
    gen '{"mode":"accompany","source":'"$piece"',"num":3,"seed":7,"temperature":0.9,"rerank":1}'; want 202 "three accompaniments"
    wait_job "$(jget 'd["job"]')"
    three=$(jget '" ".join(str(t) for t in d["takes"])')
    gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7,"temperature":0.9,"rerank":3,"rerank_by":"take"}'; want 202 "a reranked accompaniment"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"]')" = done ] && ok || fail "the reranked accompaniment failed: $(cat "$tmp/body")"
    best=$(jget 'd["takes"][0]')
    req GET "/api/takes/$best/file?format=mid"; cp "$tmp/body" "$tmp/best.mid"
    found=0
    for t in $three; do
        req GET "/api/takes/$t/file?format=mid"
        cmp -s "$tmp/body" "$tmp/best.mid" && found=1
    done
    [ "$found" = 1 ] && ok || fail "the best of 3 is none of the 3 takes of the same seed"
    gen '{"mode":"new","rerank":2}'; want 400 "rerank for a new tune"
    body_has "rerank is for accompany and infill" "rerank's message"
    gen '{"mode":"accompany","source":'"$piece"',"rerank":9}'; want 400 "rerank 9"
    body_has "rerank must be between 1 and 8" "rerank 9's message"
    gen '{"mode":"accompany","source":'"$piece"',"rerank_by":"bars"}'; want 400 "rerank_by bars"
    body_has 'rerank_by must be \"bar\" or \"take\"' "rerank_by's message"
    gen '{"mode":"infill","source":'"$piece"',"bars_from":1,"bars_to":2,"rerank_by":"bar"}'; want 400 "rerank_by for infill"
    body_has "rerank_by is for accompany" "rerank_by for infill's message"
    # without rerank, the model's candidates and ranking (its sampling.tsv; else one take)
    want_rr=$(awk -F'\t' '$1 == "accompany_rerank" { print $2 + 0 }' "$SRC/models/accompany-nottingham/sampling.tsv" 2>/dev/null)
    want_by=$(awk -F'\t' '$1 == "accompany_rerank_bars" { print ($2 == 1) ? "bar" : "take" }' "$SRC/models/accompany-nottingham/sampling.tsv" 2>/dev/null)
    gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7}'; want 202 "an accompaniment at the model's defaults"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"], d["rerank"], d.get("rerank_by", "")')" = "('done', ${want_rr:-1}, '$([ "${want_rr:-1}" -gt 1 ] && echo "${want_by:-take}")')" ] && ok \
        || fail "without rerank the model's sampling.tsv (${want_rr:-none}, ${want_by:-none}) was not applied: $(cat "$tmp/body")"
    # quality: accompany --quality (8 candidates ranked bar by bar, the model's sampling), what is given winning
    gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7,"quality":true}'; want 202 "a quality accompaniment"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"], d["rerank"], d["rerank_by"], d["quality"]')" = "('done', 8, 'bar', True)" ] && ok \
        || fail "the quality setting was not applied: $(cat "$tmp/body")"
    gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7,"quality":true,"rerank":2,"rerank_by":"take","temperature":0.8}'; want 202 "quality with rerank 2"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"], d["temperature"], d["rerank"], d["rerank_by"]')" = "('done', 0.8, 2, 'take')" ] && ok \
        || fail "an explicit rerank, rerank_by and temperature do not win over quality: $(cat "$tmp/body")"
    gen '{"mode":"infill","source":'"$piece"',"bars_from":1,"bars_to":2,"quality":true}'; want 400 "quality for infill"
    body_has "quality is for accompany" "quality's message"
    gen '{"mode":"accompany","source":'"$piece"',"quality":"yes"}'; want 400 "quality yes"
    body_has "quality must be true or false" "quality's type message"

    # pitch_temperature: applied and reported; without it, the any-track model's sampling.tsv (else 0)
    for pt in 0 2; do
        gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7,"temperature":0.9,"pitch_temperature":'$pt'}'; want 202 "pitch temperature $pt"
        wait_job "$(jget 'd["job"]')"
        [ "$(jget 'd["state"], d["pitch_temperature"]')" = "('done', $pt)" ] && ok \
            || fail "pitch temperature $pt was not applied: $(cat "$tmp/body")"
        req GET "/api/takes/$(jget 'd["takes"][0]')/file?format=mid"; cp "$tmp/body" "$tmp/pt$pt.mid"
    done
    cmp -s "$tmp/pt0.mid" "$tmp/pt2.mid" && fail "pitch temperatures 0 and 2 wrote the same take" || ok
    want_pt=$(awk -F'\t' '$1 == "pitch_temperature" { print $2 + 0 }' "$SRC/models/accompany-nottingham/sampling.tsv" 2>/dev/null)
    gen '{"mode":"accompany","source":'"$piece"',"num":1,"seed":7,"temperature":0.9}'; want 202 "no pitch temperature"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'float(d["pitch_temperature"])')" = "$(/usr/bin/python3 -c "print(float('${want_pt:-0}'))")" ] && ok \
        || fail "without pitch_temperature the model's sampling.tsv (${want_pt:-none}) was not applied: $(cat "$tmp/body")"
    gen '{"mode":"accompany","source":'"$piece"',"pitch_temperature":3}'; want 400 "pitch_temperature 3"
    body_has "pitch_temperature must be between 0 and 2" "pitch_temperature's message"

    gen '{"mode":"infill","source":'"$acc"',"bars_from":2,"bars_to":3,"num":1,"seed":8}'; want 202 "an infill request"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"]')" = done ] && ok || fail "writing bars 2-3 again failed: $(cat "$tmp/body")"
    # melody and chords, no tracks named: the whole-tune model (models/default) writes the bars left
    # to right from bar 1 (all there is before them), hearing none after
    [ "$(jget 'd.get("bars_before"), d.get("bars_after"), d.get("left_to_right")')" = "(1, 0, True)" ] && ok \
        || fail "the infill job does not say which bars around the gap the model heard: $(cat "$tmp/body")"
    # the studio's own model (models/default) wrote them: no second copy of it was opened
    if grep -q "opened the whole-tune model" "$tmp/main.out" "$tmp/main.err"; then
        fail "the studio opened a second copy of its own model to infill"; else ok; fi
    inf=$(jget 'd["takes"][0]')
    req GET "/api/takes/$inf"; cp "$tmp/body" "$tmp/inf.json"
    b1=$(jget 'd["bars"][1]'); b3=$(jget 'd["bars"][3]')
    [ "$(jget 'd["written_from_ticks"], d["written_to_ticks"], d["kind"], d["model"]')" = "($b1, $b3, 'infill', 'default')" ] && ok \
        || fail "the infill take does not say which bars were written: $(jget 'd.get("written_from_ticks"), d.get("written_to_ticks")')"
    req GET "/api/takes/$inf/file?format=mid"; cp "$tmp/body" "$tmp/inf.mid"
    # every note outside bars 2-3 as it was (track, pitch, start, end, velocity)
    outside() { "$BIN" notes "$1" | awk -v a="$b1" -v b="$b3" '!/^#/ && ($4 < a || $4 >= b) { print $1, $3, $4, $5, $6 }' | sort; }
    outside "$tmp/acc.mid" >"$tmp/out.want"; outside "$tmp/inf.mid" >"$tmp/out.got"
    if [ -s "$tmp/out.want" ] && cmp -s "$tmp/out.want" "$tmp/out.got"; then ok
    else fail "writing bars 2-3 again changed notes outside them"; diff "$tmp/out.want" "$tmp/out.got" | head >&2; fi

    # a track named: the any-track model, hearing the bars around the gap
    gen '{"mode":"infill","source":'"$acc"',"bars_from":2,"bars_to":3,"tracks":"chords","num":1,"seed":8}'; want 202 "an infill of the chords"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"]')" = done ] && ok || fail "writing the chords of bars 2-3 again failed: $(cat "$tmp/body")"
    [ "$(jget 'd.get("bars_before"), 0 <= d.get("bars_after", -1) <= 4, d.get("left_to_right")')" = "(1, True, False)" ] && ok \
        || fail "the chords' infill job does not say which bars around the gap the model saw: $(cat "$tmp/body")"
    req GET "/api/takes/$(jget 'd["takes"][0]')"
    [ "$(jget 'd["model"]')" = accompany-nottingham ] && ok || fail "the chords of bars 2-3 were not written by accompany-nottingham: $(jget 'd.get("model")')"

    # bad bars and unknown tracks are refused, naming them
    gen '{"mode":"infill","source":'"$acc"',"bars_from":3,"bars_to":9}'; want 400 "bars past the end"
    body_has "bars 3-9: take $acc has 4 bars" "bars past the end's message"
    gen '{"mode":"infill","source":'"$acc"',"bars_from":3,"bars_to":2}'; want 400 "bars backwards"
    body_has "bars 3-2" "bars backwards' message"
    gen '{"mode":"infill","source":'"$acc"',"bars_from":0,"bars_to":2}'; want 400 "bar 0"
    body_has "bars_from must be between 1" "bar 0's message"
    gen '{"mode":"infill","source":'"$acc"'}'; want 400 "infill without bars"
    body_has "bars_from and bars_to" "infill without bars' message"
    gen '{"mode":"accompany","source":'"$piece"',"tracks":"chords,bass"}'; want 400 "an unknown track"
    body_has "no track 'bass' in accompany-nottingham (its tracks: melody,chords)" "an unknown track's message"
    gen '{"mode":"accompany","source":'"$piece"',"tracks":7}'; want 400 "tracks as a number"
    gen '{"mode":"accompany"}'; want 400 "accompany without a source"
else
    echo "note: no models/accompany-nottingham: accompany and infill are not checked"
fi

# --- several requests at once: the queue holds 2, the rest are told it is busy
# (each long enough, about a second, that the first is still running when the
# fifth arrives)
codes=""
for i in 1 2 3 4 5; do
    gen '{"mode":"new","bars":32,"num":2,"seed":'"$i"'}'
    codes="$codes $code"
    [ "$code" = 202 ] && jobs="${jobs:-} $(jget 'd["job"]')"
done
case "$codes" in *503*) ok ;; *) fail "five requests at once were all taken (queue of 2): $codes" ;; esac
case "$codes" in *202*202*) ok ;; *) fail "not even two of five requests were taken: $codes" ;; esac
for j in $jobs; do
    wait_job "$j"
    [ "$(jget 'd["state"]')" = done ] && ok || fail "queued job $j: $(cat "$tmp/body")"
done

# --- Ctrl-C stops it cleanly and removes its temporary folder
kill -INT "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "Ctrl-C did not stop the server in 10 s"; else
    wait "$pid"; st=$?
    [ "$st" = 0 ] && ok || fail "Ctrl-C: exit status $st, want 0"
fi
pid=
grep -qF "stopped" "$tmp/main.err" && ok || fail "the server did not say it stopped"
[ -z "$(ls -A "$tmp/main.tmp")" ] && ok || fail "the temporary folder is left: $(ls -R "$tmp/main.tmp")"

# --- a port in use, a bad host
start_server first || true
port=${url##*:}; port=${port%/}
run 1 "a port in use" "$BIN" serve --port "$port" --model "$MODEL"
has_err "cannot listen" "a port in use"
kill -INT "$pid"; wait "$pid"; pid=
run 1 "a bad host" "$BIN" serve --host nowhere --model "$MODEL"
has_err "not an IP address" "a bad host"
run 1 "a missing model" "$BIN" serve --model "$tmp/none.safetensors"
has_err "none.safetensors" "a missing model"
run 1 "a missing any-track model" "$BIN" serve --model "$MODEL" --accompany-model "$tmp/none.safetensors"
has_err "tracks.tsv" "a missing any-track model"
run 1 "a bad precision" "$BIN" serve --model "$MODEL" --precision fp16
has_err "--precision must be auto, fp32 or bf16" "a bad precision"
grep -qF "precision auto: " "$tmp/main.err" && ok || fail "the server does not say which precision it runs"
# --accompany-model: the chorale model for a melody, its four voices offered
if [ -f "$SRC/models/accompany-chorales/model.safetensors" ]; then
    start_server chorales --accompany-model "$SRC/models/accompany-chorales" || true
    post "/api/upload?name=twinkle.mid" --data-binary "@$tmp/twinkle.mid"; want 201 "an upload to the chorale studio"
    [ "$(jget 'd["accompany"]["tracks"]')" = "['soprano', 'alto', 'tenor', 'bass']" ] && ok \
        || fail "--accompany-model is not the one offered: $(jget 'd.get("accompany")')"
    # closest fit on four voices: whole takes (voice leading is on; bars of different takes could meet in parallels)
    sop=$(jget 'd["id"]')
    gen '{"mode":"accompany","source":'"$sop"',"tracks":"alto,tenor,bass","num":1,"seed":7,"quality":true}'; want 202 "closest fit on a chorale"
    wait_job "$(jget 'd["job"]')"
    [ "$(jget 'd["state"]')" = done ] && ok || fail "closest fit on a chorale failed: $(cat "$tmp/body")"
    kill -INT "$pid"; wait "$pid"; pid=
fi
finish cli_serve
