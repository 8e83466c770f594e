"""The built-in ``json`` output: k6-compatible newline-delimited JSON.

``--out json=results.json`` (``.gz`` compresses; ``-`` or nothing writes to
stdout). Each metric is declared by one ``Metric`` line before its first
``Point`` line; tags are sorted; values and times are written as k6 v1.x does.

Lines are formatted and written in ``add_samples``, which runs on the output's
own delivery thread: what has not been written waits in the Manager's bounded
queue (spilled to disk past its bound), never in an unbounded buffer here.
Every call ends with whole lines handed to the operating system.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..metrics import Metric, SampleContainer, TagSet
from ..metrics.gofmt import go_float, rfc3339_nano
from ..output import Params, RunError, hookimpl

__all__ = ["JsonOutput"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


class JsonOutput:
    """k6-compatible NDJSON of every sample: --out json=FILE (.gz compresses, - is stdout)."""

    def __init__(self, params: Params) -> None:
        self.filename = params.config_argument.strip()
        self._stdout = params.stdout
        self._logger = params.logger or logging.getLogger("horde.output.json")
        self._thresholds: Mapping[str, Any] = {}
        self._declared: set[str] = set()
        self._tag_cache: dict[TagSet, str] = {}
        self._prefixes: dict[tuple, tuple[str, ...]] = {}
        self._file: Any = None
        self.written = 0
        """Point lines written so far."""

    @property
    def to_stdout(self) -> bool:
        return self.filename in ("", "-")

    @hookimpl
    def description(self) -> str:
        return "json(stdout)" if self.to_stdout else f"json ({self.filename})"

    @hookimpl
    def set_thresholds(self, thresholds: Mapping[str, Any]) -> None:
        self._thresholds = thresholds

    @hookimpl
    def start(self) -> None:
        if self.to_stdout:
            self._file = None
        elif self.filename.endswith(".gz"):
            self._file = gzip.open(self.filename, "wt", encoding="utf-8", newline="\n")
        else:
            self._file = open(self.filename, "w", encoding="utf-8", newline="\n", buffering=1 << 20)

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        if samples:
            self._write(samples)

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        else:
            self._stdout.flush()

    @hookimpl
    def report(self) -> dict:
        """Points written, for the end-of-test summary."""
        return {"written": self.written}

    def _metric_line(self, metric: Metric) -> str:
        thresholds = [t.to_json() if hasattr(t, "to_json") else str(t) for t in self._thresholds.get(metric.name, ())]
        subs = [s.to_json() for s in metric.submetrics] or None
        data = {
            "name": metric.name,
            "type": str(metric.type),
            "contains": str(metric.contains),
            "thresholds": thresholds,
            "submetrics": subs,
        }
        return (
            '{"type":"Metric","data":'
            + json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            + ',"metric":'
            + json.dumps(metric.name)
            + "}\n"
        )

    def _tags(self, tags: TagSet) -> str:
        """``,"tags":{...}`` for ``tags``, cached per (interned) tag set."""
        text = self._tag_cache.get(tags)
        if text is None:
            text = self._tag_cache[tags] = ',"tags":' + _dumps(dict(tags.items()))
        return text

    def _prefixes_of(self, metrics) -> tuple[str, ...]:
        """The ``{"metric":"name`` prefixes of ``metrics``, cached per metrics tuple."""
        names = tuple('{"metric":"' + m.name for m in metrics)
        try:
            self._prefixes[metrics] = names
        except TypeError:  # a list of metrics: not cacheable
            pass
        return names

    def _write(self, batch: Sequence[SampleContainer]) -> None:
        lines: list[str] = []
        append = lines.append
        prefixes = self._prefixes
        points = 0
        for c in batch:
            metrics = c.metrics
            try:
                names = prefixes[metrics]
            except (KeyError, TypeError):
                names = None
            values = c.values
            points += len(values)
            when = '","type":"Point","data":{"time":"' + rfc3339_nano(c.time) + '","value":'
            md = c.metadata
            tail = self._tags(c.tags) + ((',"metadata":' + _dumps(md) + "}}\n") if md else "}}\n")
            if names is None:  # first sight of these metrics: each Metric line goes right before its first Point
                names = self._prefixes_of(metrics)
                for metric, prefix, value in zip(metrics, names, values):
                    if metric.name not in self._declared:
                        self._declared.add(metric.name)
                        append(self._metric_line(metric))
                    append(prefix + when + go_float(value) + tail)
                continue
            for prefix, value in zip(names, values):
                append(prefix + when + go_float(value) + tail)
        text = "".join(lines)
        self.written += points
        if self._file is not None:
            self._file.write(text)
            self._file.flush()
        else:
            self._stdout.write(text)
