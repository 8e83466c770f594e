"""Delivery: the helper a network output uses to lose nothing.

A :class:`Delivery` takes payloads (encoded batches) with :meth:`Delivery.put`,
keeps them in a :class:`~horde.output.spill.SpillQueue` (bounded memory,
spilled to disk beyond it), and sends each with the caller's ``send(payload)``
on its own sender thread(s):

- ``send`` returns: the payload is *written*.
- ``send`` raises :class:`PermanentError`: the destination will never take
  this payload; it is *dropped*, counted under the error's reason.
- ``send`` raises :class:`SplitPayload`: the destination refused its size;
  the parts given are sent instead, in order, before anything else.
- ``send`` raises :class:`DestinationRefused`: the destination refuses all
  data (bad credentials...); sending stops and everything waiting or still
  to come is dropped, counted under its reason.
- ``send`` raises anything else (a network error, a 5xx...): the same payload
  is sent again after an exponential backoff with jitter (:class:`Backoff`;
  :class:`RetryableError` may carry the server's ``Retry-After``). Nothing
  else is sent meanwhile, so after an outage payloads are replayed in order
  (with ``senders=1``; with more, at most ``senders`` payloads overlap).
  Warnings are logged as failures stack up (after 1, 2, 4, 8... failures in a
  row, or every ``warn_every`` seconds), and once when the destination
  answers again.

:meth:`Delivery.close` flushes until an absolute deadline, then interrupts
what is in flight and counts every payload not delivered as dropped;
:meth:`Delivery.finish` is the same for an output's ``stop``, with a stop
timeout and the log lines that tell the user what is left. Counts
(:class:`DeliveryCounts`) are in the caller's unit (points, samples...) and
feed the output's ``report()`` hook.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from .spill import SpillQueue

__all__ = [
    "human_bytes",
    "Backoff",
    "Delivery",
    "DeliveryCounts",
    "DeliverySettings",
    "PayloadCodec",
    "Sender",
    "DestinationRefused",
    "PermanentError",
    "RetryableError",
    "SplitPayload",
]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

_log = logging.getLogger("horde.output.delivery")

UNDELIVERED_AT_CLOSE = "not delivered before the stop deadline"
"""Reason under which :meth:`Delivery.close` counts what it could not deliver."""

_MAX_REASONS = 20
_OTHER_REASONS = "other reasons"


class PermanentError(Exception):
    """Raised by ``send``: this payload will never be accepted (malformed, refused content).

    The payload is dropped and counted under ``reason`` (keep reasons few and
    stable, e.g. ``"HTTP 400"``, not one per payload).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableError(Exception):
    """Raised by ``send``: a failure worth retrying; ``retry_after`` (seconds) is the server's wish, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SplitPayload(Exception):
    """Raised by ``send``: send ``parts`` instead of this payload, in order, before anything else.

    For a destination that refuses a payload as too large (HTTP 413). Each
    part is counted with the ``count`` function given to :class:`Delivery`.
    """

    def __init__(self, parts: Sequence[object], reason: str) -> None:
        super().__init__(reason)
        self.parts = list(parts)
        self.reason = reason


class DestinationRefused(Exception):
    """Raised by ``send``: the destination refuses all data (bad credentials, unknown run).

    Sending stops for good; what waits and what is put later is dropped and
    counted under ``reason``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: the n-th failure in a row waits about ``initial * multiplier**(n-1)``.

    The wait is capped at ``maximum``; a random part (``jitter``, a fraction of
    the wait) spreads retries of many clients apart.
    """

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (self.initial > 0 and self.maximum >= self.initial and self.multiplier >= 1):
            raise ValueError(f"invalid backoff {self}: need 0 < initial <= maximum and multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter should be within [0, 1] but was {self.jitter}")

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failures`` failures in a row (at least ``retry_after``, capped at ``maximum``)."""
        exp = min(max(failures - 1, 0), 64)
        base = min(self.maximum, self.initial * self.multiplier**exp)
        wait = base * (1 - self.jitter) + random.uniform(0, base * self.jitter)
        if retry_after is not None and math.isfinite(retry_after):
            wait = max(wait, min(retry_after, self.maximum))
        return wait


@dataclasses.dataclass(frozen=True)
class DeliveryCounts:
    """What a :class:`Delivery` did, in the caller's unit (points, samples...).

    Everything put is ``written + dropped + waiting``; ``retried`` counts
    units whose first send failed (once each, however often they were sent
    again) and ``spilled`` units that went through the disk.
    """

    written: int
    retried: int
    spilled: int
    dropped: int
    waiting: int
    sends: int
    """Calls of ``send``."""
    failed_sends: int
    """Calls of ``send`` that failed and were retried."""
    splits: int
    dropped_reasons: Mapping[str, int]
    """Units dropped per reason."""
    abandoned: bool
    """True when a sender thread was still busy in ``send`` after :meth:`Delivery.close`."""

    def as_report(self) -> dict[str, int]:
        """``written``, ``retried``, ``spilled`` and ``dropped``: the core of an output's ``report()``."""
        return {"written": self.written, "retried": self.retried, "spilled": self.spilled, "dropped": self.dropped}


@dataclasses.dataclass(frozen=True)
class PayloadCodec(Generic[T]):
    """How a :class:`Delivery` keeps and weighs one kind of payload (for :meth:`Delivery.for_output`).

    ``encode`` and ``decode`` turn a payload into bytes and back, for
    spilling; ``count`` is its weight in ``unit`` (the plural of the counted
    unit: ``"points"``); ``size`` its memory cost in the unit of
    ``memory_limit`` (bytes, usually).
    """

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]
    count: Callable[[T], int]
    size: Callable[[T], int]
    unit: str


class DeliverySettings(Protocol):
    """The options a network output's config gives its :class:`Delivery` (see :meth:`Delivery.for_output`)."""

    @property
    def memory_limit(self) -> int:
        """Payload size units (bytes) kept in memory before spilling to disk."""

    @property
    def spool_path(self) -> str:
        """The directory to spill into (made at start when missing)."""

    @property
    def target(self) -> str:
        """The destination, as log lines name it."""

    @property
    def retry_interval(self) -> float:
        """Seconds before the first retry."""

    @property
    def max_retry_interval(self) -> float:
        """The longest wait between retries, in seconds."""


class Sender(Protocol[T_contra]):
    """A network output's ``send``: delivers one payload or raises (see the module doc); ``abort`` cuts it,
    ``close`` releases its connections."""

    def __call__(self, payload: T_contra, /) -> None:
        """Deliver ``payload`` (called from the delivery's sender threads)."""

    def abort(self) -> None:
        """From any thread: make the send in flight fail now, and every later one."""

    def close(self) -> None:
        """Close the connections (after the last send)."""


class _Slot:
    """The payloads one sender thread holds: the head being sent and the parts of a split."""

    __slots__ = ("abandoned", "work")

    def __init__(self) -> None:
        self.work: collections.deque[tuple[object, int, bool]] = collections.deque()
        """(payload, units, failed before) in sending order."""
        self.abandoned = False
        """Set by close: what this slot holds was counted there; the thread must count nothing more."""


def _one(payload: object) -> int:
    return 1


class Delivery(Generic[T]):
    """Sends payloads in order with retries, keeping what waits in memory up to a bound and on disk beyond.

    ``send(payload)`` delivers one payload or raises (see the module doc);
    with ``senders`` > 1 it is called from several threads at once. ``encode``
    and ``decode`` turn a payload into bytes and back, for spilling.
    ``count(payload)`` is its weight in the caller's unit (default 1) and
    ``size(payload)`` its memory cost in the unit of ``memory_limit`` (default
    1: ``memory_limit`` is then a number of payloads). ``directory`` and
    ``disk_limit`` are the spill queue's. ``name`` prefixes log lines and
    thread names; ``target`` names the destination in them; ``unit`` is the
    plural of the counted unit. ``on_drop(payload, reason)`` is called for every
    payload dropped (to keep it somewhere, e.g. a file to replay); ``interrupt()``
    is called once at the close deadline to make a ``send`` in flight fail fast
    (e.g. close its socket). Sender threads start at once.
    """

    def __init__(
        self,
        send: Callable[[T], None],
        *,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        memory_limit: int,
        count: Callable[[T], int] = _one,
        size: Callable[[T], int] = _one,
        directory: str | os.PathLike[str] | None = None,
        disk_limit: int | None = None,
        name: str = "delivery",
        target: str = "",
        unit: str = "payloads",
        senders: int = 1,
        backoff: Backoff | None = None,
        warn_every: float = 30.0,
        logger: logging.Logger | None = None,
        on_drop: Callable[[T, str], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        if senders < 1:
            raise ValueError(f"senders should be >= 1 but was {senders}")
        self._send = send
        self._count = count
        self._size = size
        self.name = name
        self.target = target or name
        self.unit = unit
        self.backoff = backoff or Backoff()
        self.warn_every = warn_every
        self.log = logger or _log
        self._on_drop = on_drop
        self._interrupt = interrupt
        self._queue: SpillQueue[T] = SpillQueue(
            encode=encode,
            decode=decode,
            memory_limit=memory_limit,
            directory=directory,
            disk_limit=disk_limit,
            name=f"horde-{name}",
        )
        self.directory = os.fspath(directory) if directory is not None else None
        self._lock = threading.Lock()
        self._put_lock = threading.Lock()
        self._abort = threading.Event()
        self._closed = False
        self._finishing = False
        self._refused: str | None = None
        # backoff state shared by the senders: while failing, one sender at a time probes the destination
        self._failures = 0
        self._failing_since = 0.0
        self._next_attempt = 0.0
        self._probing = False
        self._last_warning = 0.0
        self.last_error = ""
        """The last failure, one line ("" if none yet)."""
        # counts, in the caller's unit
        self._queued = 0
        self._in_flight = 0
        self._written = 0
        self._retried = 0
        self._spilled = 0
        self._dropped = 0
        self._reasons: dict[str, int] = {}
        self._sends = 0
        self._failed_sends = 0
        self._splits = 0
        self._permanent_drops = 0
        self._abandoned = False
        self.stop_seconds = 0.0
        """Seconds :meth:`finish` took (0 until then)."""
        self._close_sender: Callable[[], None] | None = None
        self._slots = [_Slot() for _ in range(senders)]
        self._threads = [
            threading.Thread(target=self._run, args=(slot,), name=f"horde-{name}-sender-{i}", daemon=True)
            for i, slot in enumerate(self._slots)
        ]
        for t in self._threads:
            t.start()

    @classmethod
    def for_output(
        cls,
        sender: Sender[T],
        settings: DeliverySettings,
        codec: PayloadCodec[T],
        *,
        name: str,
        logger: logging.Logger | None = None,
        senders: int = 1,
        on_drop: Callable[[T, str], None] | None = None,
    ) -> Delivery[T]:
        """The delivery of a network output, from its config ``settings``: the usual way to make one at ``start``.

        Payloads are sent with ``sender`` (its ``abort`` is the ``interrupt``
        at the close deadline) by ``senders`` threads, kept in memory up to
        ``settings.memory_limit`` and spilled into ``settings.spool_path``
        (made now if missing) beyond, and retried with a :class:`Backoff` from
        ``retry_interval`` up to ``max_retry_interval``. ``name`` prefixes the
        log lines, which name ``settings.target`` and count in ``codec.unit``.
        :meth:`finish` closes ``sender``.
        """
        os.makedirs(settings.spool_path, exist_ok=True)
        first = settings.retry_interval
        delivery = cls(
            sender,
            encode=codec.encode,
            decode=codec.decode,
            count=codec.count,
            size=codec.size,
            memory_limit=settings.memory_limit,
            directory=settings.spool_path,
            name=name,
            target=settings.target,
            unit=codec.unit,
            senders=senders,
            logger=logger,
            on_drop=on_drop,
            interrupt=sender.abort,
            backoff=Backoff(initial=first, maximum=max(first, settings.max_retry_interval)),
        )
        delivery._close_sender = sender.close
        return delivery

    # -- producer -------------------------------------------------------------------------

    def put(self, payload: T) -> bool:
        """Queue ``payload`` for sending (never blocks); False when it was dropped (closed, refused, disk full)."""
        units = self._count(payload)
        with self._put_lock:
            if self._refused is not None:
                self._count_drop(payload, units, self._refused)
                return False
            queue = self._queue
            before, error_before = queue.spilled, queue.disk_error
            with self._lock:
                self._queued += units  # before the put: a sender may take it at once
            if queue.put(payload, self._size(payload)):
                if queue.spilled != before:
                    with self._lock:
                        self._spilled += units
                return True
            with self._lock:
                self._queued -= units
        if queue.closed:
            reason = "put after close"
        elif queue.disk_error is not error_before:
            reason = f"spilling to disk failed: {queue.disk_error}"
        else:
            reason = "spill queue full (disk limit reached)"
        self._count_drop(payload, units, reason)
        return False

    # -- state ------------------------------------------------------------------------------

    @property
    def failing(self) -> bool:
        """True while the last send failed (the destination is being retried)."""
        return self._failures > 0

    @property
    def failures(self) -> int:
        """Failed sends in a row (0 when the last send succeeded)."""
        return self._failures

    @property
    def waiting(self) -> int:
        """Units queued or being sent."""
        return self._queued + self._in_flight

    @property
    def memory_size(self) -> int:
        """Size units in memory (of ``memory_limit``'s unit)."""
        return self._queue.memory_size

    @property
    def disk_bytes(self) -> int:
        """Bytes spilled to disk and waiting."""
        return self._queue.disk_bytes

    def counts(self) -> DeliveryCounts:
        """A snapshot of the counts (see :class:`DeliveryCounts`)."""
        with self._lock:
            return DeliveryCounts(
                written=self._written,
                retried=self._retried,
                spilled=self._spilled,
                dropped=self._dropped,
                waiting=self._queued + self._in_flight,
                sends=self._sends,
                failed_sends=self._failed_sends,
                splits=self._splits,
                dropped_reasons=dict(self._reasons),
                abandoned=self._abandoned,
            )

    def waiting_text(self) -> str:
        """``12345 points waiting (7 payloads, 10.0 MB spilled to disk)``: for log lines."""
        q = self._queue
        text = f"{self.waiting} {self.unit} waiting ({len(q)} queued"
        if q.disk_bytes:
            where = f" in {self.directory}" if self.directory else ""
            text += f", {human_bytes(q.disk_bytes)} spilled to disk{where}"
        if q.disk_error:
            text += f"; spilling failed: {q.disk_error}"
        return text + ")"

    # -- sender threads -------------------------------------------------------------------

    def _run(self, slot: _Slot) -> None:
        queue = self._queue
        while not (self._abort.is_set() or self._refused is not None):
            try:
                payload = queue.get(timeout=0.5)
            except Exception:  # decode failed: a bug of the output; close counts the payload as lost
                self.log.exception("%s: a spilled payload could not be read back", self.name)
                continue
            if payload is None:
                if queue.closed and not len(queue):
                    return
                continue
            units = self._count(payload)
            with self._lock:
                self._queued -= units
                self._in_flight += units
                slot.work.append((payload, units, False))
            self._deliver(slot)

    def _deliver(self, slot: _Slot) -> None:
        """Send what ``slot`` holds, head first, until it is empty or delivery is aborted or refused.

        What is left in the slot then is counted by :meth:`_drop_waiting`.
        """
        while True:
            with self._lock:
                if not slot.work or slot.abandoned:
                    return
                payload, units, failed = slot.work[0]
            probe = self._await_turn()
            if probe is None:
                return
            try:
                self._send(payload)  # type: ignore[arg-type]
            except SplitPayload as exc:
                self._split(slot, exc, units, failed)
            except PermanentError as exc:
                self._drop_head(slot, exc.reason)
            except DestinationRefused as exc:
                self._refuse(exc.reason)
                return
            except Exception as exc:
                if self._abort.is_set():
                    return  # cut off at the deadline: not the destination's failure
                self._failed(slot, exc, units, failed)
            else:
                self._succeeded(slot, units)
            finally:
                if probe:
                    with self._lock:
                        self._probing = False

    def _await_turn(self) -> bool | None:
        """Wait while the destination is in backoff; True when this thread probes it, None when aborted."""
        while True:
            with self._lock:
                if self._abort.is_set() or self._refused is not None:
                    return None
                if self._failures == 0:
                    return False
                now = time.monotonic()
                if not self._probing and now >= self._next_attempt:
                    self._probing = True
                    return True
                wait = max(self._next_attempt - now, 0.05)
            if self._abort.wait(wait):
                return None

    def _succeeded(self, slot: _Slot, units: int) -> None:
        with self._lock:
            self._sends += 1
            if slot.abandoned:
                return
            slot.work.popleft()
            self._in_flight -= units
            self._written += units
            recovered, self._failures = self._failures, 0
            since = self._failing_since
        if recovered:
            self.log.warning(
                "%s: connection to %s restored after %d failed attempt%s (%.1fs); still %s",
                self.name,
                self.target,
                recovered,
                _s(recovered),
                time.monotonic() - since,
                self.waiting_text(),
            )

    def _failed(self, slot: _Slot, exc: Exception, units: int, failed: bool) -> None:
        error = _one_line(exc)
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        with self._lock:
            self._sends += 1
            self._failed_sends += 1
            if slot.abandoned:
                return
            if not failed:
                payload = slot.work[0][0]
                slot.work[0] = (payload, units, True)
                self._retried += units
            now = time.monotonic()
            if self._failures == 0:
                self._failing_since = now
            self._failures += 1
            n = self._failures
            delay = self.backoff.delay(n, retry_after)
            self._next_attempt = now + delay
            self.last_error = error
            warn = n & (n - 1) == 0 or now - self._last_warning >= self.warn_every
            if warn:
                self._last_warning = now
            since = now - self._failing_since
        if warn:
            self.log.warning(
                "%s: cannot send to %s: %s (connection errors stacking up: %d error%s in a row for %.1fs; %s); "
                "retrying in %.1fs",
                self.name,
                self.target,
                error,
                n,
                _s(n),
                since,
                self.waiting_text(),
                delay,
            )

    def _split(self, slot: _Slot, exc: SplitPayload, units: int, failed: bool) -> None:
        if not exc.parts:
            self._drop_head(slot, exc.reason)
            return
        parts = [(p, self._count(p), True) for p in exc.parts]  # type: ignore[arg-type]
        with self._lock:
            self._sends += 1
            if slot.abandoned:
                return
            slot.work.popleft()
            slot.work.extendleft(reversed(parts))
            if not failed:
                self._retried += units
            self._in_flight += sum(p[1] for p in parts) - units
            self._splits += 1
            n = self._splits
        if n & (n - 1) == 0:
            self.log.info(
                "%s: %s refused a payload of %d %s (%s); splitting it into %d parts (%d split%s so far)",
                self.name,
                self.target,
                units,
                self.unit,
                exc.reason,
                len(parts),
                n,
                _s(n),
            )

    def _drop_head(self, slot: _Slot, reason: str) -> None:
        with self._lock:
            self._sends += 1
            if slot.abandoned:
                return
            payload, units, _ = slot.work.popleft()
            self._in_flight -= units
            self._permanent_drops += 1
            n = self._permanent_drops
        self._count_drop(payload, units, reason)  # type: ignore[arg-type]
        if n <= 3 or n & (n - 1) == 0:
            self.log.error(
                "%s: %s refused %d %s for good (%s); dropped (%d payload%s dropped so far)",
                self.name,
                self.target,
                units,
                self.unit,
                reason,
                n,
                _s(n),
            )

    def _refuse(self, reason: str) -> None:
        """The destination refuses everything: stop sending, drop what waits and what comes."""
        with self._put_lock, self._lock:
            first = self._refused is None
            self._refused = reason
        if first:
            self.log.error(
                "%s: %s refuses all data (%s); sending stopped for this run, dropping %s",
                self.name,
                self.target,
                reason,
                self.waiting_text(),
            )
        self._drop_waiting(reason)

    # -- close ------------------------------------------------------------------------------

    def close(self, deadline: float, *, grace: float = 1.0) -> DeliveryCounts:
        """Send what waits until ``deadline`` (a ``time.monotonic()`` time), then stop; return the final counts.

        Nothing is accepted after this call. At the deadline, ``interrupt`` is
        called and the senders get ``grace`` more seconds to return from
        ``send``; everything not delivered by then is dropped and counted
        (reason :data:`UNDELIVERED_AT_CLOSE`), and a sender still stuck in
        ``send`` is abandoned (``abandoned`` in the counts). Idempotent.
        """
        with self._put_lock:
            if self._closed:
                return self.counts()
            self._closed = True
            self._queue.close()
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            self._abort.set()
            if self._interrupt is not None:
                try:
                    self._interrupt()
                except Exception:
                    self.log.exception("%s: interrupting the sends in flight failed", self.name)
            end = time.monotonic() + grace
            for t in self._threads:
                t.join(max(0.0, end - time.monotonic()))
        else:
            self._abort.set()
        with self._lock:
            self._abandoned = any(t.is_alive() for t in self._threads)
        self._drop_waiting(self._refused or UNDELIVERED_AT_CLOSE)
        with self._lock:
            lost, self._queued = self._queued, 0  # units whose spilled payload could not be read back
        if lost:
            self._count_drop(None, lost, f"spilled data unreadable ({self._queue.disk_error or 'decode failed'})")
        return self.counts()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` (or :meth:`finish`) was called: nothing more is accepted."""
        return self._closed

    def finish(
        self,
        stop_timeout: float,
        *,
        then: Callable[[], None] | None = None,
        announce: bool = False,
    ) -> DeliveryCounts | None:
        """An output's end of delivery at ``stop``: deliver what is left within ``stop_timeout`` seconds.

        Logs a warning first when the destination is failing (what waits and
        how long it may take), or with ``announce`` an info line when units are
        left to send; then :meth:`close` with the deadline ``stop_timeout``
        from now, and even if closing failed closes the sender (of
        :meth:`for_output`) and calls ``then()``. Returns the final counts for the output's stop
        log line and ``report()``; None when the delivery was already closed,
        so that the caller reports only once. :attr:`stop_seconds` is the time
        it took.
        """
        with self._put_lock:
            if self._closed or self._finishing:
                return None
            self._finishing = True
        started = time.monotonic()
        if self.failing:
            self.log.warning(
                "%s: %s is failing (%s); waiting up to %.0fs (stopTimeout) to deliver %s",
                self.name,
                self.target,
                self.last_error,
                stop_timeout,
                self.waiting_text(),
            )
        elif announce and self.waiting:
            self.log.info(
                "%s: sending %d %s left to %s (waiting up to %.0fs)",
                self.name,
                self.waiting,
                self.unit,
                self.target,
                stop_timeout,
            )
        try:
            counts = self.close(started + stop_timeout)
        finally:
            for after in (self._close_sender, then):
                if after is not None:
                    after()
            self.stop_seconds = time.monotonic() - started
        return counts

    def _drop_waiting(self, reason: str) -> None:
        """Drop what the senders hold (they stop counting it) and everything queued."""
        held: list[tuple[object, int]] = []
        with self._lock:
            for slot in self._slots:
                if slot.work:
                    slot.abandoned = True  # its sender, if still in send(), must count nothing more
                    while slot.work:
                        payload, units, _ = slot.work.popleft()
                        self._in_flight -= units
                        held.append((payload, units))
        for payload, units in held:
            self._count_drop(payload, units, reason)  # type: ignore[arg-type]
        while (payload := self._queue.get_nowait()) is not None:
            units = self._count(payload)
            with self._lock:
                self._queued -= units
            self._count_drop(payload, units, reason)

    def _count_drop(self, payload: T | None, units: int, reason: str) -> None:
        with self._lock:
            self._dropped += units
            key = reason if reason in self._reasons or len(self._reasons) < _MAX_REASONS else _OTHER_REASONS
            self._reasons[key] = self._reasons.get(key, 0) + units
        if self._on_drop is not None and payload is not None:
            try:
                self._on_drop(payload, reason)
            except Exception:
                self.log.exception("%s: on_drop failed", self.name)

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"<Delivery {self.name} to {self.target}: written={c.written} retried={c.retried} "
            f"spilled={c.spilled} dropped={c.dropped} waiting={c.waiting}>"
        )


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
