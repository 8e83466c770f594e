"""The ceiling: the bench's GET from a bare asyncio protocol on uvloop, keep-alive, no metrics.

    python bench/scripts/bare_get.py URL --vus N --duration S --summary-export FILE

One connection per VU, each sending the next request as soon as the response is
complete (httptools parses it, as horde's transport does). At the end no new
request is sent and the ones in flight are waited for, so the count is what the
server served. Writes the few fields of a k6 summary export the bench reads
(``http_reqs`` count and rate; no latencies: it measures none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

import httptools
import uvloop

STOP_WAIT = 10.0
"""Seconds the end waits for the responses in flight."""


class _Get(asyncio.Protocol):
    def __init__(self, request: bytes, run: _Run) -> None:
        self.request = request
        self.run = run
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        run = self.run
        run.requests += 1
        if run.sending:
            self.transport.write(self.request)  # type: ignore[union-attr]
        else:
            self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.closed += 1
        if self.run.closed == self.run.connections and not self.run.done.done():
            self.run.done.set_result(None)


class _Run:
    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.requests = 0
        self.closed = 0
        self.sending = True
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


async def _main(url: str, vus: int, duration: float) -> tuple[int, float]:
    u = urlsplit(url)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    request = f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUser-Agent: bare-ceiling\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    run = _Run(vus)
    t0 = time.monotonic()
    for _ in range(vus):
        await loop.create_connection(lambda: _Get(request, run), u.hostname, u.port or 80)
    await asyncio.sleep(max(0.0, duration - (time.monotonic() - t0)))
    run.sending = False
    elapsed = time.monotonic() - t0
    await asyncio.wait_for(run.done, STOP_WAIT)
    return run.requests, elapsed


def main() -> None:
    """Parse the command line, run, write the export."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--vus", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds")
    ap.add_argument("--summary-export", required=True)
    a = ap.parse_args()
    requests, elapsed = uvloop.run(_main(a.url, a.vus, a.duration))
    counts = {"count": requests, "rate": requests / elapsed}
    doc = {
        "metrics": {
            "http_reqs": counts,
            "iterations": counts,
            "http_req_duration": {"med": 0.0, "p(95)": 0.0},
        }
    }
    with open(a.summary_export, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
