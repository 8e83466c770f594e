"""A small client of the Insights API for the ``horde-insights run …`` and ``wait`` commands.

Every call has a timeout; a service that cannot be reached, or answers an error, is one
:class:`ClientError` naming the URL and the service's message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

__all__ = ["ClientError", "InsightsClient", "exit_code_of", "THRESHOLDS_HAVE_FAILED", "CLOUD_TEST_RUN_FAILED"]

THRESHOLDS_HAVE_FAILED = 99
"""k6's (and horde's ``ExitCode.THRESHOLDS_HAVE_FAILED``) exit code when thresholds were crossed."""
CLOUD_TEST_RUN_FAILED = 97
"""k6's (and horde's ``ExitCode.CLOUD_TEST_RUN_FAILED``) exit code when a cloud run failed or timed out."""

_ENDED = frozenset({3, 4, 5, 6, 7, 8, 9})


class ClientError(Exception):
    """The service could not be reached or refused the call; the message says which and why."""


class InsightsClient:
    """Calls of one service (``url``) with one token."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One JSON call; the decoded reply (``{}`` when empty)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Token {self.token}", "User-Agent": "horde-insights-cli"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise ClientError(f"{method} {self.url}{path}: HTTP {err.code}: {_message(err.read())}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach Insights at {self.url}: {reason}") from None
        try:
            out = json.loads(raw or b"{}")
        except ValueError:
            raise ClientError(f"{method} {self.url}{path}: the reply is not JSON") from None
        return out if isinstance(out, dict) else {"value": out}

    def follow(
        self,
        run_id: str,
        *,
        interval: float,
        deadline: float,
        on_change: Callable[[dict[str, Any]], None],
        retry_for: float = 60.0,
    ) -> dict[str, Any]:
        """Poll the run's progress until it ended (its last progress reply) or ``deadline`` (monotonic)
        passed (ClientError); a service unreachable for ``retry_for`` seconds is a ClientError too."""
        last_key = None
        failing_since: float | None = None
        while True:
            try:
                progress = self.call("GET", f"/v1/test-progress/{run_id}")
                failing_since = None
            except ClientError as exc:
                if "HTTP 4" in str(exc):
                    raise
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > retry_for:
                    raise
                progress = None
            if progress is not None:
                key = (
                    progress.get("run_status"),
                    progress.get("stopped"),
                    tuple(progress.get("instances_finished", [])),
                )
                if key != last_key:
                    on_change(progress)
                    last_key = key
                if progress.get("run_status") in _ENDED:
                    return progress
            if time.monotonic() + interval > deadline:
                raise ClientError(f"run {run_id} has not ended within the --timeout")
            time.sleep(interval)


def exit_code_of(run_status: int, result_status: int | None) -> int:
    """k6's exit code for an ended cloud run: 0 passed, 99 thresholds crossed (finished or aborted by
    threshold), 97 failed otherwise (timed out, aborted by system, script error or limit, or a user
    stop with failed thresholds)."""
    if run_status == 8:
        return THRESHOLDS_HAVE_FAILED
    if run_status in (4, 6, 7, 9):
        return CLOUD_TEST_RUN_FAILED
    if result_status == 1:
        return THRESHOLDS_HAVE_FAILED if run_status == 3 else CLOUD_TEST_RUN_FAILED
    return 0


def _message(raw: bytes) -> str:
    try:
        body = json.loads(raw or b"{}")
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace")[:200] or "no message"
