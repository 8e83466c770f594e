/* horde web-dashboard: the live page (Server-Sent Events from /events) and the offline report
   (data embedded in #horde-data) are the same script. Everything is built with textContent:
   metric, check and scenario names come from test scripts and are never parsed as HTML. */
(function () {
  "use strict";

  var state = { config: {}, snapshots: [], cumulative: null, status: "", finished: false };
  var charts = {};
  var pending = false;

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function num(v, digits) {
    if (v === null || v === undefined || typeof v !== "number" || !isFinite(v)) return "—";
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(digits === undefined ? 2 : digits);
  }

  function unit(name) {
    var t = (state.cumulative && state.cumulative.types && state.cumulative.types[name]) || {};
    return t.contains === "time" ? " ms" : t.contains === "data" ? " B" : "";
  }

  function metric(snap, name, stat) {
    var m = snap && snap.metrics && snap.metrics[name];
    return m && typeof m[stat] === "number" ? m[stat] : null;
  }

  function perSecond(snap, name, stat) {
    var v = metric(snap, name, stat);
    return v === null || !snap.period ? null : v / snap.period;
  }

  function percent(snap, name, stat) {
    var v = metric(snap, name, stat);
    return v === null ? null : v * 100;
  }

  var PALETTE = ["#6a3fb5", "#1f77b4", "#e3a21a", "#c62828", "#1a7f37", "#6b7383"];

  var CHARTS = [
    { id: "chart-vus", series: [
      ["VUs", function (s) { return metric(s, "vus", "value"); }],
      ["max VUs", function (s) { return metric(s, "vus_max", "value"); }]] },
    { id: "chart-rate", series: [
      ["requests/s", function (s) { return metric(s, "http_reqs", "rate"); }],
      ["failed requests/s", function (s) { return perSecond(s, "http_req_failed", "passes"); }]] },
    { id: "chart-latency", series: [
      ["p(90) ms", function (s) { return metric(s, "http_req_duration", "p(90)"); }],
      ["p(95) ms", function (s) { return metric(s, "http_req_duration", "p(95)"); }],
      ["p(99) ms", function (s) { return metric(s, "http_req_duration", "p(99)"); }],
      ["med ms", function (s) { return metric(s, "http_req_duration", "med"); }]] },
    { id: "chart-failures", series: [
      ["failed requests %", function (s) { return percent(s, "http_req_failed", "rate"); }],
      ["failed checks %", function (s) { var r = metric(s, "checks", "rate"); return r === null ? null : 100 - r * 100; }]] },
    { id: "chart-checks", series: [
      ["checks passed/s", function (s) { return perSecond(s, "checks", "passes"); }],
      ["checks failed/s", function (s) { return perSecond(s, "checks", "fails"); }]] },
    { id: "chart-iterations", series: [
      ["iterations/s", function (s) { return metric(s, "iterations", "rate"); }],
      ["iteration_duration p(95) ms", function (s) { return metric(s, "iteration_duration", "p(95)"); }]] }
  ];

  function drawChart(id, spec, snaps) {
    var host = $(id);
    if (!host || typeof uPlot === "undefined") return;
    var xs = snaps.map(function (s) { return s.time / 1000; });
    var data = [xs];
    spec.forEach(function (pair) { data.push(snaps.map(pair[1])); });
    host.dataset.points = String(xs.length);
    var chart = charts[id];
    if (chart && chart._series === spec.length) {
      chart.setData(data);
    } else {
      if (chart) chart.destroy();
      host.textContent = "";
      var opts = {
        width: Math.max(320, (host.clientWidth || 520) - 4),
        height: 220,
        series: [{}].concat(spec.map(function (pair, i) {
          return { label: pair[0], stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true };
        })),
        axes: [{}, { size: 60 }],
        legend: { live: true }
      };
      chart = charts[id] = new uPlot(opts, data, host);
      chart._series = spec.length;
    }
    host.dataset.rendered = "1";
  }

  function drawCharts() {
    CHARTS.forEach(function (c) { drawChart(c.id, c.series, state.snapshots); });
    drawThresholdChart();
    drawScenarios();
  }

  /* each threshold's value over the run (what it read at the end of every period) */
  function drawThresholdChart() {
    var list = (state.cumulative && state.cumulative.thresholds) || [];
    var host = $("chart-thresholds");
    if (!list.length) {
      if (!host.firstChild) host.appendChild(el("p", "no thresholds", "empty"));
      return;
    }
    drawChart("chart-thresholds", list.map(function (t, i) {
      return [t.key + " " + t.source, function (s) {
        var v = s.thresholds && s.thresholds[i];
        return v ? v[0] : null;
      }];
    }), state.snapshots);
  }

  function scenarioSnaps(name) {
    return state.snapshots.map(function (s) {
      return { time: s.time, period: s.period, metrics: (s.scenarios && s.scenarios[name]) || {} };
    });
  }

  function drawScenarios() {
    var box = $("scenarios");
    var cum = state.cumulative;
    var names = Object.keys((cum && cum.scenarios) || {}).sort();
    if (!names.length) {
      if (!box.firstChild) box.appendChild(el("p", "no scenario data yet", "empty"));
      return;
    }
    names.forEach(function (name, i) {
      var id = "scenario-" + i;
      var panel = document.querySelector('.panel[data-scenario="' + i + '"]');
      if (!panel) {
        if (box.firstChild && box.firstChild.className === "empty") box.textContent = "";
        panel = el("div", null, "panel");
        panel.dataset.scenario = String(i);
        panel.appendChild(el("h3", "scenario " + name));
        var table = el("table");
        table.className = "scenario-totals";
        panel.appendChild(table);
        var chartBox = el("div", null, "chart");
        chartBox.id = id;
        panel.appendChild(chartBox);
        box.appendChild(panel);
      }
      var m = cum.scenarios[name];
      var table2 = panel.querySelector("table");
      table2.textContent = "";
      var row = el("tr");
      [["requests", m.http_reqs && m.http_reqs.count],
       ["iterations", m.iterations && m.iterations.count],
       ["p(95) ms", m.http_req_duration && m.http_req_duration["p(95)"]],
       ["failed %", m.http_req_failed && m.http_req_failed.rate * 100]].forEach(function (kv) {
        var td = el("td");
        td.appendChild(el("span", kv[0] + " "));
        var b = el("b", num(kv[1]));
        b.dataset.stat = kv[0];
        td.appendChild(b);
        row.appendChild(td);
      });
      table2.appendChild(row);
      drawChart(id, [
        ["requests/s", function (s) { return metric(s, "http_reqs", "rate"); }],
        ["iterations/s", function (s) { return metric(s, "iterations", "rate"); }],
        ["p(95) ms", function (s) { return metric(s, "http_req_duration", "p(95)"); }]
      ], scenarioSnaps(name));
    });
  }

  function card(label, value, key) {
    var c = el("div", null, "card");
    c.appendChild(el("div", label, "label"));
    var v = el("div", value, "value");
    v.dataset.key = key;
    c.appendChild(v);
    return c;
  }

  function drawOverview() {
    var cum = state.cumulative;
    var box = $("overview");
    box.textContent = "";
    if (!cum) return;
    var m = cum.metrics || {};
    function get(name, stat) { return m[name] && typeof m[name][stat] === "number" ? m[name][stat] : null; }
    var vusMax = get("vus_max", "max");
    box.appendChild(card("Requests", num(get("http_reqs", "count")), "requests"));
    box.appendChild(card("Requests/s", num(get("http_reqs", "rate")), "request-rate"));
    box.appendChild(card("Failed requests", get("http_req_failed", "rate") === null ? "—" :
      num(get("http_req_failed", "rate") * 100) + " %", "failed"));
    box.appendChild(card("p(95) response", num(get("http_req_duration", "p(95)")) + " ms", "p95"));
    box.appendChild(card("Iterations", num(get("iterations", "count")), "iterations"));
    box.appendChild(card("Checks passed", get("checks", "rate") === null ? "—" :
      num(get("checks", "rate") * 100) + " %", "checks"));
    box.appendChild(card("VUs (max)", num(vusMax === null ? get("vus", "max") : vusMax), "vus"));
  }

  function describe(name, type, agg) {
    var u = unit(name);
    if (type === "counter") return "count " + num(agg.count) + u + ", " + num(agg.rate) + "/s";
    if (type === "gauge") return "value " + num(agg.value) + u + " min " + num(agg.min) + " max " + num(agg.max);
    if (type === "rate") return num((agg.rate || 0) * 100) + " % (" + num(agg.passes) + " of " + num(agg.passes + agg.fails) + ")";
    return ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"].map(function (k) {
      return k + " " + num(agg[k]) + u;
    }).join(" ") + " (" + num(agg.count) + " values)";
  }

  function drawSummary() {
    var cum = state.cumulative;
    if (!cum) return;
    var body = $("metrics").tBodies[0];
    body.textContent = "";
    Object.keys(cum.metrics).sort().forEach(function (name) {
      var agg = cum.metrics[name];
      var type = (cum.types[name] || {}).type || "";
      var tr = el("tr");
      tr.dataset.metric = name;
      tr.appendChild(el("td", name));
      tr.appendChild(el("td", type));
      var td = el("td", describe(name, type, agg));
      Object.keys(agg).forEach(function (k) { td.setAttribute("data-" + k.replace(/[()]/g, ""), String(agg[k])); });
      tr.appendChild(td);
      body.appendChild(tr);
    });
    var checks = $("checks").tBodies[0];
    checks.textContent = "";
    var names = Object.keys(cum.checks || {}).sort();
    if (!names.length) {
      var tr0 = el("tr");
      var td0 = el("td", "no checks", "empty");
      td0.colSpan = 4;
      tr0.appendChild(td0);
      checks.appendChild(tr0);
    }
    names.forEach(function (name) {
      var c = cum.checks[name];
      var tr = el("tr");
      tr.dataset.check = name;
      tr.appendChild(el("td", name));
      tr.appendChild(el("td", num(c.passes), "pass"));
      tr.appendChild(el("td", num(c.fails), c.fails ? "fail" : ""));
      tr.appendChild(el("td", num(100 * c.passes / Math.max(1, c.passes + c.fails)) + " %"));
      checks.appendChild(tr);
    });
    var ths = $("thresholds").tBodies[0];
    ths.textContent = "";
    if (!(cum.thresholds || []).length) {
      var tr1 = el("tr");
      var td1 = el("td", "no thresholds", "empty");
      td1.colSpan = 4;
      tr1.appendChild(td1);
      ths.appendChild(tr1);
    }
    (cum.thresholds || []).forEach(function (t) {
      var tr = el("tr");
      tr.dataset.threshold = t.key + " " + t.source;
      tr.dataset.ok = t.ok ? "1" : "0";
      tr.appendChild(el("td", t.key));
      tr.appendChild(el("td", t.source));
      tr.appendChild(el("td", num(t.value)));
      tr.appendChild(el("td", t.ok ? "✓ pass" : "✗ fail", t.ok ? "pass" : "fail"));
      ths.appendChild(tr);
    });
  }

  function drawState() {
    var label = state.finished ? (state.status || "finished") : state.snapshots.length ? "running" : "waiting for data";
    var failed = state.finished && state.status && !/^finished/.test(state.status);
    document.body.dataset.state = state.finished ? (failed ? "failed" : "finished") : "running";
    $("state").textContent = label;
    var cum = state.cumulative;
    $("clock").textContent = cum ? "elapsed " + num(cum.elapsed, 1) + " s" : "";
  }

  function render() {
    pending = false;
    drawState();
    drawOverview();
    drawCharts();
    drawSummary();
    document.body.dataset.loaded = String(state.snapshots.length);
  }

  function schedule() {
    if (pending) return;
    pending = true;
    (window.requestAnimationFrame || setTimeout)(render);
  }

  function load(data) {
    state.config = data.config || {};
    state.snapshots = data.snapshots || [];
    state.cumulative = data.cumulative || null;
    state.status = data.status || "finished";
    state.finished = true;
    render();
  }

  function follow() {
    var source = new EventSource("events");
    source.addEventListener("config", function (e) {
      state.config = JSON.parse(e.data);
      state.snapshots = [];  // every (re)connection replays the periods so far
      schedule();
    });
    source.addEventListener("snapshot", function (e) { state.snapshots.push(JSON.parse(e.data)); schedule(); });
    source.addEventListener("cumulative", function (e) { state.cumulative = JSON.parse(e.data); schedule(); });
    source.addEventListener("status", function (e) { state.status = JSON.parse(e.data).status; schedule(); });
    source.addEventListener("stop", function (e) {
      state.status = JSON.parse(e.data).status || state.status;
      state.finished = true;
      source.close();
      render();
    });
    source.onerror = function () {
      if (!state.finished) $("state").textContent = "disconnected (the run ended or the server is gone)";
    };
  }

  var embedded = JSON.parse($("horde-data").textContent);
  if (embedded) load(embedded); else { render(); follow(); }
})();
