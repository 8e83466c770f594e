"""A VUState for tests: emitted containers are collected in a list."""

from horde.metrics import DEFAULT_SYSTEM_TAGS, BuiltinMetrics, MetricRegistry, TagSet
from horde.vustate import VUState


class VU:
    """A VUState whose emitted containers land in ``.samples``."""

    def __init__(self, system_tags=DEFAULT_SYSTEM_TAGS, tags=None, options=None):
        self.samples = []
        self.builtin = BuiltinMetrics(MetricRegistry())
        self.state = VUState(
            1,
            builtin=self.builtin,
            emit=self.samples.append,
            system_tags=system_tags,
            base_tags=TagSet.of(tags or {}),
            options=options,
        )
        self.state.iteration = 0
