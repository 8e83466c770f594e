"""setup() once and teardown() once for a run shared by several instances, through an output's coordinator.

The instance whose execution segment starts at 0 is the first: it runs
setup(), publishes the data (JSON, as k6 passes setup data) and, after the
other instances finished, runs teardown(). The others skip both and receive
the first instance's data. Without a coordinator every instance is on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import AbortReason, ExitCode
from ..output import SetupCoordinator, SetupFailed

__all__ = ["SharedLifecycle", "SharedLifecycleError"]

_log = logging.getLogger("horde.run")

T = TypeVar("T")

GRACE = 10.0
"""Seconds past a coordinator call's own timeout after which the engine stops waiting for it (a hung call)."""


class SharedLifecycleError(Exception):
    """setup() could not be shared: ends the run with ``reason`` and ``exit_code``."""

    def __init__(self, message: str, reason: AbortReason, exit_code: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.exit_code = exit_code


async def _in_thread(name: str, timeout: float, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args, timeout)`` on a daemon thread of its own, awaited at most ``timeout`` + :data:`GRACE` seconds
    (then :class:`TimeoutError`); awaiting it can be cancelled (the thread is then abandoned, ending by its own
    deadline), and the process never waits for it at exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn(*args, timeout)
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=work, name=f"horde-{name}", daemon=True).start()
    try:
        done, _ = await asyncio.wait({future}, timeout=timeout + GRACE)
    except asyncio.CancelledError:
        future.cancel()  # the run was aborted: nobody takes the result
        raise
    if not done:
        future.cancel()
        raise TimeoutError(f"{name} did not return within {timeout + GRACE:g}s")
    return future.result()


class SharedLifecycle:
    """Who runs setup() and teardown() in this instance, and the calls that share them with the others."""

    def __init__(self, coordinator: SetupCoordinator | None, first: bool) -> None:
        self.coordinator = coordinator
        self.first = first or coordinator is None

    @property
    def distributed(self) -> bool:
        """True when this instance is one of several sharing a run."""
        return self.coordinator is not None

    async def publish(self, data: Any, timeout: float) -> Any:
        """Publish setup()'s ``data`` to the other instances; return the data this instance uses too."""
        if self.coordinator is None:
            return data
        try:
            text = json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            message = f"setup() returned data that cannot be shared with the other instances as JSON: {exc}"
            await self.publish_error(message, timeout)
            raise SharedLifecycleError(message, AbortReason.SCRIPT_ERROR, ExitCode.SCRIPT_EXCEPTION) from None
        try:
            return await _in_thread("setup-publish", timeout, self.coordinator.publish, json.loads(text))
        except Exception as exc:
            raise SharedLifecycleError(
                f"could not publish setup()'s data to the other instances: {exc}", AbortReason.OUTPUT, ExitCode.GENERIC
            ) from None

    async def publish_error(self, message: str, timeout: float) -> None:
        """Tell the other instances that setup() failed here (a failure to tell them is only logged)."""
        if self.coordinator is None:
            return
        try:
            await _in_thread("setup-publish", timeout, self.coordinator.publish_error, message)
        except Exception as exc:
            _log.error("could not tell the other instances that setup() failed: %s", exc)

    async def receive(self, timeout: float) -> Any:
        """The first instance's setup data, waiting up to ``timeout`` (setupTimeout) for it."""
        assert self.coordinator is not None
        try:
            return await _in_thread("setup-fetch", timeout, self.coordinator.fetch)
        except SetupFailed as exc:
            raise SharedLifecycleError(
                f"setup() failed on the first instance: {exc}", AbortReason.SCRIPT_ERROR, ExitCode.SCRIPT_EXCEPTION
            ) from None
        except TimeoutError:
            raise SharedLifecycleError(
                f"setup() data from the first instance did not arrive within {timeout:g} seconds (setupTimeout)",
                AbortReason.TIMEOUT,
                ExitCode.SETUP_TIMEOUT,
            ) from None
        except Exception as exc:
            raise SharedLifecycleError(
                f"could not receive setup()'s data from the first instance: {exc}", AbortReason.OUTPUT, ExitCode.GENERIC
            ) from None

    async def wait_for_peers(self, timeout: float) -> None:
        """Before teardown(): wait up to ``timeout`` (teardownTimeout) for the other instances to finish."""
        if self.coordinator is None:
            return
        try:
            missing = await _in_thread("teardown-wait", timeout, self.coordinator.wait_for_peers)
        except Exception as exc:
            _log.warning("could not learn whether the other instances finished (%s); running teardown() now", exc)
            return
        if missing:
            _log.warning(
                "instance(s) %s did not finish within %g seconds (teardownTimeout); running teardown() now",
                ", ".join(missing),
                timeout,
            )
