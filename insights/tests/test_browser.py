"""The web UI in real headless Chromium: runs list and run page, states, charts, escaping."""

import re
import subprocess
import threading
import time

from helpers import create_run, finish, push

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,2000"]


def dump_dom(chromium, url, profile):
    out = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=4000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


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
