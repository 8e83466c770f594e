from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

_C = TypeVar("_C")

class Fields:
    """The five fields of a sample container (metrics, values, time, tags, metadata)."""

    metrics: Sequence[Any]
    values: Sequence[float]
    time: int
    tags: Any
    metadata: Mapping[str, str] | None
    def __init__(
        self,
        metrics: Sequence[Any],
        values: Sequence[float],
        time: int,
        tags: Any,
        metadata: Mapping[str, str] | None = None,
    ) -> None: ...

def build(
    cls: type[_C],
    metrics: Sequence[Any],
    values: Sequence[Any],
    k: int,
    times: list[int],
    tags: list[Any],
    metadata: list[Any] | None,
    /,
) -> list[_C]:
    """len(times) instances of cls sharing metrics: values[i*k:(i+1)*k] each (k > 0), or values[i] (k == 0)."""
