// roll.js: a piano roll on a <canvas>, drawn from a take's JSON (GET
// /api/takes/N): notes as bars coloured by track, bar lines, the given part
// shaded, an optional playhead. No library; the server sends the notes.
"use strict";

const ROLL_COLOURS = ["#2b7bb9", "#d9822b", "#3a9a5b", "#b83b5e", "#7d5ba6", "#8c6d1f", "#1f8a8a", "#c0504d"];

function rollPitchRange(take) {
  let lo = 127, hi = 0;
  for (const tr of take.tracks)
    for (const n of tr.notes) { lo = Math.min(lo, n[2]); hi = Math.max(hi, n[2]); }
  if (lo > hi) { lo = 60; hi = 72; }
  return [Math.max(0, lo - 2), Math.min(127, hi + 2)];
}

// Draws take on canvas. opts.shadeTicks: shade [0, shadeTicks) (default: the
// take's given part); opts.writtenTicks: [from, to), shade all but it (default:
// the bars a take wrote again); opts.givenTracks: indices of tracks given,
// their notes haloed in grey (default: the take's given_tracks);
// opts.playTicks: a playhead there (undefined: none).
function drawRoll(canvas, take, opts) {
  opts = opts || {};
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600, cssH = canvas.clientHeight || 160;
  if (canvas.width !== Math.round(cssW * dpr)) canvas.width = Math.round(cssW * dpr);
  if (canvas.height !== Math.round(cssH * dpr)) canvas.height = Math.round(cssH * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = "#fbfaf7";
  g.fillRect(0, 0, cssW, cssH);
  const end = Math.max(take.end_ticks, take.bars.length ? take.bars[take.bars.length - 1] : 0, 1);
  const x = (t) => (t / end) * cssW;
  const [lo, hi] = rollPitchRange(take);
  const rowH = cssH / (hi - lo + 1);
  const y = (p) => cssH - (p - lo + 1) * rowH;
  const shade = opts.shadeTicks !== undefined ? opts.shadeTicks : take.primer_end_ticks;
  const written = opts.writtenTicks !== undefined ? opts.writtenTicks
    : take.written_to_ticks > 0 ? [take.written_from_ticks, take.written_to_ticks] : null;
  const given = opts.givenTracks !== undefined ? opts.givenTracks : take.given_tracks || [];
  const shadeSpan = (a, b) => {
    if (b <= a) return;
    g.fillStyle = "rgba(120, 120, 120, 0.16)";
    g.fillRect(x(a), 0, x(b) - x(a), cssH);
    g.fillStyle = "#777";
    g.font = "11px sans-serif";
    if (x(b) - x(a) > 34) g.fillText("given", x(a) + 4, 12);
  };
  if (shade > 0) shadeSpan(0, shade);
  if (written) { shadeSpan(0, written[0]); shadeSpan(written[1], end); }
  // octave lines at each C
  g.strokeStyle = "rgba(0,0,0,0.06)";
  g.lineWidth = 1;
  for (let p = lo; p <= hi; p++) if (p % 12 === 0) { g.beginPath(); g.moveTo(0, y(p) + rowH); g.lineTo(cssW, y(p) + rowH); g.stroke(); }
  g.strokeStyle = "rgba(0,0,0,0.28)";
  g.fillStyle = "#999";
  g.font = "10px sans-serif";
  take.bars.forEach((b, i) => {
    g.beginPath(); g.moveTo(x(b) + 0.5, 0); g.lineTo(x(b) + 0.5, cssH); g.stroke();
    if (i < take.bars.length - 1 && x(take.bars[i + 1]) - x(b) > 14) g.fillText(String(i + 1), x(b) + 2, cssH - 3);
  });
  // the given tracks' notes on a grey halo
  g.fillStyle = "rgba(90, 90, 90, 0.28)";
  for (const k of given)
    for (const n of (take.tracks[k] || { notes: [] }).notes)
      g.fillRect(x(n[0]) - 2, y(n[2]) - 2, Math.max(1.5, x(n[1]) - x(n[0]) - 0.5) + 4, Math.max(1.5, rowH - 0.5) + 4);
  take.tracks.forEach((tr, k) => {
    g.fillStyle = ROLL_COLOURS[k % ROLL_COLOURS.length];
    for (const n of tr.notes) {
      const w = Math.max(1.5, x(n[1]) - x(n[0]) - 0.5);
      g.globalAlpha = 0.55 + 0.45 * (n[3] / 127);
      g.fillRect(x(n[0]), y(n[2]), w, Math.max(1.5, rowH - 0.5));
    }
  });
  g.globalAlpha = 1;
  if (opts.playTicks !== undefined) {
    g.strokeStyle = "#d0021b";
    g.lineWidth = 2;
    g.beginPath(); g.moveTo(x(opts.playTicks), 0); g.lineTo(x(opts.playTicks), cssH); g.stroke();
  }
}

// A legend of the take's tracks in their colours.
function rollLegend(take) {
  const el = document.createElement("div");
  el.className = "legend";
  take.tracks.forEach((tr, k) => {
    const s = document.createElement("span");
    s.style.setProperty("--c", ROLL_COLOURS[k % ROLL_COLOURS.length]);
    s.textContent = (tr.name || "track " + (k + 1)) + (tr.drum ? " (drums)" : "") + " · " + tr.notes.length + " notes" +
      ((take.given_tracks || []).includes(k) ? " · given" : "");
    el.appendChild(s);
  });
  return el;
}
