"""The web UI in real headless Chromium: runs list and run page, states, charts, escaping."""

import re
import threading
import time
from decimal import Decimal
from html import unescape

import cramjam
import wirebuild
from helpers import create_run, finish, push
from horde.testing.browser import dump_dom


def test_runs_list_and_run_page_render_states_charts_and_escape_html(chromium_bin, make_server, tmp_path):
    srv = make_server(timeout=2)
    tok = srv.token("web")
    timed_out = create_run(srv, tok, name="silent")[1]["reference_id"]
    push(srv, tok, timed_out)
    assert srv.wait_state(tok, timed_out, ("timed_out",))["run"]["state"] == "timed_out"
    finished = create_run(srv, tok, name="done <script>alert(1)</script>")[1]["reference_id"]
    push(srv, tok, finished)
    finish(srv, tok, finished, run_status=5)
    running = create_run(srv, tok, name="live")[1]["reference_id"]
    push(srv, tok, running)
    stop = threading.Event()

    def keep_alive():  # a run that keeps streaming stays Running
        while not stop.wait(0.5):
            push(srv, tok, running)

    pusher = threading.Thread(target=keep_alive, daemon=True)
    pusher.start()
    try:
        listing = dump_dom(chromium_bin, f"{srv.url}/#token={tok}", tmp_path / "profile")
        page = dump_dom(chromium_bin, f"{srv.url}/runs/{finished}#token={tok}", tmp_path / "profile")
        live = dump_dom(chromium_bin, f"{srv.url}/runs/{running}", tmp_path / "profile")  # token from localStorage
    finally:
        stop.set()
        pusher.join()

    assert 'data-loaded="runs"' in listing
    states = dict(re.findall(r'<tr class="clickable" data-run-id="(\d+)" data-state="(\w+)"', listing))
    assert states == {timed_out: "timed_out", finished: "finished", running: "running"}
    assert re.search(r'class="state red timed_out"[^>]*>Timed out<', listing)
    assert re.search(r'class="state green finished"[^>]*>Finished<', listing)
    assert re.search(r'class="state purple running"[^>]*>Running<', listing)
    assert "aborted by user" in listing
    assert "done &lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>alert(1)" not in listing

    assert 'data-loaded="run"' in page
    assert re.search(r'id="run-state" class="state green finished" data-state="finished"', page)
    for chart in ("chart-load", "chart-latency", "chart-failures"):
        m = re.search(rf'id="{chart}" data-points="(\d+)" data-rendered="1"', page)
        assert m and int(m.group(1)) > 0, chart
        assert re.search(rf'id="{chart}"[^>]*>\s*<div class="uplot', page)
    assert page.count("<canvas") >= 3
    assert "is 200 &lt;img src=x&gt;" in page and "::&lt;b&gt;grp&lt;/b&gt;" in page
    assert "<img src" not in page and "<b>grp" not in page
    assert re.search(r"http_req_duration</td><td>p\(95\)&lt;500</td><td><span class=\"pass\">", page)

    assert re.search(r'data-state="running"', live) and 'data-loaded="run"' in live


def _cells(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, re.DOTALL).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", tr, re.DOTALL)]
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]


def _same(text: str, value) -> bool:
    """The page shows the API's number itself: the same double, read back exactly."""
    return value is None and text == "—" or value is not None and float(text) == value


def _same_percent(text: str, ratio) -> bool:
    """A ratio shown as a percentage with the API's digits (decimal point moved, no float noise)."""
    return ratio is None and text == "—" or ratio is not None and Decimal(text) == Decimal(repr(ratio)) * 100


def _numbers_push(t: int) -> bytes:
    W = wirebuild
    labels = {"name": "http://x/", "method": "GET", "status": "200"}
    return W.metric_set_of(
        [
            ("http_reqs", 1, [W.series(labels, 2, [W.at(t) + W.double(2, 1980.0)])]),
            ("zero_things", 1, [W.series({}, 2, [W.at(t) + W.double(2, 0.0)])]),
            ("http_req_failed", 3, [W.series(labels, 4, [W.at(t) + W.uint(2, 0) + W.uint(3, 1980)])]),
            (
                "checks",
                3,
                [
                    W.series({"check": "always", "group": ""}, 4, [W.at(t) + W.uint(2, 1980) + W.uint(3, 1980)]),
                    W.series({"check": "never", "group": ""}, 4, [W.at(t) + W.uint(2, 0) + W.uint(3, 10)]),
                ],
            ),
            ("share", 3, [W.series({}, 4, [W.at(t) + W.uint(2, 7) + W.uint(3, 100)])]),
            (
                "vus",
                2,
                [
                    W.series(
                        {},
                        3,
                        [
                            W.at(t)
                            + W.double(2, 10.0)
                            + W.uint(3, 1)
                            + W.double(4, 0.0)
                            + W.double(5, 10.0)
                            + W.double(6, 10.0)
                        ],
                    )
                ],
            ),
        ]
    )


def test_tables_show_every_number_as_the_api_has_it(chromium_bin, make_server, tmp_path):
    srv = make_server()
    tok = srv.token("numbers")
    run_id = create_run(srv, tok, name="numbers", vus=0)[1]["reference_id"]
    assert push(srv, tok, run_id)[0] == 200  # a real k6 push: trends with fractions
    assert push(srv, tok, run_id, body=bytes(cramjam.snappy.compress_raw(_numbers_push(int(time.time())))))[0] == 200
    finish(srv, tok, run_id)
    detail = srv.run(tok, run_id)
    runs = srv.get("/api/v1/runs", tok)[1]["runs"]
    page = dump_dom(chromium_bin, f"{srv.url}/runs/{run_id}#token={tok}", tmp_path / "profile")
    listing = dump_dom(chromium_bin, f"{srv.url}/", tmp_path / "profile")
    assert 'data-loaded="run"' in page and 'data-loaded="runs"' in listing

    run = detail["run"]
    assert run["requests"] == 2000 and run["failure_rate"] == 0  # the k6 push's 20 and our 1980
    meta = {k: unescape(v) for k, v in re.findall(r'<dd data-key="([^"]+)">(.*?)</dd>', page)}
    assert meta["Requests"] == "2000" and _same(meta["Requests"], run["requests"])
    assert meta["HTTP failures"] == "0 %"
    assert meta["VUs (max)"] == "0" == str(run["vus"])

    checks = {(g, c): (p, f) for g, c, p, f in _cells(page, "checks")}
    assert checks[("(root)", "always")] == ("1980", "0") and checks[("(root)", "never")] == ("0", "10")
    for c in detail["checks"]:
        p, f = checks[(c["group"] or "(root)", c["check"])]
        assert _same(p, c["passes"]) and _same(f, c["fails"]), c

    shown = {name: (kind, text) for name, kind, text in _cells(page, "metrics")}
    assert shown["http_reqs"] == ("counter", "count 2000")
    assert shown["zero_things"] == ("counter", "count 0")
    assert shown["share"] == ("rate", "7 % (7 of 100)")
    assert shown["http_req_failed"] == ("rate", "0 % (0 of 2000)")
    assert shown["vus"] == ("gauge", "value 10 min 0 max 10")
    checked = 0
    for m in detail["metrics"]:
        kind, text = shown[m["metric"]]
        assert kind == m["type"]
        if kind == "counter":
            (n,) = re.fullmatch(r"count (\S+)", text).groups()
            assert _same(n, m["count"])
        elif kind == "rate":
            pct, passes, total = re.fullmatch(r"(\S+) % \((\S+) of (\S+)\)", text).groups()
            assert _same_percent(pct, m["rate"]) and _same(passes, m["passes"]) and _same(total, m["total"])
        elif kind == "gauge":
            v, lo, hi = re.fullmatch(r"value (\S+) min (\S+) max (\S+)", text).groups()
            assert _same(v, m["value"]) and _same(lo, m["min"]) and _same(hi, m["max"])
        else:
            got = re.fullmatch(
                r"avg (\S+) min (\S+) med (\S+) max (\S+) p\(90\) (\S+) p\(95\) (\S+) "
                r"p\(99\) (\S+) \((\S+) values\)",
                text,
            ).groups()
            want = [m[k] for k in ("avg", "min", "med", "max", "p90", "p95", "p99", "count")]
            assert all(_same(g, w) for g, w in zip(got, want)), (text, want)
        checked += 1
    assert checked == len(detail["metrics"]) == len(shown)

    rows = {r[1]: r for r in _cells(listing, "runs")}
    for r in runs:
        assert _same(rows["#" + str(r["id"])][6], r["vus"])
