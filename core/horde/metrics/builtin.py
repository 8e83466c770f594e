"""k6's 25 builtin metrics, with k6's names, types and value types."""

from __future__ import annotations

from .metric import Metric, MetricRegistry
from .types import MetricType, ValueType

__all__ = ["BuiltinMetrics", "BUILTIN_METRICS"]

C, G, T, R = MetricType.COUNTER, MetricType.GAUGE, MetricType.TREND, MetricType.RATE
D, TM, DA = ValueType.DEFAULT, ValueType.TIME, ValueType.DATA

BUILTIN_METRICS: tuple[tuple[str, MetricType, ValueType], ...] = (
    ("vus", G, D),
    ("vus_max", G, D),
    ("iterations", C, D),
    ("iteration_duration", T, TM),
    ("dropped_iterations", C, D),
    ("data_received", C, DA),
    ("data_sent", C, DA),
    ("checks", R, D),
    ("group_duration", T, TM),
    ("http_reqs", C, D),
    ("http_req_failed", R, D),
    ("http_req_duration", T, TM),
    ("http_req_blocked", T, TM),
    ("http_req_connecting", T, TM),
    ("http_req_tls_handshaking", T, TM),
    ("http_req_sending", T, TM),
    ("http_req_waiting", T, TM),
    ("http_req_receiving", T, TM),
    ("ws_sessions", C, D),
    ("ws_msgs_sent", C, D),
    ("ws_msgs_received", C, D),
    ("ws_ping", T, TM),
    ("ws_session_duration", T, TM),
    ("ws_connecting", T, TM),
    ("grpc_req_duration", T, TM),
)
"""(name, type, value type) of every builtin metric, as in k6's metrics/builtin.go."""


class BuiltinMetrics:
    """The builtin metrics registered in one :class:`MetricRegistry`, as attributes.

    ``http_request`` is the tuple of the 9 metrics of one HTTP request, in k6's
    order, to pair with a tuple of values in a :class:`ConnectedSamples`.
    """

    vus: Metric
    vus_max: Metric
    iterations: Metric
    iteration_duration: Metric
    dropped_iterations: Metric
    data_received: Metric
    data_sent: Metric
    checks: Metric
    group_duration: Metric
    http_reqs: Metric
    http_req_failed: Metric
    http_req_duration: Metric
    http_req_blocked: Metric
    http_req_connecting: Metric
    http_req_tls_handshaking: Metric
    http_req_sending: Metric
    http_req_waiting: Metric
    http_req_receiving: Metric
    ws_sessions: Metric
    ws_msgs_sent: Metric
    ws_msgs_received: Metric
    ws_ping: Metric
    ws_session_duration: Metric
    ws_connecting: Metric
    grpc_req_duration: Metric

    def __init__(self, registry: MetricRegistry) -> None:
        for name, mtype, vtype in BUILTIN_METRICS:
            setattr(self, name, registry.get_or_new(name, mtype, vtype))
        self.http_request: tuple[Metric, ...] = (
            self.http_reqs,
            self.http_req_duration,
            self.http_req_blocked,
            self.http_req_connecting,
            self.http_req_tls_handshaking,
            self.http_req_sending,
            self.http_req_waiting,
            self.http_req_receiving,
            self.http_req_failed,
        )
        self.http_request_no_failed: tuple[Metric, ...] = self.http_request[:-1]
        self.iteration_end: tuple[Metric, ...] = (
            self.data_sent,
            self.data_received,
            self.iteration_duration,
            self.iterations,
        )
