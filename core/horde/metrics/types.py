"""Metric and value types, numbered as k6 numbers them."""

from __future__ import annotations

import enum

__all__ = ["MetricType", "ValueType"]


class MetricType(enum.IntEnum):
    """What a metric aggregates: k6's counter=0, gauge=1, trend=2, rate=3."""

    COUNTER = 0
    GAUGE = 1
    TREND = 2
    RATE = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> MetricType:
        """Parse k6's lowercase name (``"trend"``); raise ``ValueError('invalid metric type')``."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError("invalid metric type") from None


class ValueType(enum.IntEnum):
    """What a metric's values mean: k6's default=0, time=1 (milliseconds), data=2 (bytes)."""

    DEFAULT = 0
    TIME = 1
    DATA = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> ValueType:
        """Parse k6's lowercase name (``"time"``); raise ``ValueError`` when unknown."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"invalid value type {text!r}") from None
