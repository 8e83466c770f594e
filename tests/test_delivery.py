"""Delivery: retries, order, classification, spill, close deadline, counts; an outage of a real HTTP server."""

from __future__ import annotations

import http.client
import http.server
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from horde.output import (
    Backoff,
    Delivery,
    DeliveryCounts,
    DestinationRefused,
    PayloadCodec,
    PermanentError,
    SplitPayload,
)
from horde.output.delivery import UNDELIVERED_AT_CLOSE, RetryableError
from horde.testing import free_port

FAST = Backoff(initial=0.01, maximum=0.05)


def make(send, tmp_path: Path | None = None, **kw) -> Delivery[bytes]:
    kw.setdefault("memory_limit", 1000)
    kw.setdefault("backoff", FAST)
    return Delivery(send, encode=bytes, decode=bytes, directory=tmp_path, **kw)


def soon(seconds: float = 20.0) -> float:
    return time.monotonic() + seconds


def wait_until(cond, within: float = 20.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def sender_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"horde-{name}-sender")]


def consistent(c: DeliveryCounts, put: int) -> None:
    assert c.written + c.dropped + c.waiting == put, c


def test_delivers_every_payload_in_order_and_counts_in_the_callers_unit(tmp_path):
    got: list[bytes] = []
    d = make(got.append, tmp_path, count=len, name="order")
    payloads = [b"x" * (i % 7 + 1) for i in range(500)]
    for p in payloads:
        assert d.put(p)
    c = d.close(soon())
    assert got == payloads
    assert c.written == sum(map(len, payloads)) and c.dropped == 0 and c.retried == 0 and c.waiting == 0
    assert c.as_report() == {"written": c.written, "retried": 0, "spilled": 0, "dropped": 0}
    assert not sender_threads("order")


def test_transient_failures_are_retried_in_order_and_counted_once(tmp_path):
    fails = {b"3": 3, b"7": 1}
    got: list[bytes] = []

    def send(p: bytes) -> None:
        if fails.get(p, 0):
            fails[p] -= 1
            raise ConnectionRefusedError("connection refused")
        got.append(p)

    d = make(send, tmp_path)
    payloads = [str(i).encode() for i in range(10)]
    for p in payloads:
        d.put(p)
    c = d.close(soon())
    assert got == payloads  # head-of-line: nothing overtakes a payload being retried
    assert c.written == 10 and c.retried == 2 and c.failed_sends == 4 and c.sends == 14 and c.dropped == 0


def test_permanent_errors_are_dropped_with_their_reason(tmp_path, caplog):
    dropped: list[tuple[bytes, str]] = []
    got: list[bytes] = []

    def send(p: bytes) -> None:
        if p.startswith(b"bad"):
            raise PermanentError("HTTP 400")
        got.append(p)

    d = make(send, tmp_path, on_drop=lambda p, why: dropped.append((p, why)), name="perm", unit="points")
    for p in [b"a", b"bad1", b"b", b"bad2", b"c"]:
        d.put(p)
    c = d.close(soon())
    assert got == [b"a", b"b", b"c"]
    assert dropped == [(b"bad1", "HTTP 400"), (b"bad2", "HTTP 400")]
    assert c.dropped == 2 and c.dropped_reasons == {"HTTP 400": 2} and c.written == 3
    assert any("perm" in r.getMessage() and "HTTP 400" in r.getMessage() for r in caplog.records)


def test_split_parts_go_first_and_in_order(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    got: list[bytes] = []

    def send(p: bytes) -> None:
        if len(p) > 2:
            half = len(p) // 2
            raise SplitPayload([p[:half], p[half:]], "HTTP 413")
        got.append(p)

    d = make(send, tmp_path, count=len)
    d.put(b"abcdefgh")
    d.put(b"ij")
    c = d.close(soon())
    assert got == [b"ab", b"cd", b"ef", b"gh", b"ij"]
    assert c.written == 10 and c.splits == 3 and c.retried == 8 and c.dropped == 0 and c.waiting == 0
    assert any("413" in r.getMessage() and "splitting" in r.getMessage() for r in caplog.records)


def test_a_split_into_nothing_is_a_drop(tmp_path):
    def send(p: bytes) -> None:
        raise SplitPayload([], "HTTP 413")

    d = make(send, tmp_path, count=len)
    d.put(b"abc")
    c = d.close(soon())
    assert c.dropped == 3 and c.dropped_reasons == {"HTTP 413": 3} and c.waiting == 0


def test_a_spilled_payload_that_cannot_be_decoded_is_counted_as_dropped(tmp_path, caplog):
    def decode(b: bytes) -> bytes:
        if b == b"bad":
            raise ValueError("corrupt")
        return b

    got: list[bytes] = []
    d = Delivery(got.append, encode=bytes, decode=decode, memory_limit=0, directory=tmp_path, count=len, backoff=FAST)
    for p in [b"a", b"bad", b"c"]:
        d.put(p)
    c = d.close(soon())
    assert got == [b"a", b"c"] and c.written == 2 and c.waiting == 0
    assert c.dropped == 3 and list(c.dropped_reasons) == ["spilled data unreadable (decode failed)"]
    assert any("could not be read back" in r.getMessage() for r in caplog.records)


def test_destination_refusing_everything_drops_what_waits_and_what_comes(tmp_path):
    calls: list[bytes] = []

    def send(p: bytes) -> None:
        calls.append(p)
        raise DestinationRefused("HTTP 401: invalid token")

    d = make(send, tmp_path)
    for i in range(5):
        d.put(b"%d" % i)
    assert wait_until(lambda: d.counts().dropped == 5)
    assert not d.put(b"later")
    c = d.close(soon())
    assert calls == [b"0"]
    assert c.dropped == 6 and c.dropped_reasons == {"HTTP 401: invalid token": 6} and c.written == 0
    consistent(c, 6)


def test_retry_after_is_honoured_within_the_maximum():
    b = Backoff(initial=0.1, maximum=2.0, jitter=0.5)
    for n in range(1, 10):
        base = min(2.0, 0.1 * 2 ** (n - 1))
        assert base / 2 <= b.delay(n) <= base
    assert b.delay(1, retry_after=1.5) >= 1.5
    assert b.delay(1, retry_after=100) <= 2.0
    assert Backoff(jitter=0).delay(3) == 2.0
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_retryable_error_retry_after_delays_the_next_attempt(tmp_path):
    times: list[float] = []

    def send(p: bytes) -> None:
        times.append(time.monotonic())
        if len(times) == 1:
            raise RetryableError("HTTP 429", retry_after=0.3)

    d = make(send, tmp_path, backoff=Backoff(initial=0.01, maximum=1.0))
    d.put(b"x")
    c = d.close(soon())
    assert c.written == 1 and len(times) == 2 and times[1] - times[0] >= 0.3


def test_warnings_stack_up_not_per_attempt_and_recovery_is_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    down = threading.Event()
    down.set()
    attempts = [0]

    def send(p: bytes) -> None:
        if down.is_set():
            attempts[0] += 1
            raise ConnectionRefusedError("connection refused")

    d = make(send, tmp_path, backoff=Backoff(initial=0.001, maximum=0.002), name="stack", unit="points")
    d.put(b"x")
    assert wait_until(lambda: attempts[0] >= 40)
    down.clear()
    c = d.close(soon())
    assert c.written == 1 and c.retried == 1
    warnings = [r.getMessage() for r in caplog.records if "cannot send to" in r.getMessage()]
    # after 1, 2, 4, 8, 16, 32... failures in a row: not one line per attempt
    assert 6 <= len(warnings) <= attempts[0].bit_length() < attempts[0]
    assert all("connection errors stacking up" in w and "points waiting" in w for w in warnings)
    assert any("restored after" in r.getMessage() for r in caplog.records)


def test_close_at_the_deadline_drops_and_reports_what_was_not_delivered(tmp_path):
    dropped: list[bytes] = []

    def send(p: bytes) -> None:
        raise ConnectionRefusedError("connection refused")

    d = make(send, tmp_path, memory_limit=3, on_drop=lambda p, why: dropped.append(p), name="late", count=len)
    payloads = [b"%03d" % i for i in range(20)]
    for p in payloads:
        d.put(p)
    assert wait_until(lambda: d.failures >= 2)
    assert os.listdir(tmp_path)  # spilled past 3 payloads
    started = time.monotonic()
    c = d.close(time.monotonic() + 0.3)
    assert time.monotonic() - started < 5
    # 3 payloads in memory (4 when the sender took the first one before the others came), the rest on disk
    assert c.written == 0 and c.dropped == 60 and c.waiting == 0 and c.spilled in (48, 51)
    assert c.dropped_reasons == {UNDELIVERED_AT_CLOSE: 60}
    assert dropped == payloads  # in order, none lost without a word
    assert not c.abandoned and not sender_threads("late")
    assert os.listdir(tmp_path) == []
    assert not d.put(b"after")
    assert d.counts().dropped_reasons["put after close"] == len(b"after")


def test_finish_warns_when_failing_waits_the_stop_timeout_then_closes_the_sender_once(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    closed: list[str] = []

    def send(p: bytes) -> None:
        raise ConnectionRefusedError("connection refused")

    d = make(send, tmp_path, name="fin", target="db at :1", unit="points", count=len)
    d.put(b"abc")
    assert wait_until(lambda: d.failing)
    c = d.finish(0.2, then=lambda: closed.append("closed"))
    assert c is not None and c.written == 0 and c.dropped == 3 and c.dropped_reasons == {UNDELIVERED_AT_CLOSE: 3}
    assert closed == ["closed"] and d.closed and 0.2 <= d.stop_seconds < 10
    warned = [r for r in caplog.records if "(stopTimeout)" in r.getMessage()]
    assert [r.levelno for r in warned] == [logging.WARNING]
    assert (
        warned[0]
        .getMessage()
        .startswith(
            "fin: db at :1 is failing (connection refused); waiting up to 0s (stopTimeout) to deliver 3 points waiting"
        )
    )
    # a second finish (a second stop) reports nothing and closes nothing again
    assert d.finish(0.2, then=lambda: closed.append("again")) is None and closed == ["closed"]


def test_finish_announces_what_is_left_only_when_asked_and_delivers_it(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    release = threading.Event()
    got: list[bytes] = []

    def send(p: bytes) -> None:
        release.wait(30)
        got.append(p)

    quiet = make(got.append, tmp_path / "q", name="quiet", unit="points")
    quiet.put(b"x")
    assert quiet.finish(20) is not None
    loud = make(send, tmp_path / "l", name="loud", target="there", unit="points")
    loud.put(b"y")
    threading.Timer(0.1, release.set).start()
    c = loud.finish(20, announce=True)
    assert c is not None and c.written == 1 and c.dropped == 0 and got == [b"x", b"y"]
    lines = [r.getMessage() for r in caplog.records if r.name == "horde.output.delivery"]
    assert lines == ["loud: sending 1 points left to there (waiting up to 20s)"]


class Settings:
    """A network output's config, as far as the delivery reads it."""

    def __init__(self, spool: Path) -> None:
        self.memory_limit = 4
        self.spool_path = str(spool)
        self.target = "http://127.0.0.1:1/db"
        self.retry_interval = 0.02
        self.max_retry_interval = 0.01  # below the first: the first wins


class HangingSender:
    """Hangs in send until aborted (as a socket cut by KeepAliveConnection.abort); records its close."""

    def __init__(self) -> None:
        self.cut = threading.Event()
        self.closed = False

    def __call__(self, payload: bytes) -> None:
        if not self.cut.wait(30):
            raise AssertionError("never aborted")
        raise ConnectionAbortedError("aborted")

    def abort(self) -> None:
        self.cut.set()

    def close(self) -> None:
        self.closed = True


def test_for_output_builds_the_delivery_from_the_config_codec_and_sender(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    spool = tmp_path / "made" / "spool"
    codec = PayloadCodec(encode=bytes, decode=bytes, count=len, size=len, unit="points")
    sender = HangingSender()
    d = Delivery.for_output(sender, Settings(spool), codec, name="out", senders=2)
    assert spool.is_dir() and d.directory == str(spool)
    assert (d.name, d.target, d.unit, len(d._threads)) == ("out", "http://127.0.0.1:1/db", "points", 2)
    assert d.backoff.initial == d.backoff.maximum == 0.02
    for p in (b"ab", b"cd", b"ef", b"gh", b"ij", b"kl"):
        d.put(p)
    # at most 2 in flight, 8 bytes or more queued: past memory_limit (4, by size=len), spilled into spool
    assert wait_until(lambda: d.disk_bytes > 0)
    c = d.finish(0.2, announce=True)
    # at the deadline the sender's abort cut both sends in flight: nothing abandoned, everything counted
    assert c is not None and sender.cut.is_set() and not c.abandoned and c.dropped == 12 and c.written == 0
    assert sender.closed
    assert "out: sending 12 points left to http://127.0.0.1:1/db (waiting up to 0s)" in caplog.messages


def test_interrupt_cuts_a_send_in_flight_at_the_deadline(tmp_path):
    cut = threading.Event()

    def send(p: bytes) -> None:
        if not cut.wait(30):
            raise AssertionError("never interrupted")
        raise ConnectionAbortedError("aborted")

    d = make(send, tmp_path, interrupt=cut.set, name="cut")
    d.put(b"x")
    c = d.close(time.monotonic() + 0.2)
    assert cut.is_set() and not c.abandoned and c.dropped == 1 and c.failed_sends == 0
    assert not sender_threads("cut")


def test_a_send_that_never_returns_is_abandoned_within_deadline_plus_grace(tmp_path):
    release = threading.Event()

    def send(p: bytes) -> None:
        release.wait(30)

    d = make(send, tmp_path, name="stuck")
    d.put(b"x")
    d.put(b"y")
    started = time.monotonic()
    c = d.close(time.monotonic() + 0.2, grace=0.2)
    assert time.monotonic() - started < 3
    assert c.abandoned and c.dropped == 2 and c.written == 0 and c.waiting == 0
    release.set()  # the stuck send returns late: nothing is counted twice
    assert wait_until(lambda: not sender_threads("stuck"))
    assert d.counts().written == 0 and d.counts().dropped == 2


def test_disk_limit_drops_are_counted_with_their_reason(tmp_path):
    gate = threading.Event()
    d = make(lambda p: gate.wait(30) and None, tmp_path, memory_limit=1, disk_limit=100, count=len)
    results = [d.put(b"y" * 40) for _ in range(6)]
    assert results.count(False) >= 1
    gate.set()
    c = d.close(soon())
    assert c.dropped == 40 * results.count(False)
    assert list(c.dropped_reasons) == ["spill queue full (disk limit reached)"]
    consistent(c, 240)


def test_a_spill_failure_is_a_drop_naming_the_disk_error(tmp_path):
    gate = threading.Event()
    d = make(lambda p: gate.wait(30) and None, tmp_path / "missing", memory_limit=1)
    results = [d.put(b"%d" % i) for i in range(4)]
    gate.set()
    c = d.close(soon())
    assert results.count(False) >= 2 and c.dropped == results.count(False)
    (reason,) = c.dropped_reasons
    assert reason.startswith("spilling to disk failed") and "No such file" in reason


def test_several_senders_deliver_everything(tmp_path):
    got: list[bytes] = []
    lock = threading.Lock()

    def send(p: bytes) -> None:
        time.sleep(0.001)
        with lock:
            got.append(p)

    d = make(send, tmp_path, senders=4, name="many")
    payloads = [b"%d" % i for i in range(400)]
    for p in payloads:
        d.put(p)
    c = d.close(soon())
    assert sorted(got) == sorted(payloads) and c.written == 400
    assert not sender_threads("many")


# -- a real HTTP server going down and coming back -------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class LocalServer:
    """A real HTTP server on 127.0.0.1 that records POST bodies and can go down and come back on its port."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.port = free_port()
        self._srv: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Recorder)
        srv.bodies = self.bodies  # type: ignore[attr-defined]
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._srv = srv

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    srv = LocalServer()
    srv.start()
    yield srv
    srv.stop()


def http_send(port: int):
    def send(payload: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("POST", "/write", body=payload)
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        if resp.status >= 500:
            raise RetryableError(f"HTTP {resp.status}")
        if resp.status >= 300:
            raise PermanentError(f"HTTP {resp.status}")

    return send


def test_outage_of_a_real_server_is_replayed_in_order_from_memory_and_disk(local_server, tmp_path, caplog):
    d = make(http_send(local_server.port), tmp_path, memory_limit=2000, size=len, name="outage", unit="lines")
    n = 0

    def feed(k: int) -> None:
        nonlocal n
        for _ in range(k):
            assert d.put(b"line %06d\n" % n * 20)
            n += 1

    feed(50)
    assert wait_until(lambda: d.counts().written == 50)
    local_server.stop()
    feed(200)  # 200 * 240 bytes: far past the 2000-byte memory bound
    assert wait_until(lambda: d.failures >= 3)
    assert d.disk_bytes > 0 and d.memory_size <= 2000
    local_server.start()
    feed(50)
    c = d.close(soon(60))
    assert c.written == n == 300 and c.dropped == 0 and c.retried >= 1 and c.spilled > 0
    assert local_server.bodies == [b"line %06d\n" % i * 20 for i in range(300)]  # every one, once, in order
    assert os.listdir(tmp_path) == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot send to" in m and "refused" in m.lower() for m in messages)
    assert any("restored after" in m for m in messages)
