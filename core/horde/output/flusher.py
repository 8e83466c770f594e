"""PeriodicFlusher: calls a flush callback on its own thread every period."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["PeriodicFlusher"]

_log = logging.getLogger("horde.output")


class PeriodicFlusher:
    """Runs ``callback`` every ``period`` seconds on one daemon thread.

    Calls never overlap; a slow callback makes later ticks late, never
    concurrent. :meth:`stop` makes one final call, waits for it, and may be
    called any number of times from any thread — but not from inside the
    callback, where it raises ``RuntimeError`` instead of deadlocking. An
    error in a periodic call is logged and counted; one in the final call is
    raised by the first :meth:`stop`.
    """

    def __init__(self, period: float, callback: Callable[[], object], *, name: str = "horde-flusher") -> None:
        if not (isinstance(period, (int, float)) and period > 0):  # also rejects NaN
            raise ValueError(f"metric flush period should be positive but was {_fmt(period)}")
        self.period = float(period)
        self._callback = callback
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._final_error: BaseException | None = None
        self.errors = 0
        """How many periodic flushes raised (the first is logged)."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.period):
                try:
                    self._callback()
                except Exception:  # keep flushing; the error is the output's to report
                    self.errors += 1
                    if self.errors == 1:
                        _log.exception(
                            "flush callback of %s failed (later failures are only counted)", self._thread.name
                        )
            try:
                self._callback()
            except BaseException as exc:
                self._final_error = exc
        finally:
            self._done.set()

    def stop(self) -> None:
        """Stop ticking, run the callback one last time, and return when it has finished."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("PeriodicFlusher.stop() called from inside its own flush callback")
        self._stop.set()
        self._done.wait()
        with self._lock:
            exc, self._final_error = self._final_error, None
        if exc is not None:
            raise exc

    @property
    def running(self) -> bool:
        """True until the final flush has finished."""
        return not self._done.is_set()


def _fmt(period: object) -> str:
    return f"{period}s" if isinstance(period, (int, float)) else repr(period)
