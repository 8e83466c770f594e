"""Real servers for tests and benchmarks: a process on a free port of 127.0.0.1, ready within a deadline.

Subclass :class:`ServiceProcess` with the server's ``name``, its ``command()``
and how to tell it is ready (``ready_path`` and ``ready_status`` for an HTTP
check, or override :meth:`ServiceProcess.ready`); :meth:`ServiceProcess.start`
runs it in its own session with its log in ``workdir`` and waits, and
:meth:`ServiceProcess.stop` ends its whole process group. A stopped server can be
started again on the same port and data, which is how tests simulate an outage.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from .ports import free_port

__all__ = ["ServiceProcess", "find_binary", "http_call"]

S = TypeVar("S", bound="ServiceProcess")

_UNVERIFIED = ssl.create_default_context()
_UNVERIFIED.check_hostname = False
_UNVERIFIED.verify_mode = ssl.CERT_NONE


def find_binary(name: str) -> str | None:
    """The path of the server binary ``name``: on PATH, else in /usr/sbin or /usr/bin (Debian's); None if missing."""
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)


def http_call(
    method: str,
    url: str,
    data: bytes | None = None,
    *,
    timeout: float = 10.0,
    auth: tuple[str, str] | None = None,
) -> tuple[int, bytes]:
    """One HTTP(S) request to a test server: (status, body), also for 4xx/5xx; a self-signed certificate is accepted.

    ``auth`` is (user, password) for Basic authentication. A refused or
    timed-out connection raises :class:`OSError`.
    """
    req = urllib.request.Request(url, data=data, method=method)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=_UNVERIFIED) as resp:
            status: int = resp.status
            return status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class ServiceProcess:
    """A server process in its own session, listening on :attr:`port` (a free port of 127.0.0.1).

    ``workdir`` (made if missing) holds its config, data and log.
    Subclasses set :attr:`name` and implement :meth:`command`; the default
    :meth:`ready` asks ``GET url + ready_path`` for ``ready_status``. Its
    output goes to :attr:`log_path` (``<workdir>/<name>.log``, appended to
    across restarts). Use it as a context manager, or :meth:`start` and
    :meth:`stop` (idempotent).
    """

    name = "server"
    """Names the log file and the server in error messages."""
    start_timeout = 30.0
    """Seconds :meth:`start` waits for :meth:`ready`."""
    stop_timeout = 10.0
    """Seconds :meth:`stop` waits after SIGTERM before SIGKILL."""
    ready_path = "/"
    ready_status = 200

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / f"{self.name}.log"

    @property
    def scheme(self) -> str:
        """``http`` (override for a server on HTTPS)."""
        return "http"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The server's command line (run with ``workdir`` as its directory)."""
        raise NotImplementedError

    def ready(self) -> bool:
        """True when the server answers; an :class:`OSError` counts as not yet."""
        return http_call("GET", self.url + self.ready_path, timeout=1)[0] == self.ready_status

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop` while the process lives."""
        return self.proc is not None and self.proc.poll() is None

    def start(self: S, timeout: float | None = None) -> S:
        """Start (or restart on the same port and data) and wait until :meth:`ready`, at most ``timeout`` seconds.

        Raises :class:`RuntimeError` with the end of the log when the process
        exits or is not ready in time (then it is stopped).
        """
        if self.proc is not None:
            raise RuntimeError(f"{self.name} is already running")
        wait = self.start_timeout if timeout is None else timeout
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                raise RuntimeError(f"{self.name} exited with {code}: {self.log_tail()}")
            try:
                if self.ready():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.url} within {wait}s: {self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after :attr:`stop_timeout` seconds."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(5)

    def log_tail(self, n: int = 3000) -> str:
        """The last ``n`` characters of the server's log ("" when there is none)."""
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
