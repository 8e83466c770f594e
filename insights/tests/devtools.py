"""A Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (no websocket library) for the page
tests: events, dialogs, request interception (Fetch) and downloads.

Chromium reads commands on fd 3 and writes replies and events on fd 4, each a
JSON message ending in a NUL byte. Every wait has a deadline; a browser that
stops answering fails the test with a CdpError naming what it waited for.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = [
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
]


def _onto_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: Chromium's pipe ends on fds 3 and 4 (via high numbers, so neither overwrites the other)."""
    a, b = os.dup(read_end), os.dup(write_end)
    high_a, high_b = os.dup2(a, 100), os.dup2(b, 101)
    os.dup2(high_a, 3)
    os.dup2(high_b, 4)


class CdpError(AssertionError):
    """The browser refused a command or did not answer in time."""


class Browser:
    """One headless Chromium with one page (a flattened session); ``close()`` ends it."""

    def __init__(
        self, chromium: str, profile: Path, downloads: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4),  # kept open after _onto_3_and_4 put the pipe ends there
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
        self.events: list[dict] = []
        self.session: str | None = None
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

    # -- protocol ------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("browser did not answer in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise CdpError("browser closed the pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, *, browser: bool = False, timeout: float = 30) -> dict:
        """Send one command to the page (or the browser) and return its result."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except CdpError as err:
            if "in time" not in str(err):
                raise

    def next_event(self, method: str, timeout: float = 15) -> dict:
        """The first collected (or next arriving) event named ``method``; it is consumed."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)["params"]
            self.events.append(self._read_message(deadline))

    # -- page helpers ------------------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def js(self, expression: str, timeout: float = 15) -> Any:
        """Evaluate ``expression`` in the page (promises awaited) and return its JSON value."""
        res = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in res:
            raise CdpError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """Poll ``expression`` until it is truthy; its value (fails with the expression after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.js(expression)
            except CdpError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise CdpError(f"still false after {timeout} s: {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """Click the element ``selector`` from a timer, so a confirm() it opens does not block this call."""
        found = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "if (e) setTimeout(() => e.click(), 0); return Boolean(e); })()"
        )
        if not found:
            raise CdpError(f"no element {selector}")

    def accept_dialog(self, timeout: float = 15) -> str:
        """Accept the next confirm()/alert(); its message."""
        opened = self.next_event("Page.javascriptDialogOpening", timeout)
        self.send("Page.handleJavaScriptDialog", {"accept": True})
        return str(opened["message"])

    def close(self) -> None:
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
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
