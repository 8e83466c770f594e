"""The ``web-dashboard`` output: a live dashboard while the test runs, an HTML report at the end.

``add_samples`` only appends to a buffer. A flusher thread aggregates what
arrived every second (at most) and closes a period every ``period``: the
period's snapshot and the run's cumulative aggregates go to the browsers as
Server-Sent Events. At ``stop`` the last (partial) period is closed, the
report is written to ``export`` and the server ends, within a deadline.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import webbrowser
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from horde.metrics import SampleContainer
from horde.output import (
    OutputConfigError,
    Params,
    PeriodicFlusher,
    RunError,
    RunStatus,
    SampleBuffer,
    Threshold,
    hookimpl,
)

from .aggregate import Aggregator
from .config import DashboardConfig, consolidate
from .page import render_page, to_json
from .server import DashboardServer

__all__ = ["DashboardOutput", "MAX_PERIODS", "STOP_TIMEOUT"]

MAX_PERIODS = 2880
"""Periods kept for the charts and the report (8 hours at the default 10 s); older ones are dropped."""

STOP_TIMEOUT = 5.0
"""Seconds the server gets at ``stop`` to finish its streams and threads."""

TICK = 1.0
"""Longest time samples wait in the buffer before they are aggregated, in seconds."""


class DashboardOutput:
    """k6's web dashboard: --out web-dashboard[=port=5665&host=…&period=10s&open&export=report.html]."""

    def __init__(self, params: Params) -> None:
        self.config: DashboardConfig = consolidate(params.json_config, params.environment, params.config_argument)
        self._logger = params.logger or logging.getLogger("horde.output.web-dashboard")
        self.title = params.script_path.name if params.script_path is not None else "horde run"
        self._buffer = SampleBuffer()
        self._thresholds: dict[str, list[Threshold]] = {}
        self._aggregator = Aggregator()
        self._flusher: PeriodicFlusher | None = None
        self.server: DashboardServer | None = None
        self._lock = threading.Lock()  # guards what the server threads read: snapshots, cumulative, status
        self._snapshots: deque[dict[str, Any]] = deque(maxlen=MAX_PERIODS)
        self._cumulative: dict[str, Any] | None = None
        self._status = "running"
        self._started = 0.0
        self._running_since = 0.0
        self._started_ms = 0
        self._period_start = 0.0
        self._stopped = False
        self.aggregated = 0
        """Samples aggregated so far."""
        self.report_bytes = 0
        """Size of the report written at stop (0 when none)."""
        self.refused = 0
        """Samples handed after stop, not aggregated."""
        if self.config.export:
            parent = Path(self.config.export).resolve().parent
            if not parent.is_dir():
                raise OutputConfigError(
                    f"cannot export the report to {self.config.export}: directory {parent} does not exist"
                )

    @property
    def url(self) -> str:
        """Where the dashboard is served ("" when the server is disabled)."""
        if self.server is not None:
            return DashboardConfig(self.config.host, self.server.port).url
        return self.config.url

    @hookimpl
    def description(self) -> str:
        parts = [self.url or "no server"]
        if self.config.export:
            parts.append(f"export {self.config.export}")
        return f"web-dashboard ({', '.join(parts)})"

    @hookimpl
    def set_thresholds(self, thresholds: Mapping[str, Sequence[Threshold]]) -> None:
        self._thresholds = {k: list(v) for k, v in thresholds.items()}

    @hookimpl
    def set_run_status(self, status: RunStatus) -> None:
        with self._lock:
            self._status = status.label
        if status == RunStatus.RUNNING and not self._running_since:
            self._running_since = time.monotonic()  # rates are per second of the test, as in k6's summary
        if self.server is not None:
            self.server.publish("status", to_json({"status": status.label}), kind="latest")

    @hookimpl
    def start(self) -> None:
        self._aggregator = Aggregator(self._thresholds)
        self._started = self._period_start = time.monotonic()
        self._started_ms = int(time.time() * 1000)
        if self.config.serves:
            server = DashboardServer(
                self.config.host, self.config.port, self._page, self._report, self._logger, MAX_PERIODS
            )
            try:
                server.start()
            except OSError as exc:
                where = f"{self.config.host}:{self.config.port}"
                if exc.errno == errno.EADDRINUSE:
                    raise OutputConfigError(
                        f"the dashboard's address {where} is already in use: choose another port with "
                        "K6_WEB_DASHBOARD_PORT or port=…, or -1 for no server"
                    ) from None
                raise OutputConfigError(f"cannot serve the dashboard on {where}: {exc.strerror or exc}") from None
            self.server = server
            server.publish("config", to_json(self._config_event()), kind="head")
            self._logger.info("%s", self.url)
        self._flusher = PeriodicFlusher(min(TICK, self.config.period / 1e9), self._tick, name="horde-dashboard")
        if self.config.open and self.server is not None:
            # a thread of its own: $BROWSER may name a program that runs until the user closes it
            threading.Thread(target=self._open_browser, name="horde-dashboard-open", daemon=True).start()

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        if self._stopped:
            self.refused += sum(map(len, samples))
            return
        self._buffer.add(samples)

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        """Aggregate what is left, close the last period, write the report, end the server. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            if self._flusher is not None:
                self._flusher.stop()
            self._close_period()
            status = error.run_status.label if error is not None else "finished"
            with self._lock:
                self._status = status
            if self.server is not None:
                self.server.publish("stop", to_json({"status": status}), kind="latest")
            if self.config.export:
                self._write_report()
        finally:
            if self.server is not None:
                self.server.stop(STOP_TIMEOUT)

    @hookimpl
    def report(self) -> dict[str, int]:
        """Samples aggregated; samples refused after stop, browsers disconnected for being too slow
        and a report that could not be written, if any."""
        counts = {"aggregated": self.aggregated}
        if self.refused:
            counts["refused_after_stop"] = self.refused
        if self.config.export and not self.report_bytes:
            counts["report_not_written"] = 1
        if self.server is not None and self.server.slow_clients:
            counts["slow_clients_dropped"] = self.server.slow_clients
        return counts

    def _open_browser(self) -> None:
        try:
            opened = webbrowser.open(self.url)
        except Exception as exc:  # a broken $BROWSER must not end the run
            self._logger.warning("web-dashboard: cannot open a browser at %s: %s", self.url, exc)
            return
        if not opened:
            self._logger.warning("web-dashboard: no browser to open; the dashboard is at %s", self.url)

    def _config_event(self) -> dict[str, Any]:
        return {"title": self.title, "period": self.config.period / 1e9, "started": self._started_ms}

    def _tick(self) -> None:
        """Aggregate the buffered samples; close the period once it is over (on the flusher thread)."""
        batch = self._buffer.take()
        if batch:
            self._aggregator.add(batch)
            self.aggregated += sum(map(len, batch))
        if time.monotonic() - self._period_start >= self.config.period / 1e9 - 1e-3:
            self._close_period()

    def _close_period(self) -> None:
        now = time.monotonic()
        period_s = max(now - self._period_start, 1e-9)
        self._period_start = now
        time_ms = int(time.time() * 1000)
        snapshot = self._aggregator.close_period(time_ms, period_s)
        cumulative = self._aggregator.cumulative(time_ms, now - (self._running_since or self._started))
        snapshot["thresholds"] = [[t["value"], t["ok"]] for t in cumulative["thresholds"]]
        with self._lock:
            self._snapshots.append(snapshot)
            self._cumulative = cumulative
        if self.server is not None:
            self.server.publish("snapshot", to_json(snapshot))
            self.server.publish("cumulative", to_json(cumulative), kind="latest")

    def report_data(self) -> dict[str, Any]:
        """What the report embeds: configuration, every period, the cumulative aggregates, the status."""
        with self._lock:
            return {
                "config": self._config_event(),
                "snapshots": list(self._snapshots),
                "cumulative": self._cumulative,
                "status": self._status,
            }

    def _page(self) -> bytes:
        return render_page(self.title, None).encode()

    def _report(self) -> bytes:
        return render_page(self.title, self.report_data()).encode()

    def _write_report(self) -> None:
        path = self.config.export
        body = self._report()
        tmp = f"{path}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, path)
        except OSError as exc:
            self._logger.error("cannot write the report %s: %s", path, exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return
        self.report_bytes = len(body)
        self._logger.info("report written to %s (%d bytes)", path, len(body))
