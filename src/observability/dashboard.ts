/**
 * The dashboard: one self-contained HTML page (inline CSS + JS, no build step, no external
 * assets) served as-is at `GET /`. It polls `GET /api/state` every second and shows the health,
 * the tip distance, throughput over time (an SVG line chart), epochs done, recent rollbacks and
 * recent runs.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hecate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --bg: #f6f7fb; --card: #fff; --accent: #5b4bdb; --ok: #1f9d55; --warn: #c77d00; --bad: #d0342c; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e8ef; --muted: #9aa2b5; --bg: #12141a; --card: #1b1e27; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: center; gap: 12px; padding: 14px 22px; }
  header h1 { font-size: 18px; margin: 0; }
  #status { padding: 3px 10px; border-radius: 999px; color: #fff; font-weight: 600; background: var(--muted); }
  #status.ok { background: var(--ok); } #status.catching-up { background: var(--warn); } #status.unavailable { background: var(--bad); }
  #reasons { color: var(--muted); }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 14px; padding: 0 22px 22px; }
  .card { background: var(--card); border-radius: 10px; padding: 14px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  .card h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 6px; }
  .big { font-size: 30px; font-weight: 700; font-variant-numeric: tabular-nums; }
  .sub { color: var(--muted); font-variant-numeric: tabular-nums; }
  .wide { grid-column: 1 / -1; }
  svg { width: 100%; height: 180px; display: block; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid rgba(127,127,127,.2); white-space: nowrap; }
  th { color: var(--muted); font-weight: 500; }
  .state-Completed { color: var(--ok); } .state-Failed, .state-Crashed { color: var(--bad); } .state-Running { color: var(--accent); } .state-Cancelled { color: var(--warn); }
</style>
</head>
<body>
<header><h1>Hecate</h1><span id="status">…</span><span id="reasons"></span><span class="sub" id="updated"></span></header>
<main>
  <section class="card"><h2>Tip distance</h2><div class="big" id="tip-blocks">–</div><div class="sub" id="tip-slots">–</div></section>
  <section class="card"><h2>Throughput</h2><div class="big" id="bps">–</div><div class="sub" id="blocks">–</div></section>
  <section class="card"><h2>Relay</h2><div class="big" id="height">–</div><div class="sub" id="relay-sub">–</div></section>
  <section class="card"><h2>Epochs done</h2><div class="big" id="epochs">–</div><div class="sub" id="epochs-sub">–</div></section>
  <section class="card wide"><h2>Blocks per second</h2><svg id="chart" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="blocks per second over time"></svg></section>
  <section class="card"><h2>Recent rollbacks</h2><div class="sub" id="rollbacks-sub"></div><table><thead><tr><th>at</th><th>depth</th><th>to height</th></tr></thead><tbody id="rollbacks"></tbody></table></section>
  <section class="card wide"><h2>Runs</h2><table><thead><tr><th>id</th><th>command</th><th>state</th><th>started</th><th>ended</th><th>blocks</th><th>error</th></tr></thead><tbody id="runs"></tbody></table></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (n) => n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US");
const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : "";
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
function chart(samples) {
  const svg = $("chart");
  const pts = samples.slice(-300);
  if (pts.length < 2) { svg.innerHTML = ""; return; }
  const max = Math.max(1, ...pts.map((p) => p.blocksPerSecond));
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t, span = Math.max(1, t1 - t0);
  const xy = pts.map((p) => [((p.t - t0) / span) * 600, 170 - (p.blocksPerSecond / max) * 160]);
  const line = xy.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" ");
  svg.innerHTML = '<polyline points="0,170 ' + line + ' 600,170" fill="rgba(91,75,219,.15)" stroke="none"/>' +
    '<polyline id="chart-line" points="' + line + '" fill="none" stroke="#5b4bdb" stroke-width="2" vector-effect="non-scaling-stroke"/>' +
    '<text x="4" y="14" font-size="12" fill="currentColor">' + fmt(Math.round(max)) + ' blocks/s</text>';
}
async function refresh() {
  try {
    const s = await (await fetch("api/state", { cache: "no-store" })).json();
    const st = $("status"); st.textContent = s.health.status; st.className = s.health.status;
    $("reasons").textContent = s.health.reasons.join("; ");
    $("updated").textContent = "updated " + time(s.now);
    $("tip-blocks").textContent = s.tipDistance.blocks === undefined || s.tipDistance.blocks === null ? "–" : fmt(s.tipDistance.blocks) + " blocks";
    $("tip-slots").textContent = (s.tipDistance.slots === undefined || s.tipDistance.slots === null ? "–" : fmt(s.tipDistance.slots)) + " slots behind the tip";
    $("bps").textContent = fmt(Math.round(s.blocksPerSecond)) + " /s";
    $("blocks").textContent = fmt(s.blocks) + " blocks, " + fmt(Math.round(s.bytes / 1024)) + " KiB relayed";
    $("height").textContent = s.relay.height === undefined || s.relay.height === null ? "–" : "#" + fmt(s.relay.height);
    $("relay-sub").textContent = (s.relay.connection ?? "idle") + " · " + fmt(s.relay.writes) + " writes · lag " + fmt(s.relay.lag) + " · reconnects " + fmt(s.relay.reconnects);
    $("epochs").textContent = fmt(s.epochs.done) + (s.epochs.planned ? " / " + fmt(s.epochs.planned) : "");
    $("epochs-sub").textContent = "failed " + fmt(s.epochs.failed) + " · retried " + fmt(s.epochs.retried) +
      (s.epochs.lastSynced !== undefined && s.epochs.lastSynced !== null ? " · last_synced_epoch " + s.epochs.lastSynced : "");
    chart(s.throughput);
    $("rollbacks-sub").textContent = fmt(s.rollbacksTotal) + " rollbacks";
    $("rollbacks").innerHTML = s.rollbacks.slice().reverse().slice(0, 10).map((r) =>
      "<tr><td>" + time(r.at) + "</td><td>" + r.depth + "</td><td>" + fmt(r.toHeight) + "</td></tr>").join("");
    $("runs").innerHTML = s.runs.map((r) =>
      "<tr><td>" + esc(r.id) + "</td><td>" + esc(r.command) + '</td><td class="state-' + esc(r.state) + '">' + esc(r.shownState) + "</td><td>" +
      time(r.startedAt) + "</td><td>" + time(r.endedAt) + "</td><td>" + fmt(r.blocks) + "</td><td>" + esc(r.error ?? "") + "</td></tr>").join("");
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("status").textContent = "dashboard offline"; $("status").className = "unavailable";
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`
