"""Learning that the run was stopped in the service: polling ``GET /v1/test-progress/{ref}``.

A stop (the run page's Stop button, ``horde-insights run stop``, abortOnFail on
the merged data of a distributed run) also shows as the push error k6 uses
(HTTP 403, code 4); polling finds it even between pushes, so the test stops
within a few seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .client import CloudClient, ResponseError, TransportError

__all__ = ["StopWatch", "stop_reason"]


def stop_reason(progress: dict[str, Any]) -> str | None:
    """Why the run was stopped according to a test-progress reply, or None while it was not."""
    if not progress.get("stopped"):
        return None
    reason = progress.get("abort_reason")
    return str(reason) if reason else "stopped"


class StopWatch:
    """A daemon thread asking every ``interval`` seconds whether run ``ref`` was stopped; calls ``on_stop(reason)``
    once when it was. A service without the endpoint (404) is asked no further."""

    def __init__(
        self,
        client: CloudClient,
        ref: str,
        interval: float,
        on_stop: Callable[[str], None],
        logger: logging.Logger,
    ) -> None:
        self.client = client
        self.ref = ref
        self.interval = interval
        self.on_stop = on_stop
        self.log = logger
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="horde-cloud-stopwatch", daemon=True)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stop polling; waits up to ``timeout`` for a poll in flight."""
        self._done.set()
        self.client.abort()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.client.close()

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                _, progress = self.client.get_json(f"/v1/test-progress/{self.ref}")
            except ResponseError as exc:
                if exc.status in (404, 405):
                    self.log.debug("cloud: the service has no test-progress endpoint (%s); not polling", exc)
                    return
                self.log.debug("cloud: asking whether the run was stopped failed: %s", exc)
                continue
            except (TransportError, OSError) as exc:
                self.log.debug("cloud: asking whether the run was stopped failed: %s", exc)
                continue
            reason = stop_reason(progress)
            if reason is not None:
                self.on_stop(reason)
                return
