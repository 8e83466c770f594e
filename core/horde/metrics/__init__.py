"""The metrics model: metrics, tag sets, samples, containers, builtin metrics and sinks.

Mirrors k6's ``metrics`` package. Output plugins build on this and on
:mod:`horde.output`.
"""

from .builtin import BUILTIN_METRICS, BuiltinMetrics
from .gofmt import go_float, go_float_decimal, go_float_fixed, rfc3339_nano
from .metric import Metric, MetricError, MetricRegistry, Submetric, check_metric_name
from .sample import ConnectedSamples, Sample, SampleContainer
from .sinks import RELATIVE_ACCURACY, CounterSink, GaugeSink, RateSink, Sink, TrendSink, new_sink
from .store import MetricStore
from .systemtags import DEFAULT_SYSTEM_TAGS, METADATA_SYSTEM_TAGS, SYSTEM_TAGS, parse_system_tags
from .tags import EMPTY_TAGS, TagSet
from .types import MetricType, ValueType

__all__ = [
    "BUILTIN_METRICS",
    "BuiltinMetrics",
    "ConnectedSamples",
    "CounterSink",
    "DEFAULT_SYSTEM_TAGS",
    "EMPTY_TAGS",
    "GaugeSink",
    "METADATA_SYSTEM_TAGS",
    "Metric",
    "MetricError",
    "MetricRegistry",
    "MetricStore",
    "MetricType",
    "RELATIVE_ACCURACY",
    "RateSink",
    "SYSTEM_TAGS",
    "Sample",
    "SampleContainer",
    "Sink",
    "Submetric",
    "TagSet",
    "TrendSink",
    "ValueType",
    "check_metric_name",
    "go_float",
    "go_float_decimal",
    "go_float_fixed",
    "new_sink",
    "parse_system_tags",
    "rfc3339_nano",
]
