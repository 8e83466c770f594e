"""Everything a sink holds, to compare two sinks bit for bit (used by the batch vs one-by-one tests)."""

from __future__ import annotations

from horde.metrics import TrendSink

PERCENTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]


def sink_state(sink) -> str:
    """A repr of the sink's whole state: -0.0 and 0.0, NaN, 1 and 1.0 and bucket counts all differ."""
    if isinstance(sink, TrendSink):
        exact = None if sink._exact is None else list(sink._exact)  # before percentile() sorts it
        state = (
            sink.count,
            sink.sum,
            sink.min,
            sink.max,
            sink._zero,
            sorted(sink._pos.items()),
            sorted(sink._neg.items()),
            exact,
            sink.buckets(),
            [sink.percentile(p) for p in PERCENTILES],
            sink.aggregates(1.0),
        )
    else:
        state = ({slot: getattr(sink, slot) for slot in type(sink).__slots__}, sink.aggregates(1.0))
    return repr(state)
