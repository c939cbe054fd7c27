// studio.test.mjs: drives `tunegan serve`'s page in Debian's headless
// Chromium as a musician would: load a MIDI file, continue it, see the rolls
// appear, play one, download its MIDI and check it, upload a broken file and
// see the message, accompany the melody (a roll with 2 tracks), write bars
// 2-3 of that again. Screenshots go to $TG_OUT (the studio's README picture is
// the first one). Run by tests/test_serve_browser.sh, which skips (77) when
// chromium or node_modules are missing.
//   TG_BIN=build/tunegan TG_OUT=/tmp/out TG_PRIMER_MID=primer.mid node studio.test.mjs
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const bin = process.env.TG_BIN;
const out = process.env.TG_OUT || fs.mkdtempSync(path.join(os.tmpdir(), "tg-browser-"));
const primerMid = process.env.TG_PRIMER_MID;
const chromium = process.env.TG_CHROMIUM || "/usr/bin/chromium";
let failures = 0;

function check(ok, what, detail) {
  console.log((ok ? "ok   " : "FAIL ") + what + (detail !== undefined ? ": " + detail : ""));
  if (!ok) failures++;
}

// Starts the server on a free port in a temporary folder of its own.
function startServer(tmp) {
  const srv = spawn(bin, ["serve", "--port", "0", "--threads", "1"], {
    env: Object.assign({}, process.env, { TMPDIR: tmp }), stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  srv.stderr.on("data", (d) => { err += d; });
  return new Promise((resolve, reject) => {
    let text = "";
    srv.stdout.on("data", (d) => {
      text += d;
      const m = text.match(/at (http:\/\/\S+)/);
      if (m) resolve({ srv, url: m[1], stderr: () => err });
    });
    srv.on("exit", (code) => reject(new Error("tunegan serve exited with " + code + ": " + err)));
  });
}

// The share of a canvas's pixels that are notes: opaque and coloured (the
// background, shading, bar lines and labels are greys).
async function inkOf(page, selector) {
  return page.$$eval(selector, (canvases) => canvases.map((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4)
      if (d[i + 3] > 200 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) ink++;
    return ink / (c.width * c.height);
  }));
}

async function waitFile(dir, suffix, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const f = fs.readdirSync(dir).find((n) => n.endsWith(suffix));
    if (f) return path.join(dir, f);
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tg-serve-tmp-"));
  const { srv, url, stderr } = await startServer(tmp);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tg-chromium-"));
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), "tg-downloads-"));
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
      "--autoplay-policy=no-user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    const offsite = [];
    page.on("request", (r) => { if (!r.url().startsWith(url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) offsite.push(r.url()); });
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
    await page.goto(url, { waitUntil: "networkidle0" });
    await page.waitForFunction(() => !document.getElementById("model-summary").textContent.includes("loading"));
    check((await page.$eval("#model-summary", (e) => e.textContent)).includes("M parameters"), "the model is named");
    // the sliders start at the model's sampling defaults (models/default/sampling.tsv: temperature 0.95)
    const temp = await page.$eval("#temperature", (e) => [e.value, document.getElementById("temperature-out").textContent]);
    check(temp[0] === "0.95" && temp[1] === "0.95", "the temperature slider starts at the model's 0.95", temp.join(" "));

    // "bars to add" follows the mode until set by hand: a whole tune (32) for a new one, 8 for a continuation.
    check(await page.$eval("#bars", (e) => e.value) === "32", "a new tune of 32 bars by default");

    // Load a file: the roll of the piece appears.
    const input = await page.$("#file");
    await input.uploadFile(primerMid);
    await page.waitForSelector("#piece:not([hidden])", { timeout: 10000 });
    const pieceLabel = await page.$eval("#piece-label", (e) => e.textContent);
    check(pieceLabel.includes("4 bars"), "the uploaded piece has its 4 bars", pieceLabel);
    const [pieceInk] = await inkOf(page, "#piece-roll");
    check(pieceInk > 0.002, "the piece's roll is drawn", pieceInk.toFixed(4));

    check(await page.$eval("#bars", (e) => e.value) === "8", "a continuation adds 8 bars by default");

    // Continue it: keep 2 bars, add 4, three variations.
    await page.$eval("#keep-bars", (e) => { e.value = "2"; e.dispatchEvent(new Event("input")); });
    await page.$eval("#bars", (e) => { e.value = "4"; });
    await page.$eval("#num", (e) => { e.value = "3"; });
    await page.$eval("#seed", (e) => { e.value = "7"; });
    const t0 = Date.now();
    await page.click("#generate");
    await page.waitForFunction(() => document.querySelectorAll(".group .take").length === 3 &&
      document.querySelector(".group").classList.contains("finished"), { timeout: 120000 });
    console.log("     three variations in " + ((Date.now() - t0) / 1000).toFixed(1) + " s");
    const status = await page.$eval(".group .status", (e) => e.textContent);
    check(status.startsWith("done"), "the request says it is done", status);
    const inks = await inkOf(page, ".take canvas.roll");
    check(inks.length === 3 && inks.every((v) => v > 0.002), "three rolls, none blank", inks.map((v) => v.toFixed(4)).join(" "));
    const rolls = await page.$$(".take canvas.roll");
    for (let i = 0; i < rolls.length; i++) await rolls[i].screenshot({ path: path.join(out, `roll-${i + 1}.png`) });
    for (let i = 0; i < rolls.length; i++)
      check(fs.statSync(path.join(out, `roll-${i + 1}.png`)).size > 2000, `screenshot roll-${i + 1}.png has content`);

    const audio = await page.evaluate(() => state.studio.audio);
    if (!audio) console.log("     (no SoundFont on this machine: the audio checks are left out)");
    const formats = await page.$$eval(".take:first-child a.download", (l) => l.map((a) => a.textContent));
    const want = audio ? "⤓ MIDI ⤓ WAV ⤓ MusicXML" : "⤓ MIDI ⤓ MusicXML";
    check(formats.join(" ") === want, "each take's downloads", formats.join(" "));

    // Play the first variation: its audio starts and the playhead moves.
    const played = audio && await page.click(".take button.play").then(() =>
      page.waitForFunction(() => document.querySelector(".take button.play").textContent.includes("Pause"),
        { timeout: 20000 })).then(() => true, () => false);
    if (audio) check(played, "the first variation plays");
    if (played) {
      await new Promise((r) => setTimeout(r, 600));
      await page.click(".take button.play");
    }


    // Download its MIDI and check it with tunegan itself.
    const takeId = await page.$eval(".take", (e) => e.dataset.take);
    await page.click(`.take[data-take="${takeId}"] a.download[href$="format=mid"]`);
    const mid = await waitFile(downloads, ".mid", 10000);
    check(mid !== null, "the MIDI file is downloaded", mid || "nothing after 10 s");
    if (mid) {
      check(fs.readFileSync(mid).subarray(0, 4).toString() === "MThd", "it is a Standard MIDI File");
      const notes = execFileSync(bin, ["notes", mid], { encoding: "utf8" }).trim().split("\n").length;
      check(notes > 4, "tunegan reads its notes back", notes + " notes");
    }

    // A broken upload: a clear message, and nothing else changes.
    const broken = path.join(downloads, "not-a-tune.mid");
    fs.writeFileSync(broken, "this is not MIDI\n");
    await input.uploadFile(broken);
    await page.waitForSelector("#message:not([hidden])", { timeout: 10000 });
    const msg = await page.$eval("#message", (e) => e.textContent);
    check(msg.includes("not-a-tune.mid") && msg.includes("not a MIDI file"), "the broken file gets a message", msg);
    check((await page.$eval("#piece-label", (e) => e.textContent)) === pieceLabel, "the piece is unchanged");
    check((await page.$$(".take")).length === 3, "the takes are unchanged");
    await page.screenshot({ path: path.join(out, "studio-error.png") });

    // A 1 GB file (a Blob of 1024 views of one megabyte): refused on the page.
    await page.evaluate(() => {
      const mb = new Uint8Array(1 << 20);
      uploadFile(new File(Array(1024).fill(mb), "huge.mid"));
    });
    await page.waitForFunction(() => document.getElementById("message").textContent.includes("huge.mid"));
    const huge = await page.$eval("#message", (e) => e.textContent);
    check(huge.includes("1024.0 MB") && huge.includes("Nothing was changed"), "a 1 GB file gets a message", huge);
    check((await page.$eval("#piece-label", (e) => e.textContent)) === pieceLabel, "the piece is still unchanged");

    // Accompany the melody: the any-track model is named, and a variation's roll has 2 tracks.
    await page.click("#mode-accompany");
    const anyModel = await page.$eval("#any-model", (e) => e.textContent);
    check(anyModel.includes("accompany-nottingham") && anyModel.includes("melody, chords"), "accompany names its model and tracks", anyModel);
    check((await page.$$("#track-chooser input[type=checkbox]")).length === 2, "a box per track of the model");
    check(!(await page.$eval("#quality-wrap", (e) => e.hidden)), "closest fit offered for accompanying");
    await page.click("#quality");
    check(await page.$eval("#rerank", (e) => e.disabled) && await page.$eval("#temperature", (e) => e.disabled),
      "closest fit sets best of and the temperature itself");
    await page.click("#quality");
    check(!(await page.$eval("#temperature", (e) => e.disabled)), "unticked, the temperature is the user's again");
    await page.$eval("#num", (e) => { e.value = "1"; });
    await page.click("#generate");
    await page.waitForFunction(() => document.querySelectorAll(".group").length === 2 &&
      document.querySelector(".group").classList.contains("finished"), { timeout: 120000 });
    const accHead = await page.$eval(".group .group-head", (e) => e.textContent);
    check(accHead.includes("accompany #") && accHead.includes("accompany-nottingham"), "the request names the model", accHead);
    const accStatus = await page.$eval(".group:first-child .status", (e) => e.textContent);
    check(accStatus.includes("best of 4 bar by bar"), "best of left empty: the model's own candidates, named in the status", accStatus);
    const accLegend = await page.$$eval(".group:first-child .take .legend span", (l) => l.map((s) => s.textContent));
    check(accLegend.length === 2 && accLegend[0].includes("given"), "the accompaniment's roll has 2 tracks, the melody given", accLegend.join(" | "));
    const [accInk] = await inkOf(page, ".group:first-child .take canvas.roll");
    check(accInk > 0.002, "the accompaniment's roll is drawn", accInk.toFixed(4));
    await page.screenshot({ path: path.join(out, "studio.png") });
    await (await page.$(".group:first-child .take canvas.roll")).screenshot({ path: path.join(out, "roll-accompany.png") });

    // Closest fit: the same melody accompanied at the quality setting; the request and its status say so.
    await page.click("#quality");
    await page.click("#generate");
    await page.waitForFunction(() => document.querySelectorAll(".group").length === 3 &&
      document.querySelector(".group").classList.contains("finished"), { timeout: 120000 });
    const qHead = await page.$eval(".group .group-head", (e) => e.textContent);
    check(qHead.includes("closest fit") && !qHead.includes("best of"), "the closest-fit request says so", qHead);
    const qStatus = await page.$eval(".group:first-child .status", (e) => e.textContent);
    check(qStatus.includes("best of 8 bar by bar"), "its status gives the setting the server applied", qStatus);
    await page.click("#quality");

    // Regenerate bars 2-3 of the accompaniment: its roll keeps 2 tracks and says which bars were written.
    await page.click(".group:first-child .take .row button:last-child"); // use as the piece
    check(await page.$eval("#rerank", (e) => e.value) === "", "best of: the model's own for accompanying (accompany's default)");
    await page.click("#mode-infill");
    check(await page.$eval("#rerank", (e) => e.value) === "8", "best of 8 for regenerating bars (infill's default)");
    check(await page.$eval("#quality-wrap", (e) => e.hidden), "no closest fit for regenerating bars");
    await page.click("#generate");
    await page.waitForFunction(() => document.querySelectorAll(".group").length === 4 &&
      document.querySelector(".group").classList.contains("finished"), { timeout: 120000 });
    const infLabel = await page.$eval(".group:first-child .take .label", (e) => e.textContent);
    check(infLabel.startsWith("bars 2-3 of #"), "regenerate bars lands with its bars named", infLabel);
    const infStatus = await page.$eval(".group:first-child .status", (e) => e.textContent);
    // (melody and chords: the whole-tune model, models/default, writes them from the bars before)
    check(/the whole-tune model heard the 1 bar before bars 2-3 and wrote them left to right; the bars after them chose among 8 candidates/.test(infStatus),
      "its request says how much of the piece around the bars the model heard", infStatus);
    const infLegend = await page.$$eval(".group:first-child .take .legend span", (l) => l.length);
    check(infLegend === 2, "its roll has the 2 tracks", infLegend);
    await (await page.$(".group:first-child .take canvas.roll")).screenshot({ path: path.join(out, "roll-infill.png") });

    // The bundled primer, then a new tune from nothing: a second request with one take.
    await page.click("#use-primer");
    await page.waitForFunction(() => document.getElementById("piece-label").textContent.includes("Twinkle"));
    check(true, "the bundled primer becomes the piece");
    await page.click("#use-nothing");
    check(await page.$eval("#piece", (e) => e.hidden), "starting from nothing hides the piece");
    await page.$eval("#bars", (e) => { e.value = "2"; });
    await page.$eval("#num", (e) => { e.value = "1"; });
    await page.click("#generate");
    await page.waitForFunction(() => document.querySelectorAll(".group").length === 5 &&
      document.querySelector(".group").classList.contains("finished"), { timeout: 120000 });
    const newTune = await page.$eval(".group .take .label", (e) => e.textContent);
    check(newTune.startsWith("new tune: 2 bars"), "a new tune lands in its own request", newTune);
    const history = await page.$$eval("#history li", (l) => l.length);
    check(history === 9, "the history holds every take (1 upload, 3 variations, 2 accompaniments, 1 with bars 2-3 again, the primer, 1 new tune)", history);
    check(offsite.length === 0, "nothing loads from elsewhere", offsite.join(" "));
  } finally {
    await browser.close();
    srv.kill("SIGINT");
    const code = await new Promise((r) => srv.on("exit", (c) => r(c)));
    check(code === 0, "Ctrl-C stops the server cleanly", "exit " + code + (code ? ": " + stderr() : ""));
    check(fs.readdirSync(tmp).length === 0, "its temporary folder is gone", fs.readdirSync(tmp).join(" "));
    for (const d of [tmp, profile, downloads]) fs.rmSync(d, { recursive: true, force: true });
  }
  console.log(failures ? failures + " failed" : "all passed; screenshots in " + out);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error("FAIL " + e.stack); process.exit(1); });
