"""Samples and sample containers.

A container is what travels from the engine to the outputs. Every container,
including a lone :class:`Sample`, exposes the same five attributes:

``time``      end time in integer nanoseconds since the Unix epoch
``tags``      the :class:`TagSet` every sample of the container shares
``metadata``  a dict of non-indexed values (``vu``, ``iter``, ``trace_id``) or None
``metrics``   a tuple of :class:`Metric`
``values``    a sequence of floats, parallel to ``metrics``

so an output can loop ``for m, v in zip(c.metrics, c.values)`` without
creating an object per sample. Iterating a container yields :class:`Sample`
objects for outputs that want them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .metric import Metric
from .tags import TagSet

__all__ = ["Sample", "ConnectedSamples", "SampleContainer"]


@runtime_checkable
class SampleContainer(Protocol):
    """What :meth:`add_samples` receives a list of."""

    @property
    def time(self) -> int: ...
    @property
    def tags(self) -> TagSet: ...
    @property
    def metadata(self) -> Mapping[str, str] | None: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def values(self) -> Sequence[float]: ...
    def __iter__(self) -> Iterator[Sample]: ...
    def __len__(self) -> int: ...


class Sample:
    """One measurement: a metric's value at a time, with tags and metadata.

    A lone sample is also a container holding itself.
    """

    __slots__ = ("metric", "time", "value", "tags", "metadata")

    def __init__(
        self,
        metric: Metric,
        time: int,
        value: float,
        tags: TagSet,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.metric = metric
        self.time = time
        self.value = value
        self.tags = tags
        self.metadata = metadata

    @property
    def metrics(self) -> tuple[Metric]:
        return (self.metric,)

    @property
    def values(self) -> tuple[float]:
        return (self.value,)

    def __iter__(self) -> Iterator[Sample]:
        yield self

    def __len__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return (self.metric, self.time, self.value, self.tags, self.metadata) == (
            other.metric,
            other.time,
            other.value,
            other.tags,
            other.metadata,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Sample({self.metric.name}, time={self.time}, value={self.value!r}, tags={self.tags!r})"


class _PyFields:
    """The five fields of :class:`ConnectedSamples` in Python: horde.metrics._connected's ``Fields`` when it is not built."""

    __slots__ = ("metrics", "values", "time", "tags", "metadata")

    def __init__(
        self,
        metrics: Sequence[Metric],
        values: Sequence[float],
        time: int,
        tags: TagSet,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.metrics = metrics
        self.values = values
        self.time = time
        self.tags = tags
        self.metadata = metadata


if TYPE_CHECKING:
    _Fields = _PyFields
else:
    try:  # the C fields: a container without a Python __init__ call
        from ._connected import Fields as _Fields
    except ImportError:  # installed without a C compiler
        _Fields = _PyFields


class ConnectedSamples(_Fields):
    """Samples sharing one time, tag set and metadata, such as the 9 of an HTTP request.

    Cheap to build on the hot path: it holds references, not per-sample objects.
    ``ConnectedSamples(metrics, values, time, tags, metadata=None)``.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.metrics, self.values, self.time, self.tags, self.metadata))

    def __iter__(self) -> Iterator[Sample]:
        t, tags, md = self.time, self.tags, self.metadata
        for m, v in zip(self.metrics, self.values):
            yield Sample(m, t, v, tags, md)

    def __len__(self) -> int:
        return len(self.metrics)

    def __repr__(self) -> str:
        names = ",".join(m.name for m in self.metrics)
        return f"ConnectedSamples([{names}], time={self.time}, tags={self.tags!r})"
