"""Sending one OTLP export over HTTP/protobuf or gRPC, and how the answers map onto the delivery helper.

HTTP: 2xx is written (a ``partial_success`` in the answer is counted as
rejected points); 413 splits the export in two (gRPC: RESOURCE_EXHAUSTED for a
message larger than the receiver's maximum); 429 and 5xx are retried (honouring ``Retry-After``); any
other status drops the export, counted under ``HTTP <status>``. gRPC: OK is
written; the codes the OTLP specification calls retryable (UNAVAILABLE,
RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, CANCELLED, OUT_OF_RANGE,
DATA_LOSS) are retried; any other drops the export, counted under
``gRPC <CODE>``. Network errors are always retried.
"""

from __future__ import annotations

import base64
import http.client
import logging
import ssl
import threading

import grpc
from horde.output import ConnectionFailed, KeepAliveConnection, PermanentError, RetryableError, SplitPayload
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from .aggregate import Export, split_export
from .config import Config

__all__ = ["GRPC_METHOD", "GrpcSender", "HttpSender", "make_sender"]

USER_AGENT = "horde-out-otel"
GRPC_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
RETRYABLE_GRPC = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class _Sender:
    """What both transports share: counting points the receiver refused in a partial success."""

    def __init__(self, cfg: Config, logger: logging.Logger) -> None:
        self.cfg = cfg
        self.log = logger
        self._lock = threading.Lock()
        self.rejected = 0
        """Data points the receiver accepted the request of but rejected (OTLP partial success)."""

    def _partial(self, answer: ExportMetricsServiceResponse) -> None:
        rejected = answer.partial_success.rejected_data_points
        if rejected:
            with self._lock:
                self.rejected += rejected
            self.log.warning(
                "opentelemetry: %s rejected %d data points: %s",
                self.cfg.target,
                rejected,
                answer.partial_success.error_message or "no reason given",
            )


class HttpSender(_Sender):
    """``send(export)`` over HTTP/protobuf with one keep-alive connection (the delivery uses one sender thread)."""

    def __init__(self, cfg: Config, logger: logging.Logger) -> None:
        super().__init__(cfg, logger)
        https = not cfg.http_exporter_insecure
        self._context: ssl.SSLContext | None = None
        if https:
            ctx = ssl.create_default_context(cafile=cfg.tls_certificate or None)
            if cfg.tls_client_certificate:
                ctx.load_cert_chain(cfg.tls_client_certificate, cfg.tls_client_key)
            if cfg.tls_insecure_skip_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._context = ctx
        self._headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-protobuf", **cfg.headers}
        if cfg.username or cfg.password:
            token = base64.b64encode(f"{cfg.username}:{cfg.password}".encode()).decode("ascii")
            self._headers["Authorization"] = "Basic " + token
        scheme = "https" if https else "http"
        self._conn = KeepAliveConnection(
            f"{scheme}://{cfg.http_exporter_endpoint}", timeout=cfg.timeout, context=self._context
        )

    def __call__(self, export: Export) -> None:
        """POST ``export``; raise what tells the delivery to retry or drop it."""
        try:
            answer = self._conn.request("POST", self.cfg.http_exporter_url_path, export.body, self._headers)
        except ConnectionFailed as exc:
            raise RetryableError(exc.reason) from None
        status, data = answer.status, answer.body
        if 200 <= status < 300:
            if data:
                try:
                    self._partial(ExportMetricsServiceResponse.FromString(data))
                except Exception:  # noqa: BLE001 - an answer we cannot read still means written
                    pass
            return
        text = f"HTTP {status} {http.client.responses.get(status, '')}".strip()
        body = " ".join(data[:200].decode("utf-8", "replace").split())
        if status == 413:
            _split(export, text)
        if status == 429 or status >= 500:
            raise RetryableError(f"{text}: {body}" if body else text, retry_after=answer.retry_after)
        self.log.warning(
            "opentelemetry: %s refused an export: %s%s", self.cfg.target, text, f": {body}" if body else ""
        )
        raise PermanentError(f"HTTP {status}")

    def abort(self) -> None:
        """From any thread: fail the request in flight now, and every later one."""
        self._conn.abort()

    def close(self) -> None:
        """Drop the connection (a later send opens a new one)."""
        self._conn.close()


class GrpcSender(_Sender):
    """``send(export)`` as the OTLP MetricsService/Export unary call over one gRPC channel."""

    def __init__(self, cfg: Config, logger: logging.Logger) -> None:
        super().__init__(cfg, logger)
        target = cfg.grpc_exporter_endpoint
        options = [("grpc.primary_user_agent", USER_AGENT)]
        if cfg.grpc_exporter_insecure:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            creds = grpc.ssl_channel_credentials(
                root_certificates=_read(cfg.tls_certificate) if cfg.tls_certificate else None,
                private_key=_read(cfg.tls_client_key) if cfg.tls_client_key else None,
                certificate_chain=_read(cfg.tls_client_certificate) if cfg.tls_client_certificate else None,
            )
            self._channel = grpc.secure_channel(target, creds, options=options)
        self._call: grpc.UnaryUnaryMultiCallable[bytes, ExportMetricsServiceResponse] = self._channel.unary_unary(
            GRPC_METHOD, request_serializer=None, response_deserializer=ExportMetricsServiceResponse.FromString
        )
        self._metadata = tuple((k.lower(), v) for k, v in cfg.headers.items())
        self._aborted = False

    def __call__(self, export: Export) -> None:
        """Call Export with ``export``; raise what tells the delivery to retry or drop it."""
        if self._aborted:
            raise RetryableError("aborted at the stop deadline")
        try:
            answer = self._call(export.body, timeout=self.cfg.timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
            details = (exc.details() if isinstance(exc, grpc.Call) else "") or ""
            text = f"gRPC {code.name}" + (f": {' '.join(details.split())[:200]}" if details else "")
            if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in details:
                _split(export, text)
            if code in RETRYABLE_GRPC:
                raise RetryableError(text) from None
            self.log.warning("opentelemetry: %s refused an export: %s", self.cfg.target, text)
            raise PermanentError(f"gRPC {code.name}") from None
        self._partial(answer)

    def abort(self) -> None:
        """From any thread: cancel the call in flight now, and fail every later one."""
        self._aborted = True
        self._channel.close()

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def _split(export: Export, reason: str) -> None:
    """Raise :class:`SplitPayload` with ``export``'s halves; a single data point is refused for good."""
    parts = split_export(export)
    if parts is None:
        raise PermanentError(reason.split(":")[0] + " (a single data point)")
    raise SplitPayload(parts, reason)


def make_sender(cfg: Config, logger: logging.Logger) -> HttpSender | GrpcSender:
    """The sender for the configured protocol."""
    return GrpcSender(cfg, logger) if cfg.is_grpc else HttpSender(cfg, logger)
