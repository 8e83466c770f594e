"""A minimal protobuf (proto3) wire-format reader: varints, fixed64, length-delimited fields.

Only what k6's ``MetricSet`` needs. Unknown fields are skipped, as protobuf
requires, so newer k6 versions that add fields still decode.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

__all__ = [
    "Budget",
    "DecodeError",
    "TooManyValues",
    "as_double",
    "as_sint",
    "fields",
    "packed_varints",
    "read_varint",
]

_DOUBLE = struct.Struct("<d")


class DecodeError(ValueError):
    """The bytes are not a valid protobuf message of the expected shape."""


class TooManyValues(DecodeError):
    """A message holds more values than the decoder's :class:`Budget` allows."""


Buffer = bytes | bytearray | memoryview
"""What the reader decodes: slices of a ``memoryview`` share the push's memory instead of copying it."""


class Budget:
    """How many protobuf values (fields and packed varints) one decode may still read.

    Counted while decoding, so a small body that expands to millions of
    values fails after ``limit`` of them, at a bounded cost in time and memory.
    """

    __slots__ = ("left", "limit", "what")

    def __init__(self, limit: int, what: str = "protobuf values") -> None:
        self.limit = limit
        self.left = limit
        self.what = what

    def take(self, n: int = 1) -> None:
        """Spend ``n`` values; raise :class:`TooManyValues` past the limit."""
        self.left -= n
        if self.left < 0:
            raise TooManyValues(f"more than {self.limit} {self.what} in one message")


_UNLIMITED = Budget(1 << 62)


def read_varint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read a base-128 varint at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    n = len(buf)
    while True:
        if pos >= n:
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint longer than 10 bytes")


def fields(buf: Buffer, budget: Budget = _UNLIMITED) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value) for every field of one message.

    Varints give an int, fixed64/fixed32 give the raw 8/4 bytes, and
    length-delimited fields give a slice of ``buf`` (of a ``memoryview``
    ``buf``: a view, no copy). Each field is taken from ``budget``.
    """
    pos = 0
    n = len(buf)
    while pos < n:
        budget.take()
        key, pos = read_varint(buf, pos)
        num, wt = key >> 3, key & 7
        val: int | Buffer
        if num == 0:
            raise DecodeError("field number 0")
        if wt == 0:
            val, pos = read_varint(buf, pos)
        elif wt == 1:
            if pos + 8 > n:
                raise DecodeError("truncated fixed64")
            val = buf[pos : pos + 8]
            pos += 8
        elif wt == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > n:
                raise DecodeError("truncated length-delimited field")
            val = buf[pos : pos + length]
            pos += length
        elif wt == 5:
            if pos + 4 > n:
                raise DecodeError("truncated fixed32")
            val = buf[pos : pos + 4]
            pos += 4
        else:
            raise DecodeError(f"unsupported wire type {wt}")
        yield num, wt, val


def packed_varints(wt: int, val: Any, budget: Budget = _UNLIMITED) -> list[int]:
    """The ints of a repeated varint field, packed (wire type 2) or not (wire type 0); each packed
    int is taken from ``budget``."""
    if wt == 0:
        return [val]
    if wt != 2:
        raise DecodeError("repeated varint field with wrong wire type")
    out = []
    buf: Buffer = val
    pos = 0
    n = len(buf)
    while pos < n:
        budget.take()
        v, pos = read_varint(buf, pos)
        out.append(v)
    return out


def as_double(wt: int, val: Any) -> float:
    """A ``double`` field's value."""
    if wt != 1:
        raise DecodeError("double field with wrong wire type")
    value: float = _DOUBLE.unpack(val)[0]
    return value


def as_sint(value: int, bits: int = 64) -> int:
    """Reinterpret a varint as a two's-complement signed int (protobuf ``int64``/``int32``)."""
    if value >= 1 << (bits - 1):
        value -= 1 << 64 if value >= 1 << 63 else 1 << bits
    return value
