// studio.js: the page of `tunegan serve`. It talks to the studio's JSON API
// (src/serve/routes.c lists it): bring a piece in, ask for variations, poll
// each request while it runs, show every take with its roll, audio and
// downloads. Requests that change the studio carry "X-Tunegan: 1".
"use strict";

const $ = (id) => document.getElementById(id);
// What a download button says for each format the studio offers (GET /api/studio's "formats").
const FORMAT_LABELS = { mid: "MIDI", wav: "WAV", musicxml: "MusicXML" };
const state = { studio: null, piece: null, takes: new Map(), rerankSet: false, barsSet: false };

// ---------------------------------------------------------------------------
// Talking to the server

async function api(path, options) {
  options = options || {};
  if (options.method === "POST") options.headers = Object.assign({ "X-Tunegan": "1" }, options.headers || {});
  let resp;
  try {
    resp = await fetch(path, options);
  } catch (e) {
    throw new Error("the studio cannot be reached (is `tunegan serve` still running?)");
  }
  let body = null;
  try { body = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok) throw new Error((body && body.error) || "the studio answered " + resp.status);
  return body;
}

function showMessage(text) {
  const m = $("message");
  m.textContent = text;
  m.hidden = false;
}

function clearMessage() { $("message").hidden = true; }

// ---------------------------------------------------------------------------
// The model and its card

function describeModel(s) {
  const m = s.model;
  const kind = (m.tokenizer || "").split(":")[0] || "?";
  const params = (m.parameters / 1e6).toFixed(1) + " M parameters";
  const file = m.path.split("/").slice(-2).join("/");
  $("model-summary").textContent = "model: " + file + " · " + params + " · " + m.layers + " layers, " +
    m.attention + " attention, " + kind + " tokens, context " + m.context + (s.audio ? "" : " · no audio");
  $("model-card").textContent = m.card || "This model has no card (README.md beside its checkpoint).";
  // the sliders start at the model's sampling defaults (its sampling.tsv), where it has them
  const d = m.sampling || {};
  for (const [id, v] of [["temperature", d.temperature], ["top-p", d.top_p]]) {
    if (typeof v !== "number") continue;
    $(id).value = v;
    $(id + "-out").textContent = v.toFixed(2);
  }
}

// ---------------------------------------------------------------------------
// Bringing music in

function setPiece(take) {
  state.piece = take;
  $("piece").hidden = false;
  $("piece-label").textContent = "#" + take.id + " " + take.label + " · " + (take.bars.length - 1) + " bars";
  $("mode-continue").disabled = false;
  $("mode-continue").checked = true;
  const keep = $("keep-bars");
  keep.value = Math.max(1, Math.min(Number(keep.value) || 4, take.bars.length - 1));
  setAnyTrack(take);
  updateMode();
  drawPiece();
}

// Accompany and regenerate bars: the any-track model the server would use
// for this piece (GET /api/takes/N's "accompany") and a box per track of it.
function setAnyTrack(take) {
  const a = take.accompany || { error: "the studio did not say" };
  const usable = !a.error;
  for (const id of ["mode-accompany", "mode-infill"]) {
    $(id).disabled = !usable;
    $(id).parentElement.title = usable ? "" : a.error;
  }
  const chooser = $("track-chooser");
  for (const el of chooser.querySelectorAll("label")) el.remove();
  if (!usable) {
    $("any-model").textContent = "no accompaniment for this piece: " + a.error;
    return;
  }
  $("any-model").textContent = "model: " + a.model.split("/").slice(-2).join("/") + " · its tracks: " + a.tracks.join(", ");
  for (const name of a.tracks) {
    const l = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.addEventListener("change", drawPiece);
    l.append(box, " " + name);
    chooser.appendChild(l);
  }
  const n = take.bars.length - 1;
  $("bars-from").max = $("bars-to").max = n;
  $("bars-from").value = Math.min(Number($("bars-from").value) || 2, n);
  $("bars-to").value = Math.max(Number($("bars-from").value), Math.min(Number($("bars-to").value) || 3, n));
}

function chosenTracks() {
  return [...$("track-chooser").querySelectorAll("input:checked")].map((b) => b.value);
}

function drawPiece() {
  const t = state.piece;
  if (!t) return;
  const mode = modeValue();
  const keep = Number($("keep-bars").value);
  const opts = { shadeTicks: mode === "continue" && keep >= 1 && keep < t.bars.length ? t.bars[keep] : 0 };
  const chosen = chosenTracks().map((n) => n.toLowerCase());
  const kept = (names) => t.tracks.map((tr, k) => k).filter((k) => !names.includes(t.tracks[k].name.toLowerCase()));
  if (mode === "accompany") opts.givenTracks = kept(chosen);
  if (mode === "infill") {
    const a = Number($("bars-from").value), b = Number($("bars-to").value);
    if (a >= 1 && b >= a && b < t.bars.length) opts.writtenTicks = [t.bars[a - 1], t.bars[b]];
    opts.givenTracks = chosen.length ? kept(chosen) : [];
  }
  drawRoll($("piece-roll"), t, opts);
}

async function uploadFile(file) {
  clearMessage();
  const limit = state.studio ? state.studio.limits.max_upload_bytes : 4 << 20;
  if (file.size > limit) {
    showMessage(file.name + " is " + (file.size / 1048576).toFixed(1) + " MB: the studio takes MIDI files up to " +
      (limit / 1048576).toFixed(0) + " MB. Nothing was changed.");
    return;
  }
  try {
    const data = await file.arrayBuffer();
    const take = await api("/api/upload?name=" + encodeURIComponent(file.name), {
      method: "POST", body: data, headers: { "Content-Type": "audio/midi" } });
    addHistory(take);
    setPiece(take);
  } catch (e) {
    showMessage(e.message + ". Nothing was changed.");
  }
}

async function usePrimer() {
  clearMessage();
  try {
    const take = await api("/api/primer", { method: "POST" });
    addHistory(take);
    setPiece(take);
  } catch (e) {
    showMessage(e.message);
  }
}

function useNothing() {
  state.piece = null;
  $("piece").hidden = true;
  for (const id of ["mode-continue", "mode-accompany", "mode-infill"]) $(id).disabled = true;
  document.querySelector('input[name=mode][value=new]').checked = true;
  updateMode();
}

// ---------------------------------------------------------------------------
// Asking for music

function modeValue() { return document.querySelector("input[name=mode]:checked").value; }

// "best of" follows the command line's defaults until the user sets it:
// 8 for regenerating bars (tunegan infill); for accompanying, empty: the
// model's own (its sampling.tsv, as `tunegan accompany` reads it).
function defaultBestOf(mode) { return mode === "infill" ? "8" : ""; }

// "bars to add", until the user sets it: a whole tune of 32 bars for a new
// tune (as the command line's main job writes), 8 for a continuation.
function defaultBars(mode) { return mode === "new" ? 32 : 8; }

function updateMode() {
  const mode = modeValue(), any = mode === "accompany" || mode === "infill";
  if (!state.rerankSet) $("rerank").value = defaultBestOf(mode);
  if (!state.barsSet && !any) $("bars").value = defaultBars(mode);
  $("keep-wrap").classList.toggle("off", mode !== "continue");
  $("keep-bars").disabled = mode !== "continue";
  $("bars-wrap").classList.toggle("off", any);
  $("bars").disabled = any;
  $("any-track").hidden = !any;
  $("infill-bars").hidden = mode !== "infill";
  $("quality-wrap").hidden = mode !== "accompany";
  updateQuality();
  $("track-legend").textContent = mode === "infill" ? "tracks to write (none ticked: every track)"
    : "tracks to write (none ticked: the tracks the piece lacks)";
  drawPiece();
}

// "closest fit" sets the temperature and best of itself (accompany --quality)
function updateQuality() {
  const q = modeValue() === "accompany" && $("quality").checked;
  $("rerank").disabled = q;
  $("temperature").disabled = q;
}

function request() {
  const r = {
    mode: modeValue(),
    bars: Number($("bars").value),
    num: Number($("num").value),
    temperature: Number($("temperature").value),
    top_p: Number($("top-p").value),
  };
  if ($("seed").value !== "") r.seed = Number($("seed").value);
  if (r.mode === "continue") { r.source = state.piece.id; r.keep_bars = Number($("keep-bars").value); }
  if (r.mode === "accompany" || r.mode === "infill") {
    delete r.bars;
    r.source = state.piece.id;
    const tracks = chosenTracks();
    if (tracks.length) r.tracks = tracks.join(",");
    // empty: the model's own (accompany: its sampling.tsv; the server says what it applied)
    if ($("rerank").value !== "") r.rerank = Number($("rerank").value);
  }
  if (r.mode === "accompany" && $("quality").checked) {
    // the server's quality setting: the best of 8 bar by bar at the model's sampling (accompany --quality)
    r.quality = true;
    delete r.temperature;
    delete r.rerank;
  }
  if (r.mode === "infill") { r.bars_from = Number($("bars-from").value); r.bars_to = Number($("bars-to").value); }
  return r;
}

async function generate() {
  clearMessage();
  const r = request();
  let job;
  try {
    job = (await api("/api/generate", { method: "POST", body: JSON.stringify(r),
      headers: { "Content-Type": "application/json" } })).job;
  } catch (e) {
    showMessage(e.message);
    return;
  }
  const group = newGroup(job, r);
  pollJob(job, group, performance.now());
}

// One request's place on the page: a progress line and its variations.
function newGroup(job, r) {
  const g = document.createElement("div");
  g.className = "group";
  g.dataset.job = job;
  const head = document.createElement("div");
  head.className = "group-head";
  const model = state.piece && state.piece.accompany && state.piece.accompany.model
    ? " with " + state.piece.accompany.model.split("/").slice(-2, -1)[0] : "";
  const tracks = r.tracks ? r.tracks.replace(/,/g, ", ") : null;
  const what = r.mode === "continue" ? "continue #" + r.source + ": keep " + r.keep_bars + " bars, add " + r.bars
    : r.mode === "accompany" ? "accompany #" + r.source + ": " + (tracks || "the tracks it lacks") + model
    : r.mode === "infill" ? "bars " + r.bars_from + "-" + r.bars_to + " of #" + r.source + " again: " + (tracks || "every track") + model
    : "new tune: " + r.bars + " bars";
  head.textContent = "Request " + job + " · " + what + " · " + r.num + " variation" + (r.num > 1 ? "s" : "") +
    (r.quality ? " · closest fit, top-p " + r.top_p
      : " · temperature " + r.temperature + ", top-p " + r.top_p + (r.rerank ? ", best of " + r.rerank : ""));
  const progress = document.createElement("progress");
  progress.max = r.num;
  progress.value = 0;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = "sent";
  const cards = document.createElement("div");
  cards.className = "cards";
  g.append(head, progress, status, cards);
  $("takes").prepend(g);
  $("takes-empty").hidden = true;
  return { el: g, r, progress, status, cards, seen: new Set() };
}

// Infilling: how much of the piece around the gap the model could hear
// (its context holds the bars it writes first, then as many around them as fit).
function heard(j, r) {
  if (j.bars_before === undefined) return "";
  const range = "bars " + r.bars_from + "-" + r.bars_to;
  if (j.left_to_right)
    return " · the whole-tune model heard the " + j.bars_before + " bar" + (j.bars_before === 1 ? "" : "s") +
      " before " + range + " and wrote them left to right" +
      (r.rerank > 1 ? "; the bars after them chose among " + r.rerank + " candidates" : "");
  if (j.bars_before + j.bars_after === 0)
    return " · " + range + " fill the model's context alone: written without hearing the piece around them; fill fewer bars at a time";
  return " · the model heard " + j.bars_before + " bar" + (j.bars_before === 1 ? "" : "s") + " before " + range +
    " and " + j.bars_after + " after";
}

async function pollJob(job, group, t0) {
  let j;
  try {
    j = await api("/api/jobs/" + job + "?wait=1"); // answers as soon as the job moves on
  } catch (e) {
    group.status.textContent = e.message;
    return;
  }
  group.progress.value = j.done;
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (j.state === "queued") group.status.textContent = "waiting: " + j.position + " request" + (j.position === 1 ? "" : "s") + " ahead · " + secs + " s";
  else if (j.state === "running") group.status.textContent = "generating " + Math.min(j.done + 1, j.num) + " of " + j.num + " · " + secs + " s";
  else if (j.state === "done") group.status.textContent = "done in " + j.seconds.toFixed(2) + " s · seed " + j.seed + heard(j, group.r) +
    (j.rerank > 1 && j.rerank_by ? " · best of " + j.rerank + (j.rerank_by === "bar" ? " bar by bar" : "") : "") +
    (j.pitch_temperature > 0 ? " · pitch temperature " + j.pitch_temperature : "");
  else group.status.textContent = "failed: " + j.error;
  for (const id of j.takes) {
    if (group.seen.has(id)) continue;
    group.seen.add(id);
    try {
      const take = await api("/api/takes/" + id);
      addHistory(take);
      group.cards.appendChild(takeCard(take));
    } catch (e) {
      group.status.textContent = e.message;
    }
  }
  if (j.state === "failed") showMessage("Request " + job + " failed: " + j.error);
  if (j.state === "queued" || j.state === "running") pollJob(job, group, t0);
  else group.el.classList.add("finished");
}

// ---------------------------------------------------------------------------
// Hearing and taking away

function takeCard(take) {
  const card = document.createElement("article");
  card.className = "take";
  card.dataset.take = take.id;
  const title = document.createElement("h3");
  title.textContent = "#" + take.id + " · " + (take.variation + 1) + " of the request";
  const label = document.createElement("p");
  label.className = "label";
  label.textContent = take.label + " · " + take.seconds.toFixed(1) + " s, " + take.notes_count + " notes";
  const canvas = document.createElement("canvas");
  canvas.className = "roll";
  canvas.height = 150;
  const tools = document.createElement("div");
  tools.className = "row";
  const play = document.createElement("button");
  play.type = "button";
  play.className = "play";
  play.textContent = "▶ Play";
  tools.appendChild(play);
  const audio = new Audio();
  audio.preload = "none";
  if (state.studio && state.studio.audio) {
    // rendered as soon as the take lands, so that Play sounds at once
    audio.preload = "auto";
    audio.src = "/api/takes/" + take.id + "/file?format=wav";
    play.addEventListener("click", () => togglePlay(take, audio, play, canvas));
  } else {
    play.disabled = true;
    play.title = "no audio on this studio (no SoundFont on the server)";
  }
  for (const f of state.studio ? state.studio.formats : ["mid"]) {
    const a = document.createElement("a");
    a.href = "/api/takes/" + take.id + "/file?format=" + f;
    a.download = "tunegan-take-" + take.id + "." + f;
    a.className = "download";
    a.textContent = "⤓ " + (FORMAT_LABELS[f] || f);
    tools.appendChild(a);
  }
  const cont = document.createElement("button");
  cont.type = "button";
  cont.textContent = "Use as the piece";
  cont.addEventListener("click", () => { setPiece(take); window.scrollTo({ top: 0, behavior: "smooth" }); });
  tools.appendChild(cont);
  card.append(title, label, canvas, rollLegend(take), tools);
  requestAnimationFrame(() => drawRoll(canvas, take));
  state.takes.set(take.id, { take, canvas });
  return card;
}

let playing = null;

function togglePlay(take, audio, button, canvas) {
  if (playing && playing.audio === audio && !audio.paused) { audio.pause(); return; }
  if (playing && playing.audio !== audio) playing.audio.pause();
  button.textContent = "… loading";
  playing = { audio, take };
  audio.onplaying = () => { button.textContent = "❚❚ Pause"; button.classList.add("on"); tick(); };
  audio.onpause = audio.onended = () => {
    button.textContent = "▶ Play"; button.classList.remove("on"); drawRoll(canvas, take);
  };
  audio.onerror = () => { button.textContent = "▶ Play"; showMessage("The audio of take #" + take.id + " could not be played."); };
  audio.play().catch(() => {});
  function tick() {
    if (audio.paused || audio.ended) return;
    const ticks = (audio.currentTime / Math.max(take.seconds, 1e-6)) * take.end_ticks;
    drawRoll(canvas, take, { playTicks: Math.min(ticks, take.end_ticks) });
    requestAnimationFrame(tick);
  }
}

// ---------------------------------------------------------------------------
// History

function addHistory(take) {
  if (document.querySelector('#history li[data-take="' + take.id + '"]')) return;
  const li = document.createElement("li");
  li.dataset.take = take.id;
  li.value = take.id;
  const b = document.createElement("button");
  b.type = "button";
  b.className = "link";
  b.textContent = take.label;
  b.title = "use as the piece";
  b.addEventListener("click", async () => {
    try { setPiece(take.tracks ? take : await api("/api/takes/" + take.id)); } catch (e) { showMessage(e.message); }
  });
  const dl = document.createElement("a");
  dl.href = "/api/takes/" + take.id + "/file?format=mid";
  dl.download = "tunegan-take-" + take.id + ".mid";
  dl.textContent = "MIDI";
  li.append(b, " ", dl);
  $("history").prepend(li);
}

async function loadHistory() {
  const list = await api("/api/takes");
  for (const t of list) addHistory(t);
}

// ---------------------------------------------------------------------------
// Wiring

function wire() {
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) uploadFile(e.target.files[0]); e.target.value = ""; });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) uploadFile(e.dataTransfer.files[0]);
  });
  $("use-primer").addEventListener("click", usePrimer);
  $("use-nothing").addEventListener("click", useNothing);
  for (const r of document.querySelectorAll("input[name=mode]")) r.addEventListener("change", updateMode);
  $("rerank").addEventListener("input", () => { state.rerankSet = true; });
  $("quality").addEventListener("change", updateQuality);
  $("bars").addEventListener("input", () => { state.barsSet = true; });
  for (const id of ["keep-bars", "bars-from", "bars-to"]) $(id).addEventListener("input", drawPiece);
  for (const id of ["temperature", "top-p"])
    $(id).addEventListener("input", () => { $(id + "-out").textContent = Number($(id).value).toFixed(2); });
  $("generate").addEventListener("click", generate);
  window.addEventListener("resize", () => {
    drawPiece();
    for (const { take, canvas } of state.takes.values()) drawRoll(canvas, take);
  });
}

async function start() {
  wire();
  updateMode();
  try {
    state.studio = await api("/api/studio");
    describeModel(state.studio);
    $("num").max = state.studio.limits.max_num;
    $("bars").max = $("keep-bars").max = state.studio.limits.max_bars;
    await loadHistory();
  } catch (e) {
    showMessage(e.message);
  }
}

start();
