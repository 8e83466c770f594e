// horde Insights web UI: runs list and run page. All data goes into the DOM
// through textContent (never innerHTML), so tag values cannot inject markup.
"use strict";

const TOKEN_KEY = "horde-insights-token";
const $ = (id) => document.getElementById(id);

function takeToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(TOKEN_KEY);
}

class AuthError extends Error {}

async function api(path) {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) throw new AuthError("no token");
  const res = await fetch(path, { headers: { Authorization: "Token " + token }, cache: "no-store" });
  if (res.status === 401) throw new AuthError("the token was refused");
  const body = await res.json();
  if (!res.ok) throw new Error((body.error && body.error.message) || ("HTTP " + res.status));
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "—" : String(c);
    tr.appendChild(td);
  }
  return tr;
}

function fmtDuration(s) {
  if (s === null || s === undefined) return "—";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + "h" : "") + (h || m ? m + "m" : "") + sec + "s";
}
const fmtTime = (t) => (t ? new Date(t * 1000).toLocaleString() : "—");
// Numbers exactly as the API has them: JavaScript's shortest round-trip form of the JSON number
// (1980 stays "1980", 0 stays "0", 0.1 + 0.2 stays "0.30000000000000004"), no rounding.
const fmtNum = (v) => (v === null || v === undefined ? "—" : String(v));

// A ratio from the API as a percentage, exactly: its decimal point moved two places (0.07 -> "7",
// not 7.000000000000001), so the page shows the API's digits.
function fmtPercent(v) {
  if (v === null || v === undefined) return "—";
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(v));
  if (!m) return String(v * 100); // exponent notation (below 1e-6): no exact shift to make
  const frac = (m[3] || "").padEnd(2, "0");
  const whole = (m[2] + frac.slice(0, 2)).replace(/^0+(?=\d)/, "");
  const rest = frac.slice(2);
  return m[1] + whole + (rest ? "." + rest : "");
}

function stateBadge(run) {
  const span = el("span", run.label, "state " + run.colour + " " + run.state);
  span.dataset.state = run.state;
  span.title = run.detail;
  const wrap = el("span");
  wrap.appendChild(span);
  if (run.detail && run.detail.toLowerCase() !== run.label.toLowerCase()) wrap.appendChild(el("span", run.detail, "detail"));
  return wrap;
}

function resultCell(run) {
  if (run.passed === null || run.passed === undefined) return el("span", run.state === "timed_out" ? "unknown" : "pending", "pending");
  return el("span", run.passed ? "✓ passed" : "✗ failed", run.passed ? "pass" : "fail");
}

function showError(err) {
  if (err instanceof AuthError) {
    $("login").hidden = false;
    for (const id of ["runs-section", "run-section"]) if ($(id)) $(id).hidden = true;
    if (err.message !== "no token") { $("error").textContent = "Token refused: enter a valid API token."; $("error").hidden = false; }
    return;
  }
  $("error").textContent = err.message;
  $("error").hidden = false;
}

// -- runs list -------------------------------------------------------------------------------
async function loadRuns() {
  return renderRuns(await api("/api/v1/runs"));
}

function renderRuns(data) {
  $("error").hidden = true;
  $("runs-section").hidden = false;
  const tbody = $("runs").tBodies[0];
  tbody.replaceChildren();
  for (const run of data.runs) {
    const link = el("a", "#" + run.id);
    link.href = "/runs/" + encodeURIComponent(run.id);
    const tr = row([link, run.name, stateBadge(run), fmtTime(run.created_at), fmtDuration(run.duration), run.vus, resultCell(run)]);
    tr.className = "clickable";
    tr.dataset.runId = run.id;
    tr.dataset.state = run.state;
    tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") location.href = link.href; });
    tbody.appendChild(tr);
  }
  $("no-runs").hidden = data.runs.length > 0;
  document.body.dataset.loaded = "runs";
  return data.runs.some((r) => r.state === "running" || r.state === "created");
}

// -- run page ---------------------------------------------------------------------------------
const charts = {};

function chartWidth(div) { return Math.max(320, div.clientWidth || 800); }

function makeChart(id, series, scales, axes, data) {
  const div = $(id);
  const opts = { width: chartWidth(div), height: 220, series: [{}].concat(series), scales: scales, axes: axes, legend: { live: true } };
  charts[id] = new uPlot(opts, data, div);
  return charts[id];
}

function updateChart(id, make, data) {
  if (!charts[id]) make(data); else charts[id].setData(data);
  const div = $(id);
  div.dataset.points = String(data[0].length);
  div.dataset.rendered = div.querySelector("canvas") ? "1" : "0";
}

function renderCharts(s) {
  const t = s.t;
  updateChart("chart-load", (d) => makeChart("chart-load",
    [{ label: "VUs", stroke: "#7b3fe4", width: 2, scale: "vus" }, { label: "req/s", stroke: "#1a73e8", width: 2, scale: "rps" }],
    { x: { time: true }, vus: {}, rps: {} },
    [{}, { scale: "vus", label: "VUs" }, { scale: "rps", side: 1, label: "req/s", grid: { show: false } }], d),
    [t, s.vus, s.rps]);
  updateChart("chart-latency", (d) => makeChart("chart-latency",
    [{ label: "p50", stroke: "#1a9b50", width: 2 }, { label: "p95", stroke: "#e07b00", width: 2 }, { label: "p99", stroke: "#d42a2a", width: 2 }],
    { x: { time: true } }, [{}, { label: "ms" }], d),
    [t, s.p50, s.p95, s.p99]);
  updateChart("chart-failures", (d) => makeChart("chart-failures",
    [{ label: "failed %", stroke: "#d42a2a", width: 2, fill: "rgba(212,42,42,.12)" }],
    { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } }, [{}, { label: "%" }], d),
    [t, s.failure_rate.map((v) => (v === null ? null : v * 100))]);
}

function renderMeta(run) {
  const items = [
    ["Run", "#" + run.id], ["Started", fmtTime(run.created_at)], ["Duration", fmtDuration(run.duration)],
    ["Planned", fmtDuration(run.planned_duration)], ["VUs (max)", run.vus], ["Requests", fmtNum(run.requests)],
    ["HTTP failures", run.failure_rate === null ? "—" : fmtPercent(run.failure_rate) + " %"],
    ["Run status", run.detail], ["Result", run.passed === null ? "pending" : run.passed ? "passed" : "failed"],
  ];
  const dl = $("run-meta");
  dl.replaceChildren();
  for (const [k, v] of items) {
    const d = el("div");
    d.appendChild(el("dt", k));
    const dd = el("dd", v === null || v === undefined ? "—" : v);
    dd.dataset.key = k;
    d.appendChild(dd);
    dl.appendChild(d);
  }
}

function metricValues(m) {
  if (m.type === "counter") return "count " + fmtNum(m.count);
  if (m.type === "rate") return fmtPercent(m.rate) + " % (" + fmtNum(m.passes) + " of " + fmtNum(m.total) + ")";
  if (m.type === "gauge") return "value " + fmtNum(m.value) + " min " + fmtNum(m.min) + " max " + fmtNum(m.max);
  return "avg " + fmtNum(m.avg) + " min " + fmtNum(m.min) + " med " + fmtNum(m.med) + " max " + fmtNum(m.max) +
    " p(90) " + fmtNum(m.p90) + " p(95) " + fmtNum(m.p95) + " p(99) " + fmtNum(m.p99) + " (" + fmtNum(m.count) + " values)";
}

async function loadRun(id) {
  return renderRun(await api("/api/v1/runs/" + encodeURIComponent(id)));
}

function renderRun(data) {
  const run = data.run;
  $("error").hidden = true;
  $("run-section").hidden = false;
  document.title = "horde Insights — " + run.name;
  $("run-name").textContent = run.name;
  const badge = $("run-state");
  badge.textContent = run.label;
  badge.className = "state " + run.colour + " " + run.state;
  badge.dataset.state = run.state;
  badge.title = run.detail;
  renderMeta(run);

  const th = $("thresholds").tBodies[0];
  th.replaceChildren();
  for (const t of data.thresholds) {
    const res = t.ok === null ? el("span", "pending", "pending") : el("span", t.ok ? "✓ pass" : "✗ fail", t.ok ? "pass" : "fail");
    th.appendChild(row([t.metric, t.threshold, res]));
  }
  if (!data.thresholds.length) th.appendChild(row(["no thresholds", "", ""]));

  const ch = $("checks").tBodies[0];
  ch.replaceChildren();
  for (const c of data.checks) ch.appendChild(row([c.group || "(root)", c.check, fmtNum(c.passes), fmtNum(c.fails)]));
  if (!data.checks.length) ch.appendChild(row(["no checks", "", "", ""]));

  const mt = $("metrics").tBodies[0];
  mt.replaceChildren();
  for (const m of data.metrics) mt.appendChild(row([m.metric, m.type, metricValues(m)]));

  renderCharts(data.series);
  document.body.dataset.loaded = "run";
  return run.state === "running" || run.state === "created";
}

// -- start ------------------------------------------------------------------------------------
// Live updates by server-sent events: one GET first (it reports a refused token), then an
// EventSource whose events carry the same JSON as the GET. The browser reconnects by itself
// after a network error; when the server refused the stream, a GET tells why and it starts over.
function live(load, eventsPath, render) {
  let source = null;
  const open = async () => {
    try { await load(); } catch (err) { showError(err); if (err instanceof AuthError) return; }
    const token = localStorage.getItem(TOKEN_KEY) || "";
    source = new EventSource(eventsPath + "?token=" + encodeURIComponent(token));
    source.onmessage = (ev) => {
      try { render(JSON.parse(ev.data)); } catch (err) { showError(err); }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) { source = null; setTimeout(open, 5000); }
    };
  };
  open();
}

function start() {
  takeToken();
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    localStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("login").hidden = true;
    start2();
  });
  $("logout").addEventListener("click", () => { localStorage.removeItem(TOKEN_KEY); location.reload(); });
  start2();
}

let started = false;
function start2() {
  if (!localStorage.getItem(TOKEN_KEY)) { $("login").hidden = false; return; }
  $("logout").hidden = false;
  if (started) { location.reload(); return; }
  started = true;
  if (document.body.dataset.page === "runs") live(loadRuns, "/api/v1/runs/events", renderRuns);
  else {
    const id = location.pathname.split("/").filter(Boolean)[1];
    live(() => loadRun(id), "/api/v1/runs/" + encodeURIComponent(id) + "/events", renderRun);
  }
}

start();
