"""Interrupting script code that holds the event loop past its deadline (k6's interrupted iterations).

The event loop can only enforce ``duration``, ``gracefulStop`` and signals
when it runs. Script code that never returns to it — ``while True: pass``,
``time.sleep(100)``, a blocking client — is stopped by this watchdog: a
thread notices that the loop's heartbeat (:class:`~horde.engine.pacing.Pacer`)
is stale while a deadline has passed, and sends the main thread
:data:`INTERRUPT_SIGNAL`. Its handler raises :class:`VUInterrupted` only when
script code is running (a frame of the script file is on the stack) and the
running VU is past its deadline (or everything is being stopped): the
iteration ends as interrupted, the VU is abandoned and counted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from ..vustate import current_vu
from .pacing import Pacer

__all__ = ["INTERRUPT_SIGNAL", "STALE_AFTER", "VUInterrupted", "Watchdog", "script_running"]

_log = logging.getLogger("horde.run")

INTERRUPT_SIGNAL: signal.Signals | None = getattr(signal, "SIGUSR1", None)
"""The signal the watchdog sends the main thread to interrupt script code (None where there is none)."""

STALE_AFTER = 0.2
"""Seconds without a heartbeat after which the loop counts as stuck."""

CHECK_PERIOD = 0.05
"""Seconds between two looks of the watchdog thread."""

HOPELESS_AFTER = 5.0
"""Seconds script code may go on holding the loop while being interrupted before ``on_hopeless`` is called."""


class VUInterrupted(asyncio.CancelledError):
    """Raised inside script code that ran past its deadline: the iteration is interrupted."""


def script_running(frame: FrameType | None, script_file: str) -> bool:
    """True if a frame of ``script_file`` is on the stack that ``frame`` ends."""
    while frame is not None:
        if frame.f_code.co_filename == script_file:
            return True
        frame = frame.f_back
    return False


def _in_handler(frame: FrameType | None) -> bool:
    """True inside another signal handler of horde (a Ctrl-C's): that one must run to its end."""
    while frame is not None:
        if frame.f_code.co_name in ("_on_signal", "_exit_now", "_emergency_exit"):
            return True
        frame = frame.f_back
    return False


class Watchdog:
    """Watches one event loop (running on the main thread) and interrupts stuck script code.

    Deadlines live on the VUs (:attr:`VUState.deadline`); :meth:`arm` tells the
    watchdog the earliest one so it stays idle before; :meth:`interrupt_all`
    makes every VU's deadline now (a signal, an abort, a stop request).
    """

    def __init__(self, pacer: Pacer, script_file: str, on_hopeless: Callable[[], None] | None = None) -> None:
        self.pacer = pacer
        self.script_file = script_file
        self.on_hopeless = on_hopeless
        """Called (on the watchdog thread) when script code swallowed interruptions for :data:`HOPELESS_AFTER`."""
        self.interrupted = 0
        """Iterations this watchdog interrupted."""
        self.armed = math.inf
        self._all = False
        self._raised_at = 0.0
        self._disarmed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: Any = None
        self._installed = False

    def start(self) -> None:
        """Install the signal handler (main thread only; elsewhere the watchdog stays passive) and start watching."""
        if INTERRUPT_SIGNAL is None or not hasattr(signal, "pthread_kill"):
            _log.debug("watchdog: no signal to interrupt script code on this platform")
            return
        if threading.current_thread() is not threading.main_thread():
            _log.debug("watchdog: not on the main thread, stuck script code cannot be interrupted")
            return
        self._previous = signal.signal(INTERRUPT_SIGNAL, self._on_signal)
        self._installed = True
        self._main_ident = threading.main_thread().ident
        self._thread = threading.Thread(target=self._watch, name="horde-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and restore the previous signal handler."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._installed and INTERRUPT_SIGNAL is not None:
            signal.signal(INTERRUPT_SIGNAL, self._previous)
            self._installed = False

    def arm(self, deadline: float) -> None:
        """A VU must be interrupted if still running at ``deadline`` (``time.monotonic()``)."""
        if deadline < self.armed:
            self.armed = deadline

    def interrupt_all(self) -> None:
        """From now on every VU is past its deadline (safe from any thread and signal handler)."""
        self._all = True
        self.armed = 0.0

    def disarm(self) -> None:
        """Interrupt nothing any more (the process is exiting)."""
        self._disarmed = True
        self._stop.set()

    def _watch(self) -> None:
        pacer, main = self.pacer, self._main_ident
        while not self._stop.wait(CHECK_PERIOD):
            now = time.monotonic()
            if now >= self.armed and now - pacer.alive > STALE_AFTER:
                raised = self._raised_at
                if raised and pacer.alive < raised and now - raised > HOPELESS_AFTER and self.on_hopeless:
                    self.on_hopeless()  # interrupted, yet the loop never came back
                    return
                try:
                    signal.pthread_kill(main, INTERRUPT_SIGNAL)  # type: ignore[arg-type]  # set when watching
                except (OSError, ValueError):
                    return

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._disarmed or not script_running(frame, self.script_file) or _in_handler(frame):
            return
        vu = current_vu.get(None)
        deadline = getattr(vu, "deadline", math.inf)
        if self._all or time.monotonic() >= deadline:
            self.interrupted += 1
            if self._raised_at < self.pacer.alive:
                self._raised_at = time.monotonic()  # the first interruption since the loop last ran
            raise VUInterrupted("the iteration ran past its deadline and was interrupted")
