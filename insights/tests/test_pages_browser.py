"""The run page, runs list and compare page driven in real headless Chromium (DevTools protocol over a pipe):
per-endpoint and errors tables (sorting, escaping), per-instance table, Stop, export downloads, the live
update, search/filter/pagination/delete and comparing two runs."""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import wirebuild
from helpers import create_run, finish, push
from horde.testing.browser import Browser
from pagedata import HTML_NAME, endpoint_run, endpoints

TZ = "Asia/Kolkata"
"""The browser's time zone in these tests (UTC+05:30, no daylight saving): wall-clock ticks are local time."""


@pytest.fixture
def browser(chromium_bin, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with Browser(chromium_bin, tmp_path / "profile", downloads=downloads, env={"TZ": TZ}) as b:
        yield b


def _open(browser, url: str, loaded: str) -> None:
    browser.navigate(url)
    browser.wait_for(f"document.body && document.body.dataset.loaded === {json.dumps(loaded)}")


def _table(browser, table_id: str) -> list[list[str]]:
    return browser.evaluate(
        f"Array.from(document.querySelectorAll('#{table_id} tbody tr'))"
        ".map((tr) => Array.from(tr.cells).map((td) => td.textContent))"
    )


def _num(text: str) -> float | None:
    return None if text == "—" else float(text)


def _rounded(text: str, value: float | None, digits: int = 3) -> bool:
    """The page shows ``value`` rounded to ``digits`` decimals (the exact number is the cell's title)."""
    if value is None:
        return text == "—"
    return abs(float(text) - value) <= 0.5 * 10**-digits + 1e-9


def test_run_page_endpoint_and_error_tables_sort_escape_and_show_the_project(server, browser):
    tok = server.token("shop <i>team</i>")
    rid = endpoint_run(server, tok, name="endpoints <script>x</script>")
    finish(server, tok, rid)
    detail = server.run(tok, rid)
    _open(browser, f"{server.url}/runs/{rid}#token={tok}", "run")

    assert browser.evaluate("document.getElementById('project').textContent") == "project shop <i>team</i>"
    assert browser.evaluate("document.getElementById('run-name').textContent") == "endpoints <script>x</script>"
    assert (
        browser.evaluate("document.querySelectorAll('#run-section img, #run-section i, #run-section script').length")
        == 0
    )
    assert browser.evaluate("document.getElementById('stop').hidden") is True  # finished: no Stop

    rows = _table(browser, "endpoints")
    api_rows = detail["endpoints"]
    assert [r[0].startswith(e["name"]) for r, e in zip(rows, api_rows)] == [True] * 3  # most requests first
    for r, e in zip(rows, api_rows):
        assert (r[1], r[2]) == (e["method"], e["status"])
        assert _num(r[3]) == e["requests"] and _num(r[4]) == e["failures"]
        assert all(_rounded(r[i], e[k]) for i, k in ((6, "p50"), (7, "p95"), (8, "p99"))), (r, e)
    titles = browser.evaluate(
        "Array.from(document.querySelectorAll('#endpoints tbody tr')).map((tr) => tr.cells[7].firstChild.title)"
    )
    assert [float(t) for t in titles] == [e["p95"] for e in api_rows]  # the exact number on hover
    slow = next(r for r in rows if r[1] == "POST")
    assert slow[0] == HTML_NAME + "http://t/slow?id=1" and slow[5] == "100 %"  # name, then its URL

    browser.evaluate("document.querySelector('#endpoints th[data-sort=\"p95\"]').click()")
    assert browser.evaluate("document.getElementById('endpoints').dataset.sortKey") == "p95"
    p95 = [_num(r[7]) for r in _table(browser, "endpoints")]
    assert p95 == sorted(p95, reverse=True)
    browser.evaluate("document.querySelector('#endpoints th[data-sort=\"p95\"]').click()")
    p95 = [_num(r[7]) for r in _table(browser, "endpoints")]
    assert p95 == sorted(p95) and browser.evaluate("document.getElementById('endpoints').dataset.sortDir") == "asc"
    browser.evaluate("document.querySelector('#endpoints th[data-sort=\"name\"]').click()")
    names = [r[0] for r in _table(browser, "endpoints")]
    assert names == sorted(names, key=str.lower) or names[0].startswith("<img")

    errors = _table(browser, "errors")
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in errors] == [
        (HTML_NAME, "500", "—", "—", "3"),
        ("http://t/down", "0", "dial: i/o timeout", "1211", "1"),
    ]
    # the instances table shows when the run JSON has several instances (or expects several)
    insts = detail.get("instances") or []
    several = len(insts) > 1 or (detail.get("expected_instances") or 1) > 1
    assert browser.evaluate("document.getElementById('instances-section').hidden") is (not several)
    if several:
        assert [r[0] for r in _table(browser, "instances")] == sorted(i["instance_id"] for i in insts)


def test_time_axis_is_local_wall_clock_with_the_date_on_the_first_tick(server, browser):
    tok = server.token()
    when = 1_790_000_000  # a fixed instant: its local date and time in TZ are known
    rid = endpoint_run(server, tok, when=when)
    push(server, tok, rid, body=wirebuild.http_push(when + 30, endpoints()))
    _open(browser, f"{server.url}/runs/{rid}#token={tok}", "run")
    local = datetime.fromtimestamp(when, ZoneInfo(TZ))
    assert browser.evaluate(f"fmtClock({when}, true)") == local.strftime("%Y-%m-%d\n%H:%M:%S")
    assert browser.evaluate(f"timeTicks(null, [{when}, {when + 60}])") == [
        local.strftime("%Y-%m-%d\n%H:%M:%S"),
        datetime.fromtimestamp(when + 60, ZoneInfo(TZ)).strftime("%H:%M:%S"),
    ]
    # the charts draw their x axis with these ticks
    ticks = browser.wait_for(
        "(charts['chart-load'].axes[0]._values || []).length && charts['chart-load'].axes[0]._values"
    )
    assert "\n" in ticks[0] and all("\n" not in t for t in ticks[1:])
    assert ticks[0].startswith(local.strftime("%Y-%m-%d\n19:4"))  # 19:43:20 in Kolkata
    assert all(t.startswith("19:4") for t in ticks[1:])


def test_instances_table_from_the_run_json(server, browser):
    """The per-instance breakdown shows the run JSON's ``instances`` (injected here into the page's request)."""
    tok = server.token()
    rid = endpoint_run(server, tok)
    finish(server, tok, rid)
    # the run's GET is answered with the injected JSON; its event stream (opened after the GET) is held
    # paused, so that no event redraws the page with the real data
    patterns = [
        {"urlPattern": f"*/api/v1/runs/{rid}", "requestStage": "Response"},
        {"urlPattern": f"*/api/v1/runs/{rid}/events*", "requestStage": "Request"},
    ]
    browser.send("Fetch.enable", {"patterns": patterns})
    browser.navigate(f"{server.url}/runs/{rid}#token={tok}")
    paused = browser.next_event("Fetch.requestPaused")
    body = browser.send("Fetch.getResponseBody", {"requestId": paused["requestId"]})
    data = json.loads(base64.b64decode(body["body"]) if body["base64Encoded"] else body["body"])
    data["expected_instances"] = 3
    data["stopped"], data["abort_reason"] = True, "threshold http_req_duration p(95)<1 crossed <b>"
    data["instances"] = [
        {"instance_id": "2", "state": "finished", "last_seen_at": 1_790_000_000, "finished_at": 1_790_000_000,
         "metrics": [{"metric": "http_reqs", "type": "counter", "count": 14},
                     {"metric": "http_req_duration", "type": "trend", "p95": 123.5}]},
        {"instance_id": "1<b>x</b>", "state": "running", "last_seen_at": 1_790_000_001, "finished_at": None,
         "metrics": {"http_reqs": {"metric": "http_reqs", "type": "counter", "count": 20}}},
    ]  # fmt: skip
    browser.send(
        "Fetch.fulfillRequest",
        {
            "requestId": paused["requestId"],
            "responseCode": 200,
            "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
            "body": base64.b64encode(json.dumps(data).encode()).decode(),
        },
    )
    browser.wait_for("document.body.dataset.loaded === 'run'")
    assert browser.evaluate("document.getElementById('instances-section').hidden") is False
    rows = _table(browser, "instances")
    assert [r[:4] for r in rows] == [["1<b>x</b>", "running", "20", "—"], ["2", "finished", "14", "123.5"]]
    assert browser.evaluate("document.querySelectorAll('#instances b, #stopped b').length") == 0
    summary = browser.evaluate("document.getElementById('instances-summary').textContent")
    assert summary == "2 instance(s) seen of 3 expected, 1 finished"
    assert browser.evaluate("document.getElementById('stopped').hidden") is False
    stopped = browser.evaluate("document.getElementById('stopped').textContent")
    assert stopped == "Stopped: threshold http_req_duration p(95)<1 crossed <b>"


def test_stop_button_posts_the_stop_and_shows_only_while_running(server, browser):
    tok = server.token()
    rid = endpoint_run(server, tok, name="live")  # running: data, no finish
    _open(browser, f"{server.url}/runs/{rid}#token={tok}", "run")
    assert browser.evaluate("document.getElementById('stop').hidden") is False
    browser.send("Fetch.enable", {"patterns": [{"urlPattern": "*/stop", "requestStage": "Request"}]})
    browser.click("#stop")
    assert f"#{rid}" in browser.accept_dialog()
    paused = browser.next_event("Fetch.requestPaused")
    req = paused["request"]
    assert req["method"] == "POST" and req["url"] == f"{server.url}/api/v1/runs/{rid}/stop"
    assert req["headers"]["Authorization"] == f"Token {tok}"
    reply = {"id": rid, "stopped": True}
    browser.send(
        "Fetch.fulfillRequest",
        {
            "requestId": paused["requestId"],
            "responseCode": 200,
            "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
            "body": base64.b64encode(json.dumps(reply).encode()).decode(),
        },
    )
    browser.wait_for("document.getElementById('stop').dataset.requested === '1'")
    assert browser.evaluate("document.getElementById('stop').textContent") == "Stop requested"
    finish(server, tok, rid)
    browser.wait_for("document.getElementById('run-state').dataset.state === 'finished'")
    assert browser.evaluate("document.getElementById('stop').hidden") is True


def test_export_buttons_download_the_json_and_csv(server, browser):
    tok = server.token()
    rid = endpoint_run(server, tok, name="export")
    finish(server, tok, rid)
    _open(browser, f"{server.url}/runs/{rid}#token={tok}", "run")
    browser.click("#export-json")
    got = json.loads(browser.downloaded(f"horde-run-{rid}.json"))
    import urllib.request

    def raw(path):
        req = urllib.request.Request(server.url + path, headers={"Authorization": f"Token {tok}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    want = json.loads(raw(f"/api/v1/runs/{rid}/export.json"))
    assert got == want and got["run"]["requests"] == 34
    browser.click("#export-csv")
    assert browser.downloaded(f"horde-run-{rid}.csv") == raw(f"/api/v1/runs/{rid}/export.csv")


def test_run_page_updates_live_without_reloading(server, browser):
    tok = server.token()
    rid = create_run(server, tok, name="live")[1]["reference_id"]
    push(server, tok, rid)
    _open(browser, f"{server.url}/runs/{rid}#token={tok}", "run")
    assert browser.evaluate("document.querySelector('dd[data-key=\"Requests\"]').textContent") == "20"
    browser.evaluate("window.sameDocument = true")
    stop = threading.Event()

    def keep_pushing():
        while not stop.wait(0.3):
            push(server, tok, rid)

    pusher = threading.Thread(target=keep_pushing, daemon=True)
    pusher.start()
    try:
        browser.wait_for("Number(document.querySelector('dd[data-key=\"Requests\"]').textContent) >= 60", timeout=30)
        endpoint_requests = browser.wait_for(
            "Number(document.querySelector('#endpoints tbody tr').cells[3].textContent) >= 60 && "
            "Number(document.querySelector('#endpoints tbody tr').cells[3].textContent)"
        )
        assert endpoint_requests >= 60
    finally:
        stop.set()
        pusher.join()
    assert browser.evaluate("window.sameDocument") is True


def test_runs_list_search_filter_pagination_delete_and_compare(server, browser):
    tok = server.token("list <u>project</u>")
    a = endpoint_run(server, tok, name="alpha <b>one</b>")
    finish(server, tok, a)
    b = endpoint_run(server, tok, name="alpha two", scale=2)
    finish(server, tok, b)
    others = [create_run(server, tok, name=f"beta {i}")[1]["reference_id"] for i in range(3)]

    _open(browser, f"{server.url}/?limit=20#token={tok}", "runs")
    assert browser.evaluate("document.getElementById('project').textContent") == "project list <u>project</u>"
    assert browser.evaluate("document.querySelectorAll('#runs-section u, #runs-section b').length") == 0
    assert browser.evaluate("document.getElementById('page-info').textContent") == "1–5 of 5"

    def ids():
        return browser.evaluate("Array.from(document.querySelectorAll('#runs tbody tr')).map((tr) => tr.dataset.runId)")

    def set_value(element_id, value, event):
        browser.evaluate(
            f"(() => {{ const e = document.getElementById({json.dumps(element_id)}); e.value = {json.dumps(value)}; "
            f"e.dispatchEvent(new Event({json.dumps(event)})); }})()"
        )

    def settle(expr):
        browser.wait_for(expr)
        return ids()

    # search (typing), then the state filter
    set_value("q", "ALPHA", "input")
    assert settle("document.getElementById('page-info').textContent === '1–2 of 2'") == [b, a]
    assert "q=ALPHA" in browser.evaluate("location.search")
    set_value("state-filter", "created", "change")
    settle("document.getElementById('page-info').textContent === '0–0 of 0'")
    assert browser.evaluate("document.getElementById('no-match').hidden") is False
    set_value("q", "", "input")
    assert settle("document.getElementById('page-info').textContent === '1–3 of 3'") == list(reversed(others))

    # pagination: 20 per page is the smallest choice; make more runs than that
    set_value("state-filter", "", "change")
    many = [create_run(server, tok, name=f"gamma {i}")[1]["reference_id"] for i in range(18)]
    settle("document.getElementById('page-info').textContent === '1–20 of 23'")
    assert browser.evaluate("document.getElementById('prev').disabled") is True
    browser.evaluate("document.getElementById('next').click()")
    assert settle("document.getElementById('page-info').textContent === '21–23 of 23'") == [others[0], b, a]
    assert browser.evaluate("document.getElementById('next').disabled") is True
    browser.evaluate("document.getElementById('prev').click()")
    assert settle("document.getElementById('page-info').textContent === '1–20 of 23'")[0] == many[-1]

    # delete one run (confirmed); it is gone from the list and the API
    browser.evaluate("document.getElementById('next').click()")
    settle("document.getElementById('page-info').textContent === '21–23 of 23'")
    browser.click(f'button.delete[data-run-id="{others[0]}"]')
    assert f"#{others[0]}" in browser.accept_dialog()
    assert settle("document.getElementById('page-info').textContent === '21–22 of 22'") == [b, a]
    assert server.get(f"/api/v1/runs/{others[0]}", tok)[0] == 404

    # pick two runs and compare them
    assert browser.evaluate("document.getElementById('compare-selected').disabled") is True
    for rid in (b, a):
        browser.evaluate(f"document.querySelector('input.pick[data-run-id=\"{rid}\"]').click()")
    assert browser.evaluate("document.getElementById('compare-selected').disabled") is False
    browser.evaluate("document.getElementById('compare-selected').click()")
    browser.wait_for("document.body && document.body.dataset.loaded === 'compare'")
    assert browser.evaluate("location.pathname + location.search") == f"/compare?a={a}&b={b}"
    cmp = server.get(f"/api/v1/compare?a={a}&b={b}", tok)[1]
    heading = browser.evaluate("document.querySelector('.versus').textContent")
    assert f"#{a} alpha <b>one</b>" in heading and f"#{b} alpha two" in heading
    assert browser.evaluate("document.querySelectorAll('.versus b').length") == 0
    shown = {
        r["key"]: r["cells"]
        for r in browser.evaluate(
            "Array.from(document.querySelectorAll('#compare-metrics tbody tr'))"
            ".map((tr) => ({key: tr.dataset.key, cells: Array.from(tr.cells).map((td) => td.textContent)}))"
        )
    }
    assert shown["requests"] == ["Requests", "34", "67", "+33", "+97.1 %"]
    for m in cmp["metrics"]:
        if m["key"] in ("p50", "p95", "p99"):
            assert _rounded(shown[m["key"]][1], m["a"]) and _rounded(shown[m["key"]][2], m["b"])
    eps = _table(browser, "compare-endpoints")
    fast = next(r for r in eps if r[0] == "http://t/fast")
    assert fast[3:6] == ["30", "60", "+30"]
    assert browser.evaluate("document.getElementById('swap').getAttribute('href')") == f"/compare?a={b}&b={a}"
    assert (
        any(r[0] == HTML_NAME for r in eps)
        and browser.evaluate("document.querySelectorAll('#compare-endpoints img').length") == 0
    )


def test_stop_button_stops_the_run_end_to_end(server, browser):
    """The click reaches the service's stop endpoint: the run is stopped by the user, and the page says so."""
    tok = server.token()
    rid = endpoint_run(server, tok, name="to stop")
    _open(browser, f"{server.url}/runs/{rid}#token={tok}", "run")
    browser.click("#stop")
    browser.accept_dialog()
    browser.wait_for("document.getElementById('stop').dataset.requested === '1'")
    detail = server.run(tok, rid)
    assert detail["stopped"] is True and detail["abort_reason"] == "stopped by user"
    text = browser.wait_for(
        "!document.getElementById('stopped').hidden && document.getElementById('stopped').textContent"
    )
    assert text == "Stopped: stopped by user"
    assert browser.evaluate("document.getElementById('stop').hidden") is True
