"""A local OTLP metrics receiver for tests: HTTP/protobuf and gRPC, decoded with the official ``opentelemetry-proto``.

Every request is parsed as ``ExportMetricsServiceRequest`` (never by hand) and
kept; :func:`final_series` reduces the kept requests of one sender to the
last cumulative value of every series. ``fail`` makes the receiver answer
with an HTTP status or a gRPC code instead of accepting; ``stop()`` and
``start()`` take it down and bring it back on the same ports.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
from collections.abc import Iterable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from horde.testing import free_port
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)


@dataclasses.dataclass
class Received:
    """One decoded export, with how it came and the headers (HTTP) or metadata (gRPC) it carried."""

    protocol: str
    request: ExportMetricsServiceRequest
    headers: dict[str, str]


class Receiver:
    """OTLP/HTTP on ``http_port`` (path ``/v1/metrics``) and OTLP/gRPC on ``grpc_port``, on 127.0.0.1."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        """Refuse larger requests, as collectors do: HTTP 413, gRPC RESOURCE_EXHAUSTED."""
        self.too_large = 0
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.received: list[Received] = []
        self.refused = 0
        self.fail: int | grpc.StatusCode | None = None
        """An HTTP status (HTTP) or a gRPC code (gRPC) to answer instead of accepting."""
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None
        self._conns: set[socket.socket] = set()

    @property
    def http_endpoint(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def _keep(self, protocol: str, body: bytes, headers: dict[str, str]) -> bool:
        with self._lock:
            if self.fail is not None:
                self.refused += 1
                return False
            self.received.append(Received(protocol, ExportMetricsServiceRequest.FromString(body), headers))
            return True

    def start(self, tls: tuple[str, str] | None = None) -> Receiver:
        """Serve (again, on the same ports); ``tls=(cert_file, key_file)`` serves both protocols over TLS."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._conns.add(self.connection)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/metrics":
                    self._answer(404, b"not found")
                elif receiver.max_bytes is not None and len(body) > receiver.max_bytes:
                    receiver.too_large += 1
                    self._answer(413, b"request entity too large")
                elif receiver._keep("http", body, {k.lower(): v for k, v in self.headers.items()}):
                    self._answer(200, ExportMetricsServiceResponse().SerializeToString())
                else:
                    fail = receiver.fail
                    self._answer(fail if isinstance(fail, int) else 503, b"failing on purpose")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Servicer(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: ExportMetricsServiceRequest, context: grpc.ServicerContext) -> Any:  # noqa: N802
                headers = {k: v for k, v in context.invocation_metadata()}
                if receiver._keep("grpc", request.SerializeToString(), headers):
                    return ExportMetricsServiceResponse()
                fail = receiver.fail
                context.abort(fail if isinstance(fail, grpc.StatusCode) else grpc.StatusCode.UNAVAILABLE, "failing")

        ThreadingHTTPServer.allow_reuse_address = True
        self._http = ThreadingHTTPServer(("127.0.0.1", self.http_port), Handler)
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._http.socket = ctx.wrap_socket(self._http.socket, server_side=True)
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        options = [("grpc.max_receive_message_length", self.max_bytes)] if self.max_bytes else []
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Servicer(), self._grpc)
        if tls is None:
            self._grpc.add_insecure_port(self.grpc_endpoint)
        else:
            cert, key = (Path(p).read_bytes() for p in tls)
            self._grpc.add_secure_port(self.grpc_endpoint, grpc.ssl_server_credentials([(key, cert)]))
        self._grpc.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        with self._lock:  # keep-alive connections too: a stopped receiver answers nothing
            conns, self._conns = self._conns, set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(5)
            self._grpc = None

    def of_service(self, service: str) -> list[Received]:
        """The exports whose resource's ``service.name`` is ``service``."""
        with self._lock:
            got = list(self.received)
        return [r for r in got if resource(r.request).get("service.name") == service]


def resource(req: ExportMetricsServiceRequest) -> dict[str, str]:
    """The string attributes of the (first) resource of ``req``."""
    if not req.resource_metrics:
        return {}
    return {kv.key: kv.value.string_value for kv in req.resource_metrics[0].resource.attributes}


@dataclasses.dataclass
class Series:
    """The last value of one series: ``value`` for sums and gauges, ``count``/``sum``/``buckets`` for histograms."""

    kind: str
    unit: str
    monotonic: bool | None
    temporality: int | None
    value_kind: str
    value: float
    count: int
    total: float
    time: int


def final_series(exports: Iterable[Received]) -> dict[str, dict[frozenset[tuple[str, str]], Series]]:
    """metric name -> attributes -> its latest cumulative :class:`Series` over ``exports``."""
    out: dict[str, dict[frozenset[tuple[str, str]], Series]] = {}
    for rec in exports:
        for rm in rec.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    data = getattr(m, kind)
                    for dp in data.data_points:
                        attrs = frozenset((kv.key, kv.value.string_value) for kv in dp.attributes)
                        if kind == "histogram":
                            s = Series(kind, m.unit, None, data.aggregation_temporality, "histogram",
                                       0.0, dp.count, dp.sum, dp.time_unix_nano)  # fmt: skip
                        else:
                            vk = dp.WhichOneof("value")
                            s = Series(
                                kind,
                                m.unit,
                                data.is_monotonic if kind == "sum" else None,
                                data.aggregation_temporality if kind == "sum" else None,
                                vk,
                                float(getattr(dp, vk)),
                                0,
                                0.0,
                                dp.time_unix_nano,
                            )
                        per = out.setdefault(m.name, {})
                        if attrs not in per or per[attrs].time <= s.time:
                            per[attrs] = s
    return out


def scope_names(exports: Iterable[Received]) -> set[str]:
    """Every instrumentation scope name in ``exports``."""
    return {sm.scope.name for r in exports for rm in r.request.resource_metrics for sm in rm.scope_metrics}


def summed_series(exports: Iterable[Received]) -> dict[str, dict[frozenset[tuple[str, str]], tuple[float, int]]]:
    """metric name -> attributes -> (sum of the values, or of a histogram's sums; sum of histogram counts)
    over every data point of ``exports``: the totals of delta exports."""
    out: dict[str, dict[frozenset[tuple[str, str]], tuple[float, int]]] = {}
    for rec in exports:
        for rm in rec.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    for dp in getattr(m, kind).data_points:
                        attrs = frozenset((kv.key, kv.value.string_value) for kv in dp.attributes)
                        if kind == "histogram":
                            value, count = dp.sum, dp.count
                        else:
                            value, count = float(getattr(dp, dp.WhichOneof("value"))), 0
                        per = out.setdefault(m.name, {})
                        old = per.get(attrs, (0.0, 0))
                        per[attrs] = (old[0] + value, old[1] + count)
    return out
