"""Where the CSV text goes: a buffered file, a gzip stream in a file, or standard output."""

from __future__ import annotations

import gzip
from typing import AnyStr, BinaryIO, Generic, TextIO

from horde.output import OutputConfigError

__all__ = ["BUFFER_SIZE", "Sink", "FileSink", "StdoutSink", "open_file"]

BUFFER_SIZE = 1 << 20
"""Bytes buffered before a file write (rows are also flushed every save interval)."""


class Sink(Generic[AnyStr]):
    """Accepts rows (UTF-8 ``bytes`` for a file, ``str`` for standard output); ``flush`` pushes
    them to the OS; ``close`` finishes the stream."""

    def write(self, data: AnyStr) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_file(path: str) -> BinaryIO:
    """Create (or truncate) ``path`` for writing; a failure is a one-line config error, as k6's."""
    try:
        return open(path, "wb", buffering=BUFFER_SIZE)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputConfigError(f"open {path}: {reason[:1].lower()}{reason[1:]}") from None


class FileSink(Sink[bytes]):
    """UTF-8 rows into an open binary file, gzip-compressed (Go's default level 6) when asked."""

    def __init__(self, raw: BinaryIO, compress: bool) -> None:
        self._raw = raw
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) if compress else None
        self._out: BinaryIO | gzip.GzipFile = raw if self._gz is None else self._gz

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def flush(self) -> None:
        # gzip data stays in the compressor until close, as in k6; only the file buffer is pushed
        self._raw.flush()

    def close(self) -> None:
        try:
            if self._gz is not None:
                self._gz.close()
        finally:
            self._raw.close()


class StdoutSink(Sink[str]):
    """Rows to a text stream (the run's stdout); closing only flushes it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
