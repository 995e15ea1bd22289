/**
 * The dashboard: one self-contained HTML page (inline CSS + JS, no build step, no external
 * assets) served as-is at `GET /`. It polls `GET /api/state` every second and redraws in place
 * (no reload), answering an operator's questions at a glance:
 *
 * - am I at the tip: tip distance, blocks/s, and both over time on a real time axis;
 * - is anything stuck / who is behind: the backfill's epoch map (pending, in flight with its
 *   progress, synced, committed, failed, retried) with its rate and ETA, and every consumer group
 *   of the epoch streams and of `events` / `final` with its lag and what it holds back;
 * - what failed and why: rollbacks (depth histogram, the last ones), reconnects with their causes,
 *   Redis, failed epochs and runs;
 * - what runs next: the refresh schedule;
 * - a run's detail (click a run): its parameters, epoch timeline, error and log
 *   (`GET /api/run?id=…`).
 *
 * Charts are SVG drawn at the element's pixel size (a viewBox equal to its box), so text keeps its
 * shape at any width.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hecate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --bg: #f6f7fb; --card: #fff; --line: rgba(127,127,127,.22); --accent: #5b4bdb; --ok: #1f9d55; --warn: #c77d00; --bad: #d0342c; --pending: #d9dce5; --synced: #8fd3a8; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e8ef; --muted: #9aa2b5; --bg: #12141a; --card: #1b1e27; --pending: #343846; --synced: #2f6b45; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: center; gap: 12px; padding: 12px 20px; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  .pill { padding: 2px 10px; border-radius: 999px; color: #fff; font-weight: 600; background: var(--muted); }
  .pill.ok { background: var(--ok); } .pill.catching-up { background: var(--warn); } .pill.unavailable { background: var(--bad); }
  #reasons { color: var(--muted); }
  main { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; padding: 0 20px 20px; }
  @media (max-width: 900px) { main { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
  .card { background: var(--card); border-radius: 10px; padding: 12px 14px; box-shadow: 0 1px 3px rgba(0,0,0,.08); min-width: 0; }
  .card h2 { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 6px; }
  .big { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
  .sub { color: var(--muted); font-variant-numeric: tabular-nums; }
  .wide { grid-column: 1 / -1; } .half { grid-column: span 2; }
  svg.chart { width: 100%; height: 150px; display: block; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  td.wrap { white-space: normal; word-break: break-word; }
  th { color: var(--muted); font-weight: 500; }
  .bad { color: var(--bad); } .warn { color: var(--warn); } .good { color: var(--ok); }
  .state-Completed { color: var(--ok); } .state-Failed, .state-Crashed { color: var(--bad); } .state-Running { color: var(--accent); } .state-Cancelled { color: var(--warn); }
  #epoch-map { display: flex; flex-wrap: wrap; gap: 3px; margin: 8px 0; }
  .ep { position: relative; width: 38px; height: 22px; border-radius: 4px; background: var(--pending); font-size: 10px; line-height: 22px; text-align: center; overflow: hidden; color: var(--fg); }
  .ep.small { width: 12px; height: 12px; font-size: 0; }
  .ep span { position: relative; }
  .ep .bar { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); opacity: .45; }
  .ep.active { outline: 2px solid var(--accent); outline-offset: -2px; }
  .ep.synced { background: var(--synced); } .ep.committed { background: var(--ok); color: #fff; } .ep.failed { background: var(--bad); color: #fff; }
  .ep.retried::after { content: ""; position: absolute; right: 2px; top: 2px; width: 6px; height: 6px; border-radius: 50%; background: var(--warn); }
  .legend { display: flex; gap: 14px; flex-wrap: wrap; color: var(--muted); }
  .legend i { display: inline-block; width: 11px; height: 11px; border-radius: 3px; vertical-align: -1px; margin-right: 4px; background: var(--pending); }
  .legend i.active { background: var(--card); outline: 2px solid var(--accent); outline-offset: -2px; } .legend i.synced { background: var(--synced); } .legend i.committed { background: var(--ok); } .legend i.failed { background: var(--bad); }
  .legend i.retried { background: var(--warn); border-radius: 50%; width: 7px; height: 7px; }
  #runs tr { cursor: pointer; } #runs tr:hover, #runs tr.selected { background: rgba(91,75,219,.1); }
  #runs td.err div { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
  #run-detail pre { margin: 0; max-height: 420px; overflow: auto; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap; word-break: break-word; }
  .log-WARN { color: var(--warn); } .log-ERROR, .log-FATAL { color: var(--bad); }
  .kv td:first-child { color: var(--muted); width: 1%; }
  .tl { position: relative; height: 14px; background: var(--line); border-radius: 3px; min-width: 120px; }
  .tl b { position: absolute; top: 0; bottom: 0; border-radius: 3px; background: var(--ok); }
  .tl b.failed { background: var(--bad); } .tl b.active { background: var(--accent); }
  .hist { display: flex; align-items: flex-end; gap: 4px; height: 70px; margin: 6px 0 2px; }
  .hist div { flex: 1; background: var(--accent); border-radius: 3px 3px 0 0; min-height: 2px; }
  .hist-labels { display: flex; gap: 4px; color: var(--muted); font-size: 11px; }
  .hist-labels span { flex: 1; text-align: center; }
</style>
</head>
<body>
<header><h1>Hecate</h1><span class="pill" id="status">…</span><span id="reasons"></span><span class="sub" id="updated"></span></header>
<main>
  <section class="card" id="card-tip"><h2>Tip distance</h2><div class="big" id="tip-blocks">–</div><div class="sub" id="tip-slots">–</div></section>
  <section class="card" id="card-rate"><h2>Throughput</h2><div class="big" id="bps">–</div><div class="sub" id="blocks">–</div></section>
  <section class="card" id="card-relay"><h2>Relay</h2><div class="big" id="height">–</div><div class="sub" id="relay-sub">–</div></section>
  <section class="card" id="card-redis"><h2>Redis</h2><div class="big" id="redis">–</div><div class="sub" id="redis-sub">–</div></section>

  <section class="card wide" id="card-backfill"><h2>Backfill epochs</h2>
    <div><span class="big" id="epochs">–</span> <span class="sub" id="epochs-sub"></span></div>
    <div class="sub" id="backfill-rate"></div>
    <div id="epoch-map"></div>
    <div class="legend"><span><i></i>pending</span><span><i class="active"></i>in flight (bar: blocks vs. the average epoch)</span><span><i class="synced"></i>synced, waiting for earlier epochs</span><span><i class="committed"></i>committed</span><span><i class="failed"></i>failed</span><span><i class="retried"></i>retried</span></div>
    <table id="epoch-failures-table" hidden><thead><tr><th>epoch</th><th>attempts</th><th>error</th></tr></thead><tbody id="epoch-failures"></tbody></table>
  </section>

  <section class="card wide" id="card-groups"><h2>Consumer groups</h2><div class="sub" id="backpressure"></div>
    <table><thead><tr><th>streams</th><th>group</th><th>lag (entries)</th><th>pending</th><th>consumers</th><th>unfinished epochs</th><th>holds back</th></tr></thead><tbody id="groups"></tbody></table>
  </section>

  <section class="card wide" id="card-workers" hidden><h2>Workers <span class="sub" id="workers-queue" style="text-transform:none"></span></h2><div class="sub" id="workers-sub"></div>
    <table><thead><tr><th>worker</th><th>address</th><th>connected</th><th>running</th></tr></thead><tbody id="workers"></tbody></table>
    <table style="margin-top:8px"><thead><tr><th>epoch</th><th>job</th><th>worker</th><th>attempts</th><th>started</th><th>failure</th></tr></thead><tbody id="jobs"></tbody></table>
  </section>

  <section class="card half"><h2>Blocks per second</h2><svg class="chart" id="chart" role="img" aria-label="blocks per second over time"></svg></section>
  <section class="card half"><h2>Tip distance (blocks)</h2><svg class="chart" id="tip-chart" role="img" aria-label="blocks behind the tip over time"></svg></section>

  <section class="card"><h2>Rollbacks</h2><div class="sub" id="rollbacks-sub"></div><div class="hist" id="rollback-hist"></div><div class="hist-labels" id="rollback-hist-labels"></div>
    <table><thead><tr><th>at</th><th>depth</th><th>to height</th></tr></thead><tbody id="rollbacks"></tbody></table></section>
  <section class="card half"><h2>Reconnects</h2><div class="sub" id="reconnects-sub"></div>
    <table><thead><tr><th>at</th><th>endpoint</th><th>cause</th></tr></thead><tbody id="reconnects"></tbody></table></section>
  <section class="card"><h2>Refresh schedule</h2><table class="kv"><tbody id="refresh"></tbody></table></section>

  <section class="card wide"><h2>Runs <span class="sub">(click one for its detail)</span></h2><table><thead><tr><th>id</th><th>command</th><th>prefix</th><th>state</th><th>started</th><th>ended</th><th>blocks</th><th>error</th></tr></thead><tbody id="runs"></tbody></table></section>
  <section class="card wide" id="run-detail" hidden><h2>Run <span id="run-id" style="text-transform:none"></span></h2>
    <table class="kv"><tbody id="run-fields"></tbody></table>
    <h2 style="margin-top:10px" id="run-timeline-title">Epoch timeline</h2><table><tbody id="run-timeline"></tbody></table>
    <h2 style="margin-top:10px">Log <span class="sub" id="run-log-sub"></span></h2><pre id="run-log"></pre>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const has = (v) => v !== undefined && v !== null;
const fmt = (n) => has(n) ? Number(n).toLocaleString("en-US") : "–";
const pad = (n) => String(n).padStart(2, "0");
const clock = (t) => { const d = new Date(t); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); };
const time = (iso) => iso ? clock(iso) : "";
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const dur = (s) => { if (!has(s)) return "–"; s = Math.round(s); return s >= 3600 ? Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m" : s >= 60 ? Math.floor(s / 60) + "m " + pad(s % 60) + "s" : s + "s"; };
const ago = (iso, now) => iso ? dur((Date.parse(now) - Date.parse(iso)) / 1000) + " ago" : "";
// a time of day, with its date when it is not today's: a next run at "00:00:00" is tomorrow's
const day = (t) => { const d = new Date(t); return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); };
const at = (iso, now) => iso ? (day(iso) === day(now) ? "" : day(iso) + " ") + clock(iso) : "";
const inDur = (iso, now) => { const m = Math.max(0, Math.round((Date.parse(iso) - Date.parse(now)) / 60000));
  return m < 1 ? "in less than a minute" : m < 60 ? "in " + m + " min" : m < 1440 ? "in " + Math.floor(m / 60) + " h " + (m % 60) + " min" : "in " + Math.floor(m / 1440) + " d " + Math.floor((m % 1440) / 60) + " h"; };
const niceMax = (v) => { if (v <= 0) return 1; const p = Math.pow(10, Math.floor(Math.log10(v))); for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p; return 10 * p; };
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

// a line chart in the element's own pixels: y ticks with units, x ticks at round clock times.
// robust: the y range is the recent window's (the last third of the span, at least 10 samples),
// so a catch-up spike an order of magnitude above the live rate does not flatten it; the values
// above the range are drawn at its top and marked with the peak they reached
function chart(svg, pts, key, unit, color, empty, robust) {
  const W = Math.max(200, svg.clientWidth), H = Math.max(100, svg.clientHeight);
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  const data = pts.filter((p) => has(p[key]));
  if (data.length < 2) { svg.innerHTML = '<text x="' + (W / 2) + '" y="' + (H / 2) + '" text-anchor="middle" font-size="12" fill="currentColor" opacity=".6">' + esc(empty) + '</text>'; return; }
  const L = 52, R = 10, T = 10, B = 22, w = W - L - R, h = H - T - B;
  const t0 = data[0].t, t1 = data[data.length - 1].t, span = Math.max(1000, t1 - t0);
  const peakPoint = data.reduce((a, p) => (p[key] > a[key] ? p : a), data[0]), peak = peakPoint[key];
  const from = Math.min(t1 - span / 3, data[Math.max(0, data.length - 10)].t);
  const recent = Math.max(...data.filter((p) => p.t >= from).map((p) => p[key]));
  const clip = robust && recent > 0 && peak > 2 * recent;
  const max = niceMax(clip ? recent * 1.25 : peak);
  const x = (t) => L + ((t - t0) / span) * w, y = (v) => T + h - (Math.min(v, max) / max) * h;
  let out = "";
  for (const f of max >= 2 ? [0, 0.5, 1] : [0, 1]) {
    const v = max * f, yy = y(v).toFixed(1);
    out += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + yy + '" y2="' + yy + '" stroke="currentColor" opacity=".12"/>' +
      '<text class="y-tick" x="' + (L - 6) + '" y="' + (Number(yy) + 4) + '" text-anchor="end" font-size="11" fill="currentColor" opacity=".7">' + fmt(Math.round(v * 10) / 10) + '</text>';
  }
  const step = (STEPS.find((s) => span / 1000 / s <= 6) ?? 7200) * 1000;
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const xx = x(t).toFixed(1);
    out += '<line x1="' + xx + '" x2="' + xx + '" y1="' + T + '" y2="' + (T + h) + '" stroke="currentColor" opacity=".08"/>' +
      '<text class="x-tick" x="' + xx + '" y="' + (H - 6) + '" text-anchor="middle" font-size="11" fill="currentColor" opacity=".7">' + clock(t) + '</text>';
  }
  // an unknown value is a gap in the line, never a made-up 0: one stretch per run of known values
  const runs = [];
  let cur = [];
  for (const p of pts) {
    if (p.t < t0 || p.t > t1) continue;
    if (has(p[key])) cur.push(p); else if (cur.length > 0) { runs.push(cur); cur = []; }
  }
  if (cur.length > 0) runs.push(cur);
  runs.forEach((r, i) => {
    const line = r.map((p) => x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ");
    out += '<polyline points="' + x(r[0].t).toFixed(1) + "," + (T + h) + " " + line + " " + x(r[r.length - 1].t).toFixed(1) + "," + (T + h) + '" fill="' + color + '" opacity=".15" stroke="none"/>' +
      '<polyline class="' + (i === runs.length - 1 ? "chart-line" : "chart-seg") + '" points="' + line + '" fill="none" stroke="' + color + '" stroke-width="2"/>';
  });
  if (clip) {
    // the clipped stretch: a dashed cap along the top, and the peak it reached
    for (let i = 0; i < data.length; i++) {
      if (data[i][key] <= max) continue;
      let j = i; while (j + 1 < data.length && data[j + 1][key] > max) j++;
      out += '<line class="clip-mark" x1="' + x(data[Math.max(0, i - 1)].t).toFixed(1) + '" x2="' + x(data[Math.min(data.length - 1, j + 1)].t).toFixed(1) + '" y1="' + T + '" y2="' + T + '" stroke="' + color + '" stroke-width="3" stroke-dasharray="3 2"/>';
      i = j;
    }
    out += '<text class="chart-clip" x="' + x(peakPoint.t).toFixed(1) + '" y="' + (T + 14) + '" text-anchor="middle" font-size="11" fill="currentColor">▲ peak ' + fmt(peak) + " " + unit + " at " + clock(peakPoint.t) + " (off the scale)</text>";
  }
  out += '<text class="chart-label" x="' + (W - R) + '" y="' + (T + 12) + '" text-anchor="end" font-size="12" font-weight="600" fill="currentColor">' + (has(pts[pts.length - 1][key]) ? fmt(data[data.length - 1][key]) + " " + unit + " now" : "unknown now") + '</text>';
  svg.innerHTML = out;
  fitLabels(svg, W, L);
}

// every label inside the chart, none over another: an x tick at an edge is anchored to it (the
// last one used to be cut off at the right edge), an x tick that would overlap its left neighbour
// is dropped, and the peak note moves below the "now" label when they meet
function fitLabels(svg, W, L) {
  const inside = (el, left) => {
    const b = el.getBBox();
    if (b.x + b.width > W - 1) { el.setAttribute("text-anchor", "end"); el.setAttribute("x", String(W - 1)); }
    else if (b.x < left) { el.setAttribute("text-anchor", "start"); el.setAttribute("x", String(left)); }
  };
  let right = -Infinity;
  for (const el of svg.querySelectorAll("text.x-tick")) {
    inside(el, 1);
    const b = el.getBBox();
    if (b.x < right + 6) { el.remove(); continue; }
    right = b.x + b.width;
  }
  const note = svg.querySelector("text.chart-clip"), label = svg.querySelector("text.chart-label");
  if (note) {
    // inside the plot, clear of the y ticks on its left
    inside(note, L + 4);
    const a = note.getBBox(), b = label.getBBox();
    if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) note.setAttribute("y", String(b.y + b.height + 12));
  }
}

// the epoch map: the live one of a backfill in this process, else what Redis holds
function epochCells(s) {
  if (s.epochs.map.length > 0 && s.distributed) {
    // a distributed backfill: the queue says which epochs the workers are running, and who
    const jobs = new Map(s.distributed.jobs.map((j) => [j.epoch, j]));
    return s.epochs.map.map((c) => {
      const j = jobs.get(c.epoch);
      if (!j || c.state !== "pending") return c;
      const attempts = Math.max(1, j.attemptsStarted);
      return j.state === "active" ? { ...c, state: "active", attempts, worker: j.worker } : j.state === "delayed" ? { ...c, attempts: j.attemptsMade + 1, error: j.failedReason } : c;
    });
  }
  if (s.epochs.map.length > 0) return s.epochs.map;
  const e = s.overview && s.overview.epochs;
  if (!e) return [];
  const cells = new Map();
  for (const st of e.streams) cells.set(st.epoch, { epoch: st.epoch, state: has(e.lastSyncedEpoch) && st.epoch <= e.lastSyncedEpoch ? "committed" : "synced", blocks: undefined, attempts: 0 });
  for (const r of e.ready) cells.set(r, { epoch: r, state: "synced", attempts: 0 });
  for (const k of Object.keys(e.inFlight)) cells.set(Number(k), { epoch: Number(k), state: "active", attempts: 0, height: e.inFlight[k] });
  return [...cells.values()].sort((a, b) => a.epoch - b.epoch);
}
function epochMap(s) {
  const cells = epochCells(s), p = s.epochs.plan;
  const avg = p && p.epochs > 0 ? p.blocks / p.epochs : undefined;
  const small = cells.length > 240;
  $("epoch-map").innerHTML = cells.map((c) => {
    const pct = c.state === "active" && avg ? Math.min(100, (100 * (c.blocks || 0)) / avg) : 0;
    const tip = "epoch " + c.epoch + ": " + (c.state === "active" ? "in flight" : c.state) + (has(c.blocks) ? ", " + fmt(c.blocks) + " blocks" : "") +
      (has(c.height) ? ", at height " + fmt(c.height) : "") + (c.worker ? ", on " + c.worker : "") + (c.attempts > 1 ? ", attempt " + c.attempts : "") + (has(c.seconds) ? ", " + c.seconds + " s" : "") + (c.error ? " — " + c.error : "");
    return '<div class="ep ' + c.state + (c.attempts > 1 ? " retried" : "") + (small ? " small" : "") + '" data-epoch="' + c.epoch + '" data-state="' + c.state + '" title="' + esc(tip) + '">' +
      (pct > 0 ? '<div class="bar" style="width:' + pct.toFixed(0) + '%"></div>' : "") + "<span>" + (small ? "" : c.epoch) + "</span></div>";
  }).join("") || '<span class="sub">no backfill in this process, and no epoch streams in Redis</span>';
  const count = (st) => cells.filter((c) => c.state === st).length;
  const failed = cells.filter((c) => c.state === "failed");
  $("epochs").textContent = fmt(count("committed")) + (p ? " / " + fmt(p.epochs) : "") + " committed";
  $("epochs-sub").textContent = "in flight " + count("active") + " · synced, waiting " + count("synced") + " · pending " + count("pending") + " · failed " + failed.length +
    " · retried " + fmt(s.epochs.retried) + (has(s.epochs.lastSynced) ? " · last_synced_epoch " + s.epochs.lastSynced : "");
  $("backfill-rate").textContent = p
    ? fmt(s.epochs.blocks) + " / " + fmt(p.blocks) + " blocks · " + fmt(Math.round(s.epochs.averageBlocksPerSecond ?? 0)) + " blocks/s average · ETA " +
      (!s.epochs.map.some((c) => c.state === "active" || c.state === "pending") ? "done" : s.paused.now ? "none while paused on slow consumers" : dur(s.epochs.etaSeconds))
    : "";
  $("epoch-failures-table").hidden = failed.length === 0;
  $("epoch-failures").innerHTML = failed.map((c) => "<tr><td>" + c.epoch + "</td><td>" + c.attempts + '</td><td class="wrap bad">' + esc(c.error) + "</td></tr>").join("");
}

function groups(s) {
  const o = s.overview || {}, rows = [];
  const e = o.epochs, r = o.relay;
  const bp = [];
  if (e) {
    for (const g of e.groups) {
      const holds = g.behind.length === 0 ? "nothing" : "epoch " + g.behind[0] + " (low_watermark " + fmt(e.lowWatermark) + ")" + (e.backpressure.paused ? " → backfill paused" : "");
      rows.push([e.prefix + "epoch:*", g.name, g.lag, g.pending, "on " + g.epochs + " epochs", g.behind.length === 0 ? "none" : g.behind.length + " (" + g.behind[0] + (g.behind.length > 1 ? "–" + g.behind[g.behind.length - 1] : "") + ")", holds, g.behind.length > 0]);
    }
    bp.push("epoch streams: " + fmt(e.unconsumed) + " unconsumed (last_synced_epoch − low_watermark) · " +
      (e.backpressure.paused ? "backfill PAUSED since " + time(e.backpressure.since) + " (" + ago(e.backpressure.since, s.now) + ")" : "backfill not paused"));
  }
  if (r) {
    for (const st of r.streams) for (const g of st.groups) {
      const behind = (g.lag ?? 0) > 0 || g.pending > 0;
      rows.push([r.prefix + st.stream + " (" + fmt(st.length) + ")", g.name, g.lag, g.pending, g.consumers, "", behind && r.state === "paused" ? "the relay: paused since " + time(r.since) : "nothing", behind]);
    }
    bp.push("relay: " + (r.state === "paused" ? "PAUSED on slow consumers since " + time(r.since) + " (" + ago(r.since, s.now) + ")" : r.state === "not running" ? "NOT RUNNING (last seen " + (r.lastSeen ? time(r.lastSeen) + ", " + ago(r.lastSeen, s.now) : "?") + (r.lastState ? ", was " + r.lastState : "") + ")" : (r.state ?? "no status") + (r.since ? " since " + time(r.since) : "")));
  }
  if (s.paused.now) bp.push("this process paused since " + time(s.paused.since));
  bp.push("paused " + dur(s.paused.seconds) + " in total");
  $("backpressure").textContent = bp.join(" · ");
  $("groups").innerHTML = rows.map((x) => '<tr class="' + (x[7] ? "warn" : "") + '"><td>' + esc(x[0]) + "</td><td><b>" + esc(x[1]) + "</b></td><td>" + fmt(x[2]) + "</td><td>" + fmt(x[3]) + "</td><td>" + esc(x[4]) + "</td><td>" + esc(x[5]) + "</td><td>" + esc(x[6]) + "</td></tr>").join("") ||
    '<tr><td colspan="7" class="sub">' + (s.overview && !s.overview.redis.reachable ? "unknown (Redis unreachable)" : "no consumer group registered on these streams") + "</td></tr>";
}

function rollbacks(s) {
  $("rollbacks-sub").textContent = fmt(s.rollbacksTotal) + " rollbacks" + (s.rollbacksTotal > 0 ? " · deepest " + Math.max(...s.rollbackDepths.map((d) => d.depth)) : "");
  const maxCount = Math.max(1, ...s.rollbackDepths.map((d) => d.count));
  $("rollback-hist").innerHTML = s.rollbackDepths.map((d) => '<div title="depth ' + d.depth + ": " + d.count + '" style="height:' + Math.max(3, (100 * d.count) / maxCount) + '%"></div>').join("");
  $("rollback-hist-labels").innerHTML = s.rollbackDepths.map((d) => "<span>" + d.depth + "<br>" + d.count + "×</span>").join("");
  $("rollbacks").innerHTML = s.rollbacks.slice().reverse().slice(0, 6).map((r) =>
    "<tr><td>" + time(r.at) + "</td><td>" + r.depth + "</td><td>" + fmt(r.toHeight) + "</td></tr>").join("");
}

function reconnects(s) {
  const r = s.overview && s.overview.relay;
  $("reconnects-sub").textContent = fmt(s.relay.reconnects) + " by this process" + (r && has(r.counters.reconnects) ? " · " + fmt(r.counters.reconnects) + " recorded in Redis" : "") +
    (r && r.lastReconnectCause ? " · last cause: " + r.lastReconnectCause : "");
  $("reconnects").innerHTML = s.reconnectLog.slice().reverse().slice(0, 6).map((x) =>
    "<tr><td>" + time(x.at) + "</td><td>" + esc(x.endpoint) + '</td><td class="wrap">' + esc(x.cause ?? "") + "</td></tr>").join("");
}

function refreshSchedule(s) {
  const r = s.refresh;
  const rows = !r || r.enabled === false ? [["schedule", "off in this process"]] : [
    ["trigger", r.trigger], ["now", r.running ? "running" : "idle"], ["last run", r.lastStartedAt ? at(r.lastStartedAt, s.now) + " (" + ago(r.lastStartedAt, s.now) + ")" : "not yet"],
    ["next run", r.nextRunAt ? at(r.nextRunAt, s.now) + " (" + inDur(r.nextRunAt, s.now) + ")" : "–"], ["last result", r.lastError ? "failed: " + r.lastError : (r.lastResult ?? "–")],
    ["runs", fmt(r.runs) + " started · " + fmt(r.succeeded) + " ok · " + fmt(r.failed) + " failed · " + fmt(r.skipped) + " skipped"]
  ];
  $("refresh").innerHTML = rows.map(([k, v]) => "<tr><td>" + esc(k) + '</td><td class="wrap">' + esc(v) + "</td></tr>").join("");
}

function workers(s) {
  const d = s.distributed;
  $("card-workers").hidden = !d;
  if (!d) return;
  $("workers-queue").textContent = "queue " + d.queue;
  const c = d.counts;
  $("workers-sub").textContent = d.error ? "queue unreadable: " + d.error :
    fmt(d.workers.length) + " workers · " + fmt(c.active) + " running · " + fmt(c.waiting) + " waiting · " + fmt(c.delayed) + " delayed for a retry · " + fmt(c.failed) + " failed · " + fmt(c.completed) + " done, not yet committed";
  // a job's processedBy is the worker's name: count each worker's running jobs
  const running = (name) => d.jobs.filter((j) => j.state === "active" && j.worker === name).map((j) => j.epoch);
  $("workers").innerHTML = d.workers.map((w) => { const r = running(w.name);
    return "<tr><td><b>" + esc(w.name) + "</b></td><td>" + esc(w.address) + "</td><td>" + dur(w.ageSeconds) + "</td><td>" + (r.length === 0 ? "idle" : "epoch " + r.join(", ")) + "</td></tr>"; }).join("") ||
    '<tr><td colspan="4" class="sub">no worker connected: start “hecate worker” on any machine</td></tr>';
  $("jobs").innerHTML = d.jobs.map((j) => '<tr class="' + (j.state === "failed" ? "bad" : j.state === "delayed" ? "warn" : "") + '"><td>' + fmt(j.epoch) + "</td><td>" + esc(j.state) + "</td><td>" + esc(j.worker ?? "") + "</td><td>" + (j.state === "active" ? "attempt " + Math.max(1, j.attemptsStarted) : fmt(j.attemptsMade) + " made") + "</td><td>" +
    time(j.startedAt) + '</td><td class="wrap">' + esc(j.failedReason ?? "") + "</td></tr>").join("");
}

let selected;
async function showRun(id) {
  selected = id;
  for (const tr of $("runs").children) tr.classList.toggle("selected", tr.dataset.id === id);
  const res = await fetch("api/run?id=" + encodeURIComponent(id), { cache: "no-store" });
  if (!res.ok) return;
  const d = await res.json();
  if (selected !== id) return;
  const r = d.run;
  $("run-detail").hidden = false;
  $("run-id").textContent = r.id;
  const rows = [["command", r.command], ["prefix", r.prefix ?? "–"], ["state", r.shownState], ["started", r.startedAt], ["ended", r.endedAt ?? "–"], ["blocks", fmt(r.blocks)], ["host / pid", r.host + " / " + r.pid],
    ["error", r.error ?? "–"], ...Object.entries(r.parameters).filter(([k, v]) => !(k === "prefix" && v === r.prefix)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])];
  $("run-fields").innerHTML = rows.map(([k, v]) => "<tr><td>" + esc(k) + '</td><td class="wrap' + (k === "error" && v !== "–" ? " bad" : "") + '">' + esc(v) + "</td></tr>").join("");
  const t0 = Date.parse(r.startedAt), t1 = Math.max(t0 + 1000, ...d.timeline.map((e) => e.end ?? Date.now()));
  $("run-timeline").innerHTML = d.timeline.map((e) => {
    const left = (100 * (e.start - t0)) / (t1 - t0), width = Math.max(0.5, (100 * ((e.end ?? Date.now()) - e.start)) / (t1 - t0));
    return "<tr><td>epoch " + e.epoch + "</td><td style=\\"width:70%\\"><div class=\\"tl\\"><b class=\\"" + e.state + '" style="left:' + left.toFixed(2) + "%;width:" + width.toFixed(2) + '%"></b></div></td><td>' +
      esc(e.state) + (e.attempts > 1 ? " · " + e.attempts + " attempts" : "") + (has(e.blocks) ? " · " + fmt(e.blocks) + " blocks" : "") + (e.worker ? " · " + esc(e.worker) : "") + "</td></tr>";
  }).join("");
  $("run-timeline-title").hidden = d.timeline.length === 0;
  $("run-log-sub").textContent = "(" + d.log.length + " lines" + (d.logDropped > 0 ? ", " + d.logDropped + " older dropped" : "") + ")";
  $("run-log").innerHTML = d.log.map((l) => '<span class="log-' + esc(l.level) + '">' + esc(l.at.slice(11, 23) + " " + l.level.padEnd(5) + " " + (l.process ? "[" + l.process + "] " : "") + l.message) + "</span>").join("\\n");
}
$("runs").addEventListener("click", (ev) => { const tr = ev.target.closest("tr"); if (tr && tr.dataset.id) void showRun(tr.dataset.id); });

async function refresh() {
  try {
    const s = await (await fetch("api/state", { cache: "no-store" })).json();
    const st = $("status"); st.textContent = s.health.status; st.className = "pill " + s.health.status;
    $("reasons").textContent = s.health.reasons.join("; ");
    $("updated").textContent = s.commands.join(", ") + " · updated " + time(s.now);
    const plan = s.epochs.plan;
    if (!has(s.tipDistance.blocks) && plan) {
      // a backfill: how far the committed epochs are from the target epoch
      const behind = plan.target - (has(s.epochs.lastSynced) ? s.epochs.lastSynced : plan.start - 1);
      $("tip-blocks").textContent = fmt(Math.max(0, behind)) + " epochs";
      $("tip-slots").textContent = "to the backfill's target, epoch " + plan.target + " (" + fmt(Math.max(0, plan.blocks - s.epochs.blocks)) + " blocks left)";
    } else {
      const w = s.tipDistance.waitingForNode;
      $("tip-blocks").textContent = w ? "waiting for the node" : has(s.tipDistance.blocks) ? fmt(s.tipDistance.blocks) + " blocks" : "–";
      $("tip-slots").textContent = w ? "the node is behind the relay: node tip height " + fmt(w.nodeTipHeight) + ", relay at height " + fmt(w.height)
        : (has(s.tipDistance.slots) ? fmt(s.tipDistance.slots) : "–") + " slots behind the tip (following within " + s.tipDistance.max + ")";
    }
    $("bps").textContent = fmt(Math.round(s.blocksPerSecond)) + " blocks/s";
    $("blocks").textContent = fmt(s.blocks) + " blocks, " + fmt(Math.round(s.bytes / 1024)) + " KiB written";
    $("height").textContent = has(s.relay.height) ? "#" + fmt(s.relay.height) : "–";
    const rel = s.overview && s.overview.relay;
    $("relay-sub").textContent = (s.relay.connection ?? (rel && rel.state) ?? "idle") + (rel && rel.since ? " since " + time(rel.since) : "") + " · " + fmt(s.relay.writes) + " writes · " + (s.overview && !s.overview.redis.reachable ? "consumer lag unknown (Redis unreachable)" : s.relay.consumerGroups === 0 ? "no consumer groups" : "consumer lag " + fmt(s.relay.lag));
    const rd = s.overview ? s.overview.redis : undefined;
    const we = s.relay.lastWriteError;
    $("redis").textContent = rd ? (rd.reachable ? (we ? "up, writes failing" : "up") : "down") : "–";
    $("redis").className = "big " + (rd && rd.reachable && !we ? "good" : "bad");
    $("redis-sub").textContent = rd ? (rd.reachable ? (we ? "last write error " + time(we.at) + ": " + we.message + " · " : "") + "v" + rd.version + " · ping " + rd.pingMs + " ms · " + rd.usedMemory + " · " + rd.clients + " clients" : rd.error) : "";
    epochMap(s);
    groups(s);
    workers(s);
    chart($("chart"), s.throughput, "blocksPerSecond", "blocks/s", "#5b4bdb", "no data yet", true);
    chart($("tip-chart"), s.throughput, "tipBlocks", "blocks behind", "#c77d00", s.commands.includes("relay") || s.commands.includes("serve") ? "no tip known yet" : "no relay in this process");
    rollbacks(s);
    reconnects(s);
    refreshSchedule(s);
    $("runs").innerHTML = s.runs.map((r) =>
      '<tr data-id="' + esc(r.id) + '"' + (r.id === selected ? ' class="selected"' : "") + "><td>" + esc(r.id) + "</td><td>" + esc(r.command) + "</td><td>" + esc(r.prefix ?? "–") + '</td><td class="state-' + esc(r.shownState) + '">' + esc(r.shownState) + "</td><td>" +
      time(r.startedAt) + "</td><td>" + time(r.endedAt) + "</td><td>" + fmt(r.blocks) + '</td><td class="wrap err" title="' + esc(r.error ?? "") + '"><div>' + esc(r.error ?? "") + "</div></td></tr>").join("");
    if (selected) void showRun(selected);
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("status").textContent = "dashboard offline"; $("status").className = "pill unavailable";
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`
