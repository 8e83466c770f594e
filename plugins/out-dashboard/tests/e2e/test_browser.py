"""End to end: `horde run -o web-dashboard` seen by real headless Chromium (DevTools protocol).

The live page is loaded while the run is still going and follows it over Server-Sent Events
to the end; the exported report is then opened from the file with the network switched off.
Both must show the run's numbers: the request count equals what the target counted.
"""

from __future__ import annotations

import http.server
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import report_data
from horde.testing import free_port
from horde.testing.browser import Browser

HORDE = pathlib.Path(sys.executable).with_name("horde")

SCRIPT = """
from horde import http, check, env, sleep
options = {
    "scenarios": {
        "browse": {"executor": "constant-vus", "vus": 2, "duration": "6s", "exec": "browse"},
        "missing": {"executor": "constant-vus", "vus": 1, "duration": "6s", "exec": "missing"},
    },
    "thresholds": {"http_req_duration": ["p(95)<5000"], "http_req_failed": ["rate<0.01"]},
}

async def browse(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
    await sleep(0.05)

async def missing(data):
    res = await http.get(env["TARGET"] + "/missing")
    check(res, {"<b>found</b>": lambda r: r.status == 200})
    await sleep(0.1)
"""


class _Counting(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802
        with _Counting.lock:
            _Counting.count += 1
        body = b"ok" if self.path == "/" else b"missing"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counting_target() -> Iterator[str]:
    _Counting.count = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser(chromium_bin: str, tmp_path: pathlib.Path) -> Iterator[Browser]:
    b = Browser(chromium_bin, tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def _wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"horde ended before serving the dashboard: {proc.communicate()[1][-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def _number(b: Browser, selector: str) -> float:
    return float(b.evaluate(f"document.querySelector({selector!r}).textContent"))


CHARTS = (
    "chart-vus",
    "chart-rate",
    "chart-latency",
    "chart-failures",
    "chart-checks",
    "chart-iterations",
    "chart-thresholds",
)


def _charts_rendered(b: Browser) -> None:
    for chart in CHARTS:
        rendered = b.evaluate(f"document.getElementById('{chart}').dataset.rendered")
        points = int(b.evaluate(f"document.getElementById('{chart}').dataset.points"))
        canvas = b.evaluate(f"!!document.querySelector('#{chart} .uplot canvas')")
        assert rendered == "1" and points > 0 and canvas, chart


def _page_shows_the_run(b: Browser, requests: int) -> None:
    """Charts, per-scenario panels and the summary of a finished run, with the target's request count."""
    _charts_rendered(b)
    assert _number(b, '[data-key="requests"]') == requests
    assert float(b.evaluate("document.querySelector('tr[data-metric=\"http_reqs\"] td:last-child').dataset.count")) == (
        requests
    )
    scenarios = b.evaluate("[...document.querySelectorAll('#scenarios .panel h3')].map(e => e.textContent)")
    assert scenarios == ["scenario browse", "scenario missing"]
    per_scenario = b.evaluate(
        "[...document.querySelectorAll('#scenarios [data-stat=\"requests\"]')].map(e => Number(e.textContent))"
    )
    assert sum(per_scenario) == requests and all(n > 0 for n in per_scenario)
    assert b.evaluate("document.querySelectorAll('#scenarios .uplot canvas').length") >= 2
    checks = b.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#checks tr[data-check]')]"
        ".map(r => [r.dataset.check, [...r.cells].slice(1, 3).map(c => Number(c.textContent))]))"
    )
    assert set(checks) == {"status is 200", "<b>found</b>"}  # shown as text, never parsed as HTML
    assert checks["<b>found</b>"][0] == 0 and checks["<b>found</b>"][1] > 0
    assert sum(p + f for p, f in checks.values()) == requests
    assert b.evaluate("document.querySelectorAll('#checks b').length") == 0
    thresholds = b.evaluate(
        "[...document.querySelectorAll('#thresholds tr[data-threshold]')].map(r => [r.dataset.threshold, r.dataset.ok])"
    )
    assert sorted(thresholds) == [["http_req_duration p(95)<5000", "1"], ["http_req_failed rate<0.01", "0"]]
    labels = b.evaluate(
        "[...document.querySelectorAll('#chart-thresholds .u-legend .u-label')].map(e => e.textContent)"
    )
    assert sorted(labels[1:]) == ["http_req_duration p(95)<5000", "http_req_failed rate<0.01"]


def test_live_dashboard_during_the_run_and_offline_report_after_it(
    counting_target: str, browser: Browser, tmp_path: pathlib.Path
) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    report = tmp_path / "report.html"
    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "K6_WEB_DASHBOARD_PERIOD": "1s"}
    proc = subprocess.Popen(
        [
            str(HORDE),
            "run",
            "-q",
            "-e",
            f"TARGET={counting_target}",
            "-o",
            f"web-dashboard=port={port}&export={report}",
            str(script),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listening(port, proc)
        browser.navigate(f"http://127.0.0.1:{port}/")
        browser.wait_for("Number(document.body.dataset.loaded) >= 2 && document.body.dataset.state === 'running'")
        assert proc.poll() is None, "the run ended before the live page was checked"
        _charts_rendered(browser)
        assert _number(browser, '[data-key="requests"]') > 0
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 99, err[-2000:]  # http_req_failed's threshold fails, by design
    requests = _Counting.count
    assert requests > 20

    # the live page followed the run to its end, over the same event stream
    browser.wait_for("document.body.dataset.state === 'finished'", timeout=30)
    _page_shows_the_run(browser, requests)

    # the report: opened from the file, with the network off, and no request leaves the page
    data = report_data(report)
    assert data["cumulative"]["metrics"]["http_reqs"]["count"] == requests
    browser.set_offline()
    browser.events.clear()
    browser.navigate(report.as_uri())
    browser.wait_for("document.body.dataset.mode === 'report' && Number(document.body.dataset.loaded) >= 5")
    assert browser.evaluate("document.body.dataset.state") == "finished"
    _page_shows_the_run(browser, requests)
    fetched = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert all(url.startswith(("file:", "data:")) for url in fetched), fetched


def test_a_taken_port_is_one_clear_line(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "script.py"
    script.write_text('options = {"iterations": 1}\n\nasync def default(data):\n    pass\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [str(HORDE), "run", "-q", "-o", f"web-dashboard=port={port}", str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"127.0.0.1:{port} is already in use" in lines[0] and "web-dashboard" in lines[0]
    assert "Traceback" not in out.stderr
