"""An OTLP/gRPC metrics sink for the bench: accepts every export, counts it, stores nothing.

\b
    python bench/otlp_sink.py GRPC_PORT STATUS_PORT

Serves OTLP's ``MetricsService/Export`` on ``127.0.0.1:GRPC_PORT`` with the
official ``opentelemetry-proto`` servicer (grpcio decodes each request), and
the counts as JSON on ``http://127.0.0.1:STATUS_PORT/counts?service=NAME``:
exports and data points received from the resource whose ``service.name`` is
NAME, and the requests its ``http_reqs`` series counted (the largest
cumulative value seen per attribute set, summed over the sets). Runs until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import defaultdict
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

__all__ = ["Counts", "main"]

REQUESTS_METRIC = "http_reqs"
"""k6's request counter, without a metric prefix (both tools' default)."""


class Counts:
    """What arrived, per ``service.name``: exports, data points and the ``http_reqs`` totals per attribute set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exports: dict[str, int] = defaultdict(int)
        self.points: dict[str, int] = defaultdict(int)
        self.requests: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)

    def add(self, request: ExportMetricsServiceRequest) -> None:
        """Count one decoded export."""
        for rm in request.resource_metrics:
            service = next((kv.value.string_value for kv in rm.resource.attributes if kv.key == "service.name"), "")
            points = 0
            totals: dict[tuple[tuple[str, str], ...], float] = {}
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    if kind is None:
                        continue
                    data_points = getattr(m, kind).data_points
                    points += len(data_points)
                    if m.name == REQUESTS_METRIC and kind == "sum":
                        for dp in data_points:
                            attrs = tuple(sorted((kv.key, kv.value.string_value) for kv in dp.attributes))
                            value = dp.as_double if dp.WhichOneof("value") == "as_double" else float(dp.as_int)
                            totals[attrs] = max(totals.get(attrs, 0.0), value)
            with self._lock:
                self.exports[service] += 1
                self.points[service] += points
                seen = self.requests[service]
                for attrs, value in totals.items():
                    seen[attrs] = max(seen.get(attrs, 0.0), value)

    def of(self, service: str) -> dict[str, float | int]:
        """The counts of one service: ``exports``, ``points``, ``http_reqs``."""
        with self._lock:
            return {
                "exports": self.exports.get(service, 0),
                "points": self.points.get(service, 0),
                "http_reqs": sum(self.requests.get(service, {}).values()),
            }


class _Servicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts

    def Export(self, request: ExportMetricsServiceRequest, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self.counts.add(request)
        return ExportMetricsServiceResponse()


def _status_server(port: int, counts: Counts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path != "/counts":
                self.send_error(404)
                return
            service = parse_qs(url.query).get("service", [""])[0]
            body = json.dumps(counts.of(service)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main(argv: list[str]) -> int:
    """Serve until SIGTERM/SIGINT; ``argv`` is ``[GRPC_PORT, STATUS_PORT]``."""
    grpc_port, status_port = (int(a) for a in argv)
    counts = Counts()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Servicer(counts), server)
    server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    server.start()
    status = _status_server(status_port, counts)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    threading.Thread(target=status.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    done.wait()
    status.shutdown()
    server.stop(grace=1).wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
