"""Driving one output through the hook contract as a run does, with a deadline on every call."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import RunError
from ..metrics import SampleContainer
from ..output.binding import OutputInstance, bind_output, new_plugin_manager
from ..runstatus import RunStatus
from .compare import CheckFailed
from .readback import OutputUnderTest

__all__ = ["CALL_TIMEOUT", "Driven", "Worker", "threads_now"]

CALL_TIMEOUT = 30.0
"""Seconds any hook but ``stop`` may take before the check fails."""

_KIT_THREAD = "horde-kit-"


def threads_now() -> set[threading.Thread]:
    """The live threads, less the kit's own."""
    return {t for t in threading.enumerate() if not t.name.startswith(_KIT_THREAD)}


class Worker:
    """A thread that runs the calls given to it one at a time: the run's main thread or a delivery thread."""

    def __init__(self, role: str) -> None:
        self.role = role
        self._calls: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=_KIT_THREAD + role, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            fn, reply = item
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # handed to the caller
                reply.put((False, exc))

    def submit(self, fn: Callable[[], Any]) -> queue.Queue[tuple[bool, Any]]:
        """Queue ``fn``; the returned queue gets ``(ok, result or exception)``."""
        reply: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._calls.put((fn, reply))
        return reply

    def call(self, what: str, fn: Callable[[], Any], timeout: float = CALL_TIMEOUT) -> Any:
        """Run ``fn`` on this thread and return its result; fail the check after ``timeout`` seconds."""
        return wait(self.submit(fn), what, timeout)

    def close(self) -> None:
        """End the thread once the queued calls are done (a call stuck past its deadline is abandoned)."""
        self._calls.put(None)
        self._thread.join(1.0)


def wait(reply: queue.Queue[tuple[bool, Any]], what: str, timeout: float) -> Any:
    """The result of a submitted call; raises its exception, or :class:`CheckFailed` after ``timeout``."""
    try:
        ok, value = reply.get(timeout=timeout)
    except queue.Empty:
        raise CheckFailed(f"{what} did not return within {timeout:g} s") from None
    if not ok:
        raise value
    return value


class Driven:
    """One output object driven by the kit: a 'main' thread for the run's calls, a 'delivery' thread for samples.

    Hooks are called on the threads the contract names: ``description``, ``set_thresholds``,
    ``set_test_run_stop``, ``start`` and ``set_run_status`` on the main thread; ``add_samples``
    and ``stop`` on the delivery thread; ``report`` on the main thread after ``stop``.
    """

    def __init__(self, uut: OutputUnderTest) -> None:
        self.uut = uut
        self.threads_before = threads_now()
        self.main = Worker("main")
        self.delivery = Worker("delivery")
        self.stop_requests: list[BaseException | str | None] = []
        self.stopped = True  # nothing to stop until start() is called
        try:
            obj = self.main.call("building the output", uut.build)
            if obj is None:
                raise CheckFailed("build() returned None instead of an output object")
            self.instance: OutputInstance = bind_output(uut.name, obj, new_plugin_manager())
        except BaseException:
            self.close()
            raise

    @property
    def hooks(self) -> Mapping[str, Callable[..., Any]]:
        return self.instance.hooks

    def has(self, hook: str) -> bool:
        return hook in self.instance.hooks

    def description(self) -> str:
        text = self.main.call("description()", self.hooks["description"])
        if not isinstance(text, str) or not text:
            raise CheckFailed(f"description() returned {text!r}, not a non-empty str")
        return text

    def _request_stop(self, error: BaseException | str | None = None) -> None:
        self.stop_requests.append(error)

    def start(self, thresholds: Mapping[str, Sequence[Any]] | None = None) -> None:
        """``set_thresholds`` and ``set_test_run_stop`` when implemented, then ``start``."""
        if self.has("set_thresholds"):
            self.main.call("set_thresholds()", lambda: self.hooks["set_thresholds"](thresholds or {}))
        if self.has("set_test_run_stop"):
            self.main.call("set_test_run_stop()", lambda: self.hooks["set_test_run_stop"](self._request_stop))
        self.main.call("start()", self.hooks["start"])
        self.stopped = False  # started: close() stops it if the check fails before stop

    def status(self, status: RunStatus) -> None:
        if self.has("set_run_status"):
            self.main.call(f"set_run_status({status.name})", lambda: self.hooks["set_run_status"](status))

    def add(self, batch: Sequence[SampleContainer]) -> None:
        """``add_samples(batch)`` on the delivery thread; an exception fails the check."""
        self.delivery.call("add_samples()", lambda: self.hooks["add_samples"](batch))

    def add_all(self, batches: Iterable[Sequence[SampleContainer]]) -> None:
        for batch in batches:
            self.add(batch)

    def stop(self, error: RunError | None = None, timeout: float | None = None) -> None:
        """``stop(error)`` on the delivery thread, within the output's stop deadline."""
        self.stopped = True
        limit = self.uut.stop_timeout if timeout is None else timeout
        self.delivery.call(f"stop({'error' if error else 'None'})", lambda: self.hooks["stop"](error), limit)

    def report(self) -> Mapping[str, int] | None:
        """``report()`` when implemented, checked to be None or a dict of str -> non-negative int."""
        if not self.has("report"):
            return None
        counts = self.main.call("report()", self.hooks["report"])
        if counts is None:
            return None
        if not isinstance(counts, Mapping):
            raise CheckFailed(f"report() returned {counts!r}, not a dict of counts or None")
        for key, value in counts.items():
            if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CheckFailed(f"report() returned {key!r}: {value!r}; counts are str -> non-negative int")
        return counts

    def run(
        self,
        batches: Iterable[Sequence[SampleContainer]],
        error: RunError | None = None,
        thresholds: Mapping[str, Sequence[Any]] | None = None,
        stop_timeout: float | None = None,
    ) -> None:
        """A whole run: start, statuses, every batch, the final status, stop, report."""
        self.description()
        self.start(thresholds)
        self.status(RunStatus.INITIALIZING)
        self.status(RunStatus.RUNNING)
        self.add_all(batches)
        self.status(error.run_status if error is not None else RunStatus.FINISHED)
        self.stop(error, stop_timeout)
        self.report()
        self.description()

    def close(self) -> None:
        """End the kit's threads; stop the output first if a failed check left it running."""
        if not self.stopped:
            self.stopped = True
            try:
                self.delivery.call("stop() after a failed check", lambda: self.hooks["stop"](None), 10.0)
            except BaseException:  # the check already failed; this is cleanup only
                pass
        self.main.close()
        self.delivery.close()

    def new_threads(self, grace: float) -> list[threading.Thread]:
        """Threads started since the output was built that are still alive after ``grace`` seconds."""
        import time

        deadline = time.monotonic() + grace
        left = [t for t in threads_now() - self.threads_before if t.is_alive()]
        for t in left:
            t.join(max(0.0, deadline - time.monotonic()))
        return [t for t in left if t.is_alive()]
