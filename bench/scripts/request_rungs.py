"""The rungs between the bare ceiling and horde: one GET per iteration, one keep-alive connection per VU.

    python bench/scripts/request_rungs.py RUNG URL --vus N --duration S --summary-export FILE

``task``: each VU is an asyncio task awaiting a future per response (the
ceiling's protocol and parser, httptools). ``k6-minimal``: ``task`` plus, in as
little Python as it takes, what k6 records of a request: clock readings
and the six timings, a 9-value request container and a 4-value iteration
container appended to a batch, a response object, and three coroutine levels
(iteration, script, get); the response is read by httptools as in ``task``.
``horde-transport``: ``k6-minimal`` with horde's own HTTP/1.1 transport
(``H1Transport.send``: pool, deadline timer, timings, its response reader)
in place of the minimal exchange. bench/request_path.py runs them between
``bare_get.py`` and horde. Writes the fields of a k6 summary export the bench
reads (``http_reqs`` count and rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httptools
import uvloop
from horde.http.h1 import H1Transport
from horde.http.transport import RawRequest

RUNGS = ("task", "k6-minimal", "horde-transport")
_perf = time.perf_counter_ns
_now = time.time_ns


class _Conn(asyncio.Protocol):
    """The ceiling's protocol, completing a future per response instead of sending the next request."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.body: list[bytes] = []
        self.t_first = 0
        self.t_end = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.t_first:
            self.t_first = _perf()
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.t_end = _perf()
        self.status = self.parser.get_status_code()
        self.waiter.set_result(None)  # type: ignore[union-attr]


class _Response:
    __slots__ = ("status", "body", "timings")

    def __init__(self, status: int, body: bytes, timings: tuple[float, ...]) -> None:
        self.status, self.body, self.timings = status, body, timings


class _Container:
    __slots__ = ("metrics", "values", "time", "tags", "metadata")

    def __init__(self, metrics: tuple, values: tuple, t: int, tags: object, metadata: object) -> None:
        self.metrics, self.values, self.time, self.tags, self.metadata = metrics, values, t, tags, metadata


_REQUEST_METRICS = tuple(range(9))
_ITERATION_METRICS = tuple(range(4))
_TAGS = object()


class _VU:
    def __init__(self, rung: str, conn: _Conn, request: bytes, raw: RawRequest, run: _Run) -> None:
        self.rung, self.conn, self.request, self.raw, self.run = rung, conn, request, raw, run
        self.transport = H1Transport() if rung == "horde-transport" else None
        self.batch: list[_Container] = []

    async def loop(self) -> None:
        run = self.run
        if self.rung == "task":
            conn, request, loop = self.conn, self.request, asyncio.get_running_loop()
            while run.sending:
                conn.waiter = loop.create_future()
                conn.transport.write(request)  # type: ignore[union-attr]
                await conn.waiter
                run.requests += 1
            return
        batch = self.batch
        while run.sending:
            start = _perf()
            await self.script()
            batch.append(_Container(_ITERATION_METRICS, (0.0, 0.0, (_perf() - start) / 1e6, 1.0), _now(), _TAGS, None))
            run.requests += 1
            if len(batch) >= 10_000:
                batch.clear()
        if self.transport is not None:
            self.transport.close()

    async def script(self) -> None:
        await self.get()

    async def get(self) -> _Response:
        if self.transport is not None:
            raw = await self.transport.send(self.raw)
            res = _Response(raw.status, raw.body, raw.timings)
        else:
            res = await self.exchange()
        b = res.timings
        values = (1.0, b[3] + b[4] + b[5], b[0], b[1], b[2], b[3], b[4], b[5], 0.0)
        self.batch.append(_Container(_REQUEST_METRICS, values, _now(), _TAGS, None))
        return res

    async def exchange(self) -> _Response:
        conn = self.conn
        t0 = _perf()
        conn.waiter = asyncio.get_running_loop().create_future()
        conn.t_first = 0
        conn.body = []
        conn.transport.write(self.request)  # type: ignore[union-attr]
        t_sent = _perf()
        await conn.waiter
        b = conn.body
        t_first = conn.t_first
        timings = (0.0, 0.0, 0.0, (t_sent - t0) / 1e6, (t_first - t_sent) / 1e6, (conn.t_end - t_first) / 1e6)
        return _Response(conn.status, b[0] if len(b) == 1 else b"".join(b), timings)


class _Run:
    def __init__(self) -> None:
        self.sending = True
        self.requests = 0


async def _main(rung: str, url: str, vus: int, duration: float) -> tuple[int, float]:
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    request = f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUser-Agent: bench-rungs\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    run = _Run()
    vu_list = []
    for _ in range(vus):
        conn: Any = None
        if rung != "horde-transport":
            _, conn = await loop.create_connection(_Conn, host, port)
        raw = RawRequest("GET", "http", host, port, path, [("Host", u.netloc), ("User-Agent", "bench-rungs")])
        vu_list.append(_VU(rung, conn, request, raw, run))
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(vu.loop()) for vu in vu_list]
    await asyncio.sleep(duration)
    run.sending = False
    elapsed = time.monotonic() - t0
    await asyncio.wait_for(asyncio.gather(*tasks), 10.0)  # the requests in flight are answered and counted
    return run.requests, elapsed


def main() -> None:
    """Parse the command line, run one rung, write the export."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rung", choices=RUNGS)
    ap.add_argument("url")
    ap.add_argument("--vus", type=int, default=10)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds")
    ap.add_argument("--summary-export", required=True)
    a = ap.parse_args()
    requests, elapsed = uvloop.run(_main(a.rung, a.url, a.vus, a.duration))
    counts = {"count": requests, "rate": requests / elapsed}
    with open(a.summary_export, "w") as f:
        json.dump({"metrics": {"http_reqs": counts, "iterations": counts}}, f)


if __name__ == "__main__":
    main()
