"""The ``cloud`` output: stream a run to horde-insights over k6's cloud protocol v2.

At start it creates the run (name, planned duration, max VUs, thresholds)
and prints the run's URL. Samples are aggregated per (time bucket, metric,
tag set) on the output's own thread and pushed as snappy-compressed
protobuf. Unlike k6, which drops a batch after three failed tries, a batch
leaves the outbox only once the service took it: on errors the output keeps
the data (in memory, then on disk), retries with exponential backoff and
jitter, and warns that connection errors are stacking up. At stop it flushes
everything, delivers what it can within ``stop_timeout`` and sends the
finish call with the run status.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any, Mapping

from horde.errors import AbortReason, ExitCode, UserError
from horde.output import Params, SampleBuffer, hookimpl

from . import __version__
from .aggregate import Aggregator
from .batch import Batch, build_batches
from .client import CloudClient, ResponseError, TransportError
from .config import CloudConfig
from .outbox import Outbox
from .plan import planned_vus_and_duration

__all__ = ["CloudOutput"]

FINISHED = 3


def _source(t: Any) -> str:
    for attr in ("source", "expression", "threshold"):
        v = getattr(t, attr, None)
        if isinstance(v, str):
            return v
    if isinstance(t, Mapping):
        return str(t.get("threshold", ""))
    return str(t)


def _failed(t: Any) -> bool:
    for attr in ("last_failed", "failed", "tainted"):
        v = getattr(t, attr, None)
        if isinstance(v, bool):
            return v
    return False


class CloudOutput:
    """Streams the run to horde-insights (k6 cloud protocol v2): --out cloud[=HOST]."""

    def __init__(self, params: Params) -> None:
        self.cfg = CloudConfig.load(params.json_config, params.environment, params.config_argument)
        self.params = params
        self.log = params.logger or logging.getLogger("horde.output.cloud")
        try:
            self.client = CloudClient(self.cfg.host, self.cfg.token, timeout=self.cfg.timeout,
                                      user_agent=f"horde-out-cloud/{__version__}")
        except ValueError as exc:
            raise UserError(f"cloud output: {exc}; set HORDE_CLOUD_HOST") from None
        self.period = int(self.cfg.aggregation_period)
        self._buffer = SampleBuffer()
        self._agg = Aggregator(self.period, self.cfg.aggregation_wait_period)
        self.outbox = Outbox(self.cfg.max_memory, self.cfg.spool_dir or None)
        self._thresholds: Mapping[str, Any] = {}
        self._run_status: int | None = None
        self.run_id: str | None = None
        self.url: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._refused: str | None = None
        # delivery state (sender thread only)
        self.failures = 0
        self.total_failures = 0
        self.sent_batches = 0
        self.sent_samples = 0
        self.dropped_batches = 0
        self.dropped_samples = 0
        self.undelivered_samples = 0
        self._last_success: float | None = None
        self._started = time.monotonic()
        self._last_warn = 0.0
        self._next_try = 0.0
        self._last_error = ""

    # -- hooks ------------------------------------------------------------------------------
    @hookimpl
    def description(self) -> str:
        return f"cloud ({self.url or self.client.base})"

    @hookimpl
    def set_thresholds(self, thresholds: Mapping[str, Any]) -> None:
        self._thresholds = thresholds or {}

    @hookimpl
    def set_run_status(self, status) -> None:
        self._run_status = int(status)

    @hookimpl
    def start(self) -> None:
        p = self.params
        name = self.cfg.name or (os.path.basename(str(p.script_path)) if p.script_path else "") or "horde test"
        vus, duration = planned_vus_and_duration(p.execution_plan, p.script_options)
        body = {
            "name": name,
            "vus": vus,
            "duration": int(round(duration)),
            "thresholds": {k: [_source(t) for t in v] for k, v in self._thresholds.items()},
        }
        reply = self._create(body)
        self.run_id = str(reply.get("reference_id") or "")
        if not self.run_id:
            raise UserError(f"cloud output: {self.client.base} did not return a reference_id for the new run")
        web = (reply.get("config") or {}).get("webAppURL") or self.client.base
        self.url = f"{str(web).rstrip('/')}/runs/{self.run_id}"
        for entry in reply.get("logs") or []:
            if isinstance(entry, Mapping):
                self.log.warning("cloud: %s", entry.get("message", ""))
        print(f"cloud: streaming results to {self.url}", file=p.stdout, flush=True)
        self._thread = threading.Thread(target=self._loop, name="horde-cloud-sender", daemon=True)
        self._thread.start()

    @hookimpl
    def add_samples(self, samples) -> None:
        self._buffer.add(samples)

    @hookimpl
    def stop(self, error) -> None:
        deadline = time.monotonic() + self.cfg.stop_timeout
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._drain(deadline)
        try:
            self._finish(error, deadline)
        finally:
            self.client.close()

    @hookimpl
    def report(self) -> dict:
        """Samples sent, failed pushes retried, and samples rejected or undelivered, for the summary."""
        return {"sent": self.sent_samples, "failed_pushes_retried": self.total_failures,
                "rejected": self.dropped_samples, "undelivered": self.undelivered_samples}

    # -- create and finish ----------------------------------------------------------------------
    def _create(self, body: dict) -> dict:
        key = os.urandom(8).hex()
        deadline = time.monotonic() + min(self.cfg.stop_timeout, 15.0)
        delay = 0.5
        while True:
            try:
                return self.client.post_json("/v1/tests", body, key=key)
            except ResponseError as exc:
                if not exc.retryable or time.monotonic() + delay > deadline:
                    raise UserError(f"cloud output: could not create the test run at {self.client.base}: "
                                    f"{exc}") from None
                self.log.warning("cloud: creating the test run failed (%s); retrying in %.1fs", exc, delay)
            except TransportError as exc:
                if time.monotonic() + delay > deadline:
                    raise UserError(f"cloud output: cannot reach {self.client.base} to create the test run: "
                                    f"{exc}") from None
                self.log.warning("cloud: cannot reach %s (%s); retrying in %.1fs", self.client.base, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 4.0)

    def _finish(self, error, deadline: float) -> None:
        if self.run_id is None:
            return
        status = FINISHED
        if error is not None:
            status = int(getattr(error, "run_status", 6))
        elif self._run_status is not None and self._run_status >= FINISHED and self._run_status != 4:
            status = self._run_status
        results: dict[str, dict[str, bool]] = {}
        tainted = False
        for key, ths in self._thresholds.items():
            for t in ths:
                failed = _failed(t)
                results.setdefault(key, {})[_source(t)] = failed
                tainted = tainted or failed
        if error is not None and (getattr(error, "reason", None) in (AbortReason.THRESHOLD,
                                                                      AbortReason.THRESHOLDS_AFTER_TEST_END)
                                  or getattr(error, "exit_code", None) == ExitCode.THRESHOLDS_HAVE_FAILED):
            tainted = True
        body = {"result_status": 1 if tainted else 0, "run_status": status, "thresholds": results}
        key = os.urandom(8).hex()
        delay = 0.5
        while True:
            try:
                self.client.post_json(f"/v1/tests/{self.run_id}", body, key=key)
                self.log.debug("cloud: run %s finished with run_status %s", self.run_id, status)
                return
            except (TransportError, ResponseError) as exc:
                retry = isinstance(exc, TransportError) or exc.retryable
                if not retry or time.monotonic() + delay > deadline:
                    self.log.error("cloud: failed to send test finished to %s: %s (the service will mark the "
                                   "run Timed out)", self.client.base, exc)
                    return
            time.sleep(delay)
            delay = min(delay * 2, self.cfg.retry_max_backoff)

    # -- sender thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.wait(self.cfg.push_interval):
            try:
                self._tick(final=False)
            except Exception:  # never let the sender die: data stays queued
                self.log.exception("cloud: unexpected error in the sender")
        self._tick(final=True, send=False)

    def _tick(self, *, final: bool, send: bool = True) -> None:
        self._agg.add(self._buffer.take())
        buckets = self._agg.collect(time.time_ns(), everything=final)
        if buckets:
            for batch in build_batches(self._agg, self.run_id or "", self.period, buckets,
                                       self.cfg.max_time_series_in_batch):
                self.outbox.put(batch)
        if self._agg.discarded_tags:
            for tag in sorted(self._agg.discarded_tags):
                self.log.warning("cloud: tag %s has been discarded since it is reserved for cloud operations", tag)
            self._agg.discarded_tags.clear()
        if send and time.monotonic() >= self._next_try:
            self._send_pending(budget=max(2.0, 5 * self.cfg.push_interval))

    def _send_pending(self, budget: float) -> bool:
        """Send waiting batches, oldest first, for at most ``budget`` seconds; False after a failure."""
        if self._refused:
            return False
        until = time.monotonic() + budget
        while time.monotonic() < until:
            batch = self.outbox.peek()
            if batch is None:
                return True
            try:
                self._push(batch)
            except (TransportError, ResponseError) as exc:
                if isinstance(exc, ResponseError) and not exc.retryable:
                    self._rejected(batch, exc)
                    if self._refused:
                        return False
                    continue
                self._failed(exc)
                return False
            self.outbox.done(batch)
            self._succeeded(batch)
        return True

    def _push(self, batch: Batch) -> None:
        self.client.request(
            f"/v2/metrics/{self.run_id}", batch.body, content_type="application/x-protobuf", key=batch.key,
            headers={"Content-Encoding": "snappy", "K6-Metrics-Protocol-Version": "2.0"},
        )

    def _succeeded(self, batch: Batch) -> None:
        now = time.monotonic()
        if self.failures:
            waiting, samples, _ = self.outbox.stats()
            self.log.warning("cloud: connection to %s restored after %d failed pushes (%.1fs); sending %d "
                             "samples still waiting", self.client.base, self.failures,
                             now - (self._last_success or self._started), samples + batch.samples)
        self.failures = 0
        self._last_success = now
        self._last_warn = 0.0
        self.sent_batches += 1
        self.sent_samples += batch.samples

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.total_failures += 1
        self._last_error = str(exc)
        backoff = min(self.cfg.retry_max_backoff, 0.5 * 2 ** min(self.failures - 1, 16))
        backoff *= random.uniform(0.8, 1.2)
        now = time.monotonic()
        self._next_try = now + backoff
        if self.failures == 1 or now - self._last_warn >= self.cfg.error_log_interval:
            self._last_warn = now
            batches, samples, on_disk = self.outbox.stats()
            samples += self._agg.pending_samples
            since = (f"last success {now - self._last_success:.1f}s ago" if self._last_success is not None
                     else f"no push has succeeded yet ({now - self._started:.1f}s since start)")
            self.log.warning(
                "cloud: connection errors stacking up: %d failed pushes in a row, %s, "
                "%d samples waiting (%d batches, %d spilled to disk); retrying in %.1fs (%s)",
                self.failures, since, samples, batches, on_disk, backoff, exc)

    def _rejected(self, batch: Batch, exc: ResponseError) -> None:
        if exc.status in (401, 403, 404) or (exc.status == 403 and exc.code == 4):
            self._refused = str(exc)
            self.log.error("cloud: %s refused the data (%s); stopping sending for this run, data stays queued",
                           self.client.base, exc)
            return
        # a payload the service will never accept (malformed or too large): retrying cannot help
        self.outbox.done(batch)
        self.dropped_batches += 1
        self.dropped_samples += batch.samples
        self.log.error("cloud: %s rejected a batch of %d samples: %s", self.client.base, batch.samples, exc)

    def _drain(self, deadline: float) -> None:
        """At stop: deliver everything left, retrying with backoff until ``deadline``."""
        while len(self.outbox) and not self._refused:
            now = time.monotonic()
            if now >= deadline:
                break
            if now < self._next_try:
                time.sleep(min(self._next_try, deadline) - now)
                continue
            self._send_pending(budget=deadline - now)
        batches, samples, _ = self.outbox.stats()
        self.undelivered_samples = samples
        if batches:
            self.log.error("cloud: %d samples in %d batches could not be delivered to %s before the stop "
                           "timeout (%gs)%s", samples, batches, self.client.base, self.cfg.stop_timeout,
                           f"; last error: {self._refused or self._last_error}")
