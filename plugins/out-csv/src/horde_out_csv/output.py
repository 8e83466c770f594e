"""The ``csv`` output: every sample as one row of a k6-compatible CSV file.

``add_samples`` only appends to a buffer; a flusher thread formats and writes
the rows every ``saveInterval``, so the engine's event loop never waits on
formatting, compression or the disk.
"""

from __future__ import annotations

import atexit
import logging
import operator
import threading
from collections.abc import Sequence
from typing import BinaryIO

from horde.metrics import SampleContainer, parse_system_tags
from horde.output import OutputConfigError, Params, PeriodicFlusher, RunError, SampleBuffer, hookimpl

from .config import CsvConfig, consolidate, format_duration
from .rows import RowFormatter
from .sink import FileSink, Sink, StdoutSink, open_file

__all__ = ["CsvOutput"]

CHUNK = 2048
"""Containers formatted per write, bounding the text held in memory at once."""

_values = operator.attrgetter("values")


class CsvOutput:
    """k6-compatible CSV of every sample: --out csv[=FILE | fileName=…,saveInterval=…,timeFormat=…]."""

    def __init__(self, params: Params) -> None:
        self.config: CsvConfig = consolidate(params.json_config, params.environment, params.config_argument)
        options = params.script_options or {}
        self.formatter = RowFormatter(
            parse_system_tags(options.get("systemTags")), self.config.time_format, binary=not self.config.to_stdout
        )
        self._logger = params.logger or logging.getLogger("horde.output.csv")
        self._stdout = params.stdout
        self._buffer = SampleBuffer()
        self._flusher: PeriodicFlusher | None = None
        self._sink: Sink[bytes] | Sink[str] | None = None
        self._lock = threading.Lock()
        self._stopped = False
        self._write_errors = 0
        self.written = 0
        """Rows written so far (the header not counted)."""
        # Created now, as k6 does, so a bad path fails before the run starts.
        self._raw: BinaryIO | None = None if self.config.to_stdout else open_file(self.config.file_name)

    @property
    def file_name(self) -> str:
        """The file written, or ``-`` for standard output."""
        return "-" if self.config.to_stdout else self.config.file_name

    @hookimpl
    def description(self) -> str:
        return "csv (stdout)" if self.config.to_stdout else f"csv ({self.config.file_name})"

    @hookimpl
    def start(self) -> None:
        interval = self.config.save_interval
        if interval <= 0:
            self._close_quietly()
            raise OutputConfigError(f"metric flush period should be positive but was {format_duration(interval)}")
        if self._raw is not None:
            self._sink = FileSink(self._raw, self.config.gzip)
        else:
            self._sink = StdoutSink(self._stdout)
        try:
            self._sink.write(self.formatter.header())
            self._sink.flush()
        except OSError as exc:
            self._logger.error("CSV: Error writing column names to file %s: %s", self.file_name, exc)
        self._flusher = PeriodicFlusher(interval / 1e9, self._flush, name="horde-csv-flusher")
        atexit.register(self._at_exit)

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        self._buffer.add(samples)

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        """Write what is buffered, then close the file (gzip stream first). Safe to call twice."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._finish()
        atexit.unregister(self._at_exit)  # only once finished: a Ctrl-C inside stop still leaves the exit hook
        if self._write_errors:
            self._logger.error(
                "CSV: %d writes to %s failed; the file is incomplete", self._write_errors, self.file_name
            )

    @hookimpl
    def report(self) -> dict[str, int]:
        """Rows written, and failed writes if any, for the end-of-test summary."""
        counts = {"written": self.written}
        if self._write_errors:
            counts["failed_writes"] = self._write_errors
        return counts

    def _finish(self) -> None:
        """Last flush and close; idempotent."""
        try:
            if self._flusher is not None:
                self._flusher.stop()
        finally:
            self._close_quietly(raise_errors=True)

    def _at_exit(self) -> None:
        """Finish the file if the process exits without ``stop`` (an engine crash, a second Ctrl-C)."""
        self._stopped = True
        try:
            self._finish()
        except Exception as exc:  # nothing else can be done at exit
            self._logger.error("CSV: closing %s at exit failed: %s", self.file_name, exc)

    def _close_quietly(self, raise_errors: bool = False) -> None:
        sink, self._sink = self._sink, None
        raw, self._raw = self._raw, None
        try:
            if sink is not None:
                sink.close()
            elif raw is not None:
                raw.close()
        except OSError as exc:
            self._logger.error("CSV: Error closing file %s: %s", self.file_name, exc)
            if raise_errors:
                raise

    def _flush(self) -> None:
        batch = self._buffer.take()
        if not batch or self._sink is None:
            return
        rows = self.formatter.rows
        written = 0
        try:
            for i in range(0, len(batch), CHUNK):
                chunk = batch[i : i + CHUNK]
                self._sink.write(rows(chunk))
                written += sum(map(len, map(_values, chunk)))
            self._sink.flush()
        except OSError as exc:
            self._write_errors += 1
            if self._write_errors == 1:
                self._logger.error("CSV: Error writing to file %s: %s", self.file_name, exc)
        self.written += written
