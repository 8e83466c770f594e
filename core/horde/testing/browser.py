"""Headless Chromium driven through the Chrome DevTools protocol over a pipe (``--remote-debugging-pipe``).

For browser tests of pages (a web dashboard, a results service): open a page, evaluate JavaScript
in it, wait until an expression holds, read its DOM, click, accept dialogs, intercept requests,
download files, go offline. No websocket library: Chromium reads commands on file descriptor 3
and writes replies and events on descriptor 4, one JSON message ending in a NUL byte each.

Every wait has a deadline; a browser that refuses a command or stops answering fails the test
with a :class:`BrowserError` naming what it waited for::

    with Browser(chromium, tmp_path / "profile") as page:
        page.navigate(url)
        page.wait_for("document.body.dataset.loaded === 'run'")
        assert page.evaluate("document.title") == "horde"
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FLAGS", "Browser", "BrowserError", "dump_dom"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,2000",
)
"""Chromium's command-line flags for a quiet headless browser (the pipe and profile flags are added)."""

_READ_CHUNK = 1 << 20


class BrowserError(AssertionError):
    """The browser refused a command, did not answer in time, or went away."""


class _NoAnswer(BrowserError):
    """No message arrived before a deadline."""


def _onto_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: Chromium's pipe ends onto fds 3 and 4 (through high numbers, so neither overwrites the other)."""
    high_read, high_write = os.dup2(os.dup(read_end), 100), os.dup2(os.dup(write_end), 101)
    os.dup2(high_read, 3)
    os.dup2(high_write, 4)


class Browser:
    """One headless Chromium with one page (a flattened session); :meth:`close` (or ``with``) ends it.

    ``downloads``: a directory where the page's downloads land (see :meth:`downloaded`);
    ``env``: variables added to Chromium's environment (``TZ``, for instance).
    Events that arrive while waiting for replies are kept in :attr:`events`.
    """

    def __init__(
        self,
        chromium: str,
        profile: Path,
        *,
        downloads: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4),  # kept open past close_fds once _onto_3_and_4 put the pipe ends there
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            preexec_fn=lambda: _onto_3_and_4(to_chrome_r, from_chrome_w),  # noqa: PLW1509
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.downloads = downloads
        self.events: list[dict[str, Any]] = []
        """Events received and not yet consumed by :meth:`next_event`, oldest first."""
        self.session = ""
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.send("Page.enable")
            self.send("Runtime.enable")
            if downloads is not None:
                self.send(
                    "Browser.setDownloadBehavior",
                    {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
                    browser=True,
                )
        except BaseException:
            self.close()
            raise

    # -- the protocol ------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise _NoAnswer("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, _READ_CHUNK)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(
        self, method: str, params: Mapping[str, Any] | None = None, *, browser: bool = False, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send one command to the page (to the browser itself with ``browser=True``); its result."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": dict(params or {})}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._read_message(deadline)
            except _NoAnswer:
                raise _NoAnswer(f"{method}: no reply from Chromium within {timeout} s") from None
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds`` into :attr:`events`."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except _NoAnswer:
            pass

    def next_event(self, method: str, timeout: float = 15.0) -> dict[str, Any]:
        """The params of the first kept (or next arriving) event named ``method``; it is consumed."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    params: dict[str, Any] = self.events.pop(i).get("params", {})
                    return params
            try:
                self.events.append(self._read_message(deadline))
            except _NoAnswer:
                raise _NoAnswer(f"no {method} event within {timeout} s") from None

    # -- the page ----------------------------------------------------------------------------------
    def navigate(self, url: str) -> None:
        """Navigate the page to ``url`` (returns once the navigation starts; wait for the page with :meth:`wait_for`)."""
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        """The JSON value of a JavaScript expression in the page (a promise is awaited); a thrown error fails."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll ``expression`` until it is truthy; its value (BrowserError with the last value after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while True:
            try:
                value = self.evaluate(expression)
            except _NoAnswer:
                raise
            except BrowserError:  # the page may be between documents
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"{expression} stayed {value!r} for {timeout} s")
            time.sleep(0.1)

    def html(self) -> str:
        """The page's DOM as HTML (what ``chromium --dump-dom`` prints)."""
        return str(self.evaluate("document.documentElement.outerHTML"))

    def click(self, selector: str) -> None:
        """Click the element ``selector`` from a timer, so a ``confirm()`` it opens does not block this call."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "if (e) setTimeout(() => e.click(), 0); return Boolean(e); })()"
        )
        if not found:
            raise BrowserError(f"no element {selector}")

    def accept_dialog(self, timeout: float = 15.0) -> str:
        """Accept the next ``confirm()`` or ``alert()``; its message."""
        opened = self.next_event("Page.javascriptDialogOpening", timeout)
        self.send("Page.handleJavaScriptDialog", {"accept": True})
        return str(opened["message"])

    def set_offline(self, offline: bool = True) -> None:
        """Cut the page off the network (or connect it again); ``Network`` events are kept in :attr:`events`."""
        self.send("Network.enable")
        self.send(
            "Network.emulateNetworkConditions",
            {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

    def downloaded(self, name: str, timeout: float = 20.0) -> bytes:
        """The content of the download ``name`` once complete (needs ``downloads`` given at start)."""
        if self.downloads is None:
            raise BrowserError("the browser was started without a downloads directory")
        path = self.downloads / name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and not any(self.downloads.glob("*.crdownload")):
                return path.read_bytes()
            time.sleep(0.1)
        raise BrowserError(f"no download {name} in {self.downloads} within {timeout} s")

    # -- the end -----------------------------------------------------------------------------------
    def close(self) -> None:
        """End the browser: asked first, killed after 10 s."""
        if self.proc.poll() is None and self._to_chrome >= 0:
            try:
                self.send("Browser.close", browser=True, timeout=5)
            except (OSError, BrowserError):
                pass
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self._to_chrome = self._from_chrome = -1
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def dump_dom(chromium: str, url: str, profile: Path, ready: str = "document.body.dataset.loaded") -> str:
    """The DOM of the page at ``url`` once ``ready`` holds (like ``--dump-dom``, which never ends on a page that
    holds an EventSource open)."""
    with Browser(chromium, profile) as page:
        page.navigate(url)
        page.wait_for(f"document.readyState === 'complete' && ({ready})")
        time.sleep(0.3)  # charts draw in the same task; one more turn for anything queued
        return page.html()
