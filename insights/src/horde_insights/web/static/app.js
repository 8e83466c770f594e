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

async function request(path, method) {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) throw new AuthError("no token");
  const res = await fetch(path, { method: method || "GET", headers: { Authorization: "Token " + token }, cache: "no-store" });
  if (res.status === 401) throw new AuthError("the token was refused");
  if (!res.ok) {
    let message = "HTTP " + res.status;
    try { const body = await res.json(); if (body.error && body.error.message) message = body.error.message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return res;
}

async function api(path, method) {
  return (await request(path, method)).json();
}

// A file from the API saved by the browser (the API needs the token header, so a plain link cannot fetch it).
async function download(path, filename) {
  const blob = await (await request(path)).blob();
  const url = URL.createObjectURL(blob);
  const a = el("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
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
    for (const id of ["runs-section", "run-section", "compare-section"]) if ($(id)) $(id).hidden = true;
    if (err.message !== "no token") { $("error").textContent = "Token refused: enter a valid API token."; $("error").hidden = false; }
    return;
  }
  $("error").textContent = err.message;
  $("error").hidden = false;
}

// Wall-clock time of day (local), "HH:MM:SS"; with the date ("YYYY-MM-DD") in front when asked.
const pad2 = (n) => String(n).padStart(2, "0");
function fmtClock(t, withDate) {
  const d = new Date(t * 1000);
  const clock = pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  if (!withDate) return clock;
  return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + "\n" + clock;
}
// The x axis ticks of every chart: local time of day, the date on the first tick.
function timeTicks(u, splits) { return splits.map((v, i) => fmtClock(v, i === 0)); }

// A figure rounded for reading (the exact number is the cell's title): at most `digits` decimals.
function fmtRound(v, digits) {
  if (v === null || v === undefined) return "—";
  return String(Number(Number(v).toFixed(digits === undefined ? 3 : digits)));
}
function fmtSigned(v, digits) {
  if (v === null || v === undefined) return "—";
  return (v > 0 ? "+" : "") + fmtRound(v, digits);
}
// A cell showing `text` with the exact value on hover.
function exact(text, v) {
  const span = el("span", text);
  if (v !== null && v !== undefined) span.title = String(v);
  return span;
}
const ms = (v) => exact(fmtRound(v, 3), v);
const pct = (v) => exact(v === null || v === undefined ? "—" : fmtRound(v * 100, 2) + " %", v);
function fmtRelative(v) {
  if (v === null || v === undefined) return "—";
  return (v > 0 ? "+" : "") + (v * 100).toFixed(1) + " %";
}

function showProject(project) {
  if (project && project.name !== null && project.name !== undefined) {
    $("project").textContent = "project " + project.name;
    $("project").dataset.projectId = project.id;
  }
}

// A table whose rows are re-rendered on every update and sorted by the header the user clicked.
// columns: [{ key, label, num (sort numerically), cell(row) -> text or Node }]
class SortableTable {
  constructor(table, columns, sortKey, sortDir) {
    this.table = table;
    this.columns = columns;
    this.key = sortKey;
    this.dir = sortDir;
    this.rows = [];
    const tr = document.createElement("tr");
    for (const c of columns) {
      const th = el("th", c.label);
      th.dataset.sort = c.key;
      th.className = "sortable";
      th.addEventListener("click", () => {
        this.dir = this.key === c.key ? -this.dir : (c.num ? -1 : 1);
        this.key = c.key;
        this.render(this.rows);
      });
      tr.appendChild(th);
    }
    table.tHead.replaceChildren(tr);
  }

  render(rows) {
    this.rows = rows;
    const col = this.columns.find((c) => c.key === this.key) || this.columns[0];
    const val = col.sortValue || ((r) => r[col.key]);
    const sorted = rows.slice().sort((a, b) => {
      let x = val(a), y = val(b);
      if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1; // missing values last
      if (y === null || y === undefined) return -1;
      if (col.num && x !== "" && y !== "" && Number.isFinite(Number(x)) && Number.isFinite(Number(y))) return (Number(x) - Number(y)) * this.dir;
      return String(x).localeCompare(String(y), undefined, { numeric: true }) * this.dir;
    });
    for (const th of this.table.tHead.rows[0].cells) {
      const on = th.dataset.sort === col.key;
      th.classList.toggle("sorted", on);
      if (on) th.setAttribute("aria-sort", this.dir > 0 ? "ascending" : "descending"); else th.removeAttribute("aria-sort");
    }
    this.table.dataset.sortKey = col.key;
    this.table.dataset.sortDir = this.dir > 0 ? "asc" : "desc";
    const tbody = this.table.tBodies[0];
    tbody.replaceChildren();
    for (const r of sorted) tbody.appendChild(row(this.columns.map((c) => (c.cell ? c.cell(r) : r[c.key]))));
    if (!rows.length) {
      const tr = row(["none"]);
      tr.cells[0].colSpan = this.columns.length;
      tr.className = "empty";
      tbody.appendChild(tr);
    }
  }
}

function endpointCell(r) {
  const wrap = el("span", r.name);
  if (r.url && r.url !== r.name) wrap.appendChild(el("span", r.url, "detail"));
  return wrap;
}

// -- runs list -------------------------------------------------------------------------------
const selected = new Set();
let listSeq = 0;

function listParams() {
  const p = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) p.set("q", q);
  if ($("state-filter").value) p.set("state", $("state-filter").value);
  p.set("limit", $("page-size").value);
  p.set("offset", String(listOffset));
  return p;
}
let listOffset = 0;

function restoreListParams() {
  const p = new URLSearchParams(location.search);
  $("q").value = p.get("q") || "";
  if (p.get("state")) $("state-filter").value = p.get("state");
  const limit = parseInt(p.get("limit") || "", 10);
  if (limit > 0 && limit <= 500) {
    if (!Array.from($("page-size").options).some((o) => o.value === String(limit))) $("page-size").add(new Option(String(limit)));
    $("page-size").value = String(limit);
  }
  listOffset = Math.max(0, parseInt(p.get("offset") || "0", 10) || 0);
}

function updateCompareButton() {
  const btn = $("compare-selected");
  btn.disabled = selected.size !== 2;
  btn.textContent = selected.size === 2 ? "Compare the 2 selected runs" : "Select 2 runs to compare (" + selected.size + " selected)";
}

async function deleteRun(run) {
  const live = run.state === "running" || run.state === "created" ? " It has not ended: its instances' further data will be refused." : "";
  if (!confirm("Delete run #" + run.id + " “" + run.name + "” with all its data? This cannot be undone." + live)) return;
  try {
    await api("/api/v1/runs/" + encodeURIComponent(run.id), "DELETE");
    selected.delete(run.id);
    updateCompareButton();
    await loadRuns();
  } catch (err) { showError(err); }
}

// The list is searched, filtered and paged, so it is always fetched with the page's parameters
// (a server-pushed "the runs changed" should call loadRuns, not render the unfiltered list).
async function loadRuns() {
  const params = listParams();
  const seq = ++listSeq;
  const data = await api("/api/v1/runs?" + params.toString());
  if (seq !== listSeq) return false; // a newer request (the user changed a filter) answers instead
  history.replaceState(null, "", location.pathname + "?" + params.toString());
  return renderRuns(data);
}

function renderRuns(data) {
  $("error").hidden = true;
  $("runs-section").hidden = false;
  showProject(data.project);
  const tbody = $("runs").tBodies[0];
  tbody.replaceChildren();
  for (const run of data.runs) {
    const link = el("a", "#" + run.id);
    link.href = "/runs/" + encodeURIComponent(run.id);
    const box = el("input");
    box.type = "checkbox";
    box.className = "pick";
    box.dataset.runId = run.id;
    box.checked = selected.has(run.id);
    box.setAttribute("aria-label", "select run " + run.id);
    box.addEventListener("change", () => { if (box.checked) selected.add(run.id); else selected.delete(run.id); updateCompareButton(); });
    const del = el("button", "Delete", "delete");
    del.type = "button";
    del.dataset.runId = run.id;
    del.addEventListener("click", () => deleteRun(run));
    const tr = row([box, link, run.name, stateBadge(run), fmtTime(run.created_at), fmtDuration(run.duration), run.vus, resultCell(run), del]);
    tr.className = "clickable";
    tr.dataset.runId = run.id;
    tr.dataset.state = run.state;
    tr.addEventListener("click", (ev) => { if (!ev.target.closest("a, button, input, label")) location.href = link.href; });
    tbody.appendChild(tr);
  }
  const first = data.total ? data.offset + 1 : 0;
  const last = data.offset + data.runs.length;
  $("page-info").textContent = first + "–" + last + " of " + data.total;
  $("page-info").dataset.total = data.total;
  $("prev").disabled = data.offset <= 0;
  $("next").disabled = last >= data.total;
  const filtered = Boolean(data.q || data.state);
  $("no-runs").hidden = data.runs.length > 0 || filtered;
  $("no-match").hidden = data.runs.length > 0 || !filtered;
  updateCompareButton();
  document.body.dataset.loaded = "runs";
  return data.runs.some((r) => r.state === "running" || r.state === "created");
}

function setupRunsList() {
  restoreListParams();
  const refresh = () => loadRuns().catch(showError);
  let typing = null;
  $("q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => { listOffset = 0; refresh(); }, 250); });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); listOffset = 0; refresh(); });
  $("state-filter").addEventListener("change", () => { listOffset = 0; refresh(); });
  $("page-size").addEventListener("change", () => { listOffset = 0; refresh(); });
  $("prev").addEventListener("click", () => { listOffset = Math.max(0, listOffset - Number($("page-size").value)); refresh(); });
  $("next").addEventListener("click", () => { listOffset += Number($("page-size").value); refresh(); });
  $("compare-selected").addEventListener("click", () => {
    const [a, b] = Array.from(selected).sort((x, y) => Number(x) - Number(y));
    location.href = "/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b);
  });
}

// -- run page ---------------------------------------------------------------------------------
const charts = {};

function chartWidth(div) { return Math.max(320, div.clientWidth || 800); }

function makeChart(id, series, scales, axes, data) {
  const div = $(id);
  const x = { label: "local time", values: timeTicks, size: 50 };
  const opts = {
    width: chartWidth(div), height: 220,
    series: [{ label: "time", value: (u, v) => (v === null || v === undefined ? "—" : fmtClock(v, true).replace("\n", " ")) }].concat(series),
    scales: scales, axes: [x].concat(axes.slice(1)), legend: { live: true },
  };
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

// An instance's metric entry by name (its metrics come as the run's list, or keyed by metric name).
function instanceMetric(inst, name) {
  const ms = inst.metrics;
  if (!ms) return null;
  if (Array.isArray(ms)) return ms.find((m) => m.metric === name) || null;
  return ms[name] || null;
}

const percentCell = pct;
let endpointTable = null, errorTable = null, instanceTable = null;

function tables() {
  if (endpointTable) return;
  endpointTable = new SortableTable($("endpoints"), [
    { key: "name", label: "Endpoint (name / URL)", cell: endpointCell },
    { key: "method", label: "Method" },
    { key: "status", label: "Status", num: true },
    { key: "requests", label: "Requests", num: true, cell: (r) => fmtNum(r.requests) },
    { key: "failures", label: "Failures", num: true, cell: (r) => fmtNum(r.failures) },
    { key: "failure_rate", label: "Failed %", num: true, cell: (r) => percentCell(r.failure_rate) },
    { key: "p50", label: "p50 (ms)", num: true, cell: (r) => ms(r.p50) },
    { key: "p95", label: "p95 (ms)", num: true, cell: (r) => ms(r.p95) },
    { key: "p99", label: "p99 (ms)", num: true, cell: (r) => ms(r.p99) },
  ], "requests", -1);
  errorTable = new SortableTable($("errors"), [
    { key: "name", label: "Endpoint" },
    { key: "method", label: "Method" },
    { key: "status", label: "Status", num: true },
    { key: "error", label: "Error", cell: (r) => r.error || "—" },
    { key: "error_code", label: "Error code", num: true, cell: (r) => r.error_code || "—" },
    { key: "count", label: "Count", num: true, cell: (r) => fmtNum(r.count) },
  ], "count", -1);
  instanceTable = new SortableTable($("instances"), [
    { key: "instance_id", label: "Instance", num: true },
    { key: "state", label: "State" },
    { key: "requests", label: "Requests", num: true, cell: (r) => fmtNum(r.requests) },
    { key: "p95", label: "p95 (ms)", num: true, cell: (r) => ms(r.p95) },
    { key: "last_seen_at", label: "Last seen", num: true, cell: (r) => fmtTime(r.last_seen_at) },
  ], "instance_id", 1);
}

function renderInstances(instances, expected) {
  // one instance has nothing to break down; a run expecting several shows them from the first
  $("instances-section").hidden = !instances || !instances.length || (instances.length < 2 && !(expected > 1));
  const finished = (instances || []).filter((i) => i.state === "finished").length;
  $("instances-summary").textContent = (instances || []).length + " instance(s) seen" +
    (expected ? " of " + expected + " expected" : "") + ", " + finished + " finished";
  if (!instances) { instanceTable.render([]); return; }
  instanceTable.render(instances.map((i) => {
    const reqs = instanceMetric(i, "http_reqs"), dur = instanceMetric(i, "http_req_duration");
    return {
      instance_id: i.instance_id, state: i.state, last_seen_at: i.last_seen_at,
      requests: reqs ? reqs.count : null, p95: dur ? dur.p95 : null,
    };
  }));
}

let currentRun = null;

async function stopRun() {
  if (!currentRun || !confirm("Stop run #" + currentRun.id + " “" + currentRun.name + "” on every instance?")) return;
  $("stop").disabled = true;
  try {
    await api("/api/v1/runs/" + encodeURIComponent(currentRun.id) + "/stop", "POST");
    $("stop").textContent = "Stop requested";
    $("stop").dataset.requested = "1";
  } catch (err) {
    $("stop").disabled = false;
    showError(err);
  }
}

async function exportRun(kind) {
  try {
    await download("/api/v1/runs/" + encodeURIComponent(currentRun.id) + "/export." + kind, "horde-run-" + currentRun.id + "." + kind);
  } catch (err) { showError(err); }
}

async function loadRun(id) {
  return renderRun(await api("/api/v1/runs/" + encodeURIComponent(id)));
}

// Draws the run page from the JSON of GET /api/v1/runs/{id}; true while the run is active.
function renderRun(data) {
  const run = data.run;
  currentRun = run;
  tables();
  $("error").hidden = true;
  $("run-section").hidden = false;
  showProject(data.project);
  document.title = "horde Insights — " + run.name;
  $("run-name").textContent = run.name;
  const badge = $("run-state");
  badge.textContent = run.label;
  badge.className = "state " + run.colour + " " + run.state;
  badge.dataset.state = run.state;
  badge.title = run.detail;
  const stopped = Boolean(data.stopped || run.stopped);
  $("stop").hidden = run.state !== "running" || stopped;
  const reason = data.abort_reason || run.abort_reason;
  $("stopped").hidden = !stopped && !reason;
  $("stopped").textContent = reason ? "Stopped: " + reason : "Stopped";
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

  endpointTable.render(data.endpoints || []);
  errorTable.render(data.errors || []);
  renderInstances(data.instances, data.expected_instances || run.expected_instances);

  const mt = $("metrics").tBodies[0];
  mt.replaceChildren();
  for (const m of data.metrics) mt.appendChild(row([m.metric, m.type, metricValues(m)]));

  renderCharts(data.series);
  document.body.dataset.loaded = "run";
  document.body.dataset.updates = String(Number(document.body.dataset.updates || "0") + 1);
  return run.state === "running" || run.state === "created";
}

function setupRunPage() {
  $("stop").addEventListener("click", stopRun);
  $("export-json").addEventListener("click", () => exportRun("json"));
  $("export-csv").addEventListener("click", () => exportRun("csv"));
}

// -- compare page -------------------------------------------------------------------------------
function runHeading(side, r) {
  const wrap = el("span");
  wrap.appendChild(el("strong", side + ": "));
  const link = el("a", "#" + r.id + " " + r.name);
  link.href = "/runs/" + encodeURIComponent(r.id);
  wrap.appendChild(link);
  wrap.appendChild(el("span", " "));
  wrap.appendChild(stateBadge(r));
  return wrap;
}

const RATIOS = ["failure_rate", "checks_rate"];
function figure(key, v) {
  if (RATIOS.includes(key)) return pct(v);
  return exact(fmtRound(v, 3), v);
}
// The delta and relative change of a compared figure, marked better/worse when the figure has a direction.
function deltaCells(key, d, better) {
  let cls = "";
  if (d.delta !== null && d.delta !== 0 && better) cls = (d.delta < 0) === (better === "lower") ? "better" : "worse";
  const delta = RATIOS.includes(key) ? (d.delta === null ? "—" : fmtSigned(d.delta * 100, 2) + " pp") : fmtSigned(d.delta, 3);
  const a = el("span", delta, cls), b = el("span", fmtRelative(d.relative), cls);
  if (d.delta !== null) a.title = String(d.delta);
  return [a, b];
}

function verdictCell(ok, defined) {
  if (!defined) return el("span", "not defined", "pending");
  return ok === null ? el("span", "pending", "pending") : el("span", ok ? "✓ pass" : "✗ fail", ok ? "pass" : "fail");
}

async function loadCompare() {
  const p = new URLSearchParams(location.search);
  const a = p.get("a") || "", b = p.get("b") || "";
  return renderCompare(await api("/api/v1/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b)));
}

function renderCompare(data) {
  $("error").hidden = true;
  $("compare-section").hidden = false;
  showProject(data.project);
  $("run-a").replaceChildren(runHeading("A", data.a));
  $("run-b").replaceChildren(runHeading("B", data.b));
  document.title = "horde Insights — compare #" + data.a.id + " and #" + data.b.id;
  $("swap").href = "/compare?a=" + encodeURIComponent(data.b.id) + "&b=" + encodeURIComponent(data.a.id);

  const mt = $("compare-metrics").tBodies[0];
  mt.replaceChildren();
  for (const m of data.metrics) {
    const tr = row([m.label, figure(m.key, m.a), figure(m.key, m.b), ...deltaCells(m.key, m, m.better)]);
    tr.dataset.key = m.key;
    mt.appendChild(tr);
  }

  const tt = $("compare-thresholds").tBodies[0];
  tt.replaceChildren();
  for (const t of data.thresholds) tt.appendChild(row([t.metric, t.threshold, verdictCell(t.a, t.a_defined), verdictCell(t.b, t.b_defined)]));
  if (!data.thresholds.length) tt.appendChild(row(["no thresholds", "", "", ""]));

  const et = $("compare-endpoints").tBodies[0];
  et.replaceChildren();
  for (const e of data.endpoints) {
    const ea = e.a || {}, eb = e.b || {};
    const d = e.deltas;
    et.appendChild(row([
      e.name, e.method, e.status,
      fmtNum(ea.requests), fmtNum(eb.requests), deltaCells("requests", d.requests, null)[0],
      ms(ea.p95), ms(eb.p95), deltaCells("p95", d.p95, "lower")[0],
      pct(ea.failure_rate), pct(eb.failure_rate), deltaCells("failure_rate", d.failure_rate, "lower")[0],
    ]));
  }
  if (!data.endpoints.length) { const tr = row(["no HTTP requests"]); tr.cells[0].colSpan = 12; et.appendChild(tr); }
  document.body.dataset.loaded = "compare";
  return [data.a, data.b].some((r) => r.state === "running" || r.state === "created");
}

// -- start ------------------------------------------------------------------------------------
// The compare page (two runs, no event stream) loads now, then again every few seconds
// (more often while a run is active).
function poll(load, activeEvery, idleEvery) {
  const tick = async () => {
    let active = false;
    try { active = await load(); } catch (err) { showError(err); if (err instanceof AuthError) return; }
    setTimeout(tick, active ? activeEvery : idleEvery);
  };
  tick();
}

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
  const page = document.body.dataset.page;
  if (page === "runs") {
    setupRunsList();
    // the list is searched, filtered and paged: an event says "the runs changed", the page GETs its view
    live(loadRuns, "/api/v1/runs/events", () => loadRuns().catch(showError));
  } else if (page === "compare") {
    poll(loadCompare, 3000, 30000);
  } else {
    setupRunPage();
    const id = location.pathname.split("/").filter(Boolean)[1];
    live(() => loadRun(id), "/api/v1/runs/" + encodeURIComponent(id) + "/events", renderRun);
  }
}

start();
