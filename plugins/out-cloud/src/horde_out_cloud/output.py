"""The ``cloud`` output: stream a run to horde-insights over k6's cloud protocol v2.

At start it creates the run (name, planned duration, max VUs, thresholds)
and prints the run's URL. Samples are aggregated per (time bucket, metric,
tag set) on the output's own thread and pushed as snappy-compressed
protobuf by a :class:`horde.output.Delivery`. Unlike k6, which drops a batch
after three failed tries, a batch is counted as written only once the service
took it: on errors the delivery keeps the data (in memory, then on disk),
retries with exponential backoff and jitter, and warns that connection errors
are stacking up. At stop it flushes everything, delivers what it can within
``stop_timeout`` and sends the finish call with the run status.

With a push reference id (``HORDE_CLOUD_PUSH_REF_ID`` or k6's
``K6_CLOUD_PUSH_REF_ID``) it joins a run created elsewhere (k6-operator,
``horde-insights run create``) as one of its instances, as real k6 does: no
create call, and at stop only its own instance's end
(``POST /v1/tests/{ref}/instances/{instance_id}/finish``), never the run's
finish. It then also offers the engine a :class:`~horde.output.SetupCoordinator`
so that setup() and teardown() run once for all instances. In every case it
learns that the run was stopped in the service (k6's push error, HTTP 403 with
code 4, and a poll of the run's progress) and stops the test with exit code 105,
as k6's cloud output does.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from horde.metrics import SampleContainer
from horde.output import (
    AbortReason,
    Backoff,
    Delivery,
    DeliveryCounts,
    DestinationRefused,
    ExitCode,
    Params,
    PermanentError,
    RetryableError,
    RunError,
    RunStatus,
    SampleBuffer,
    SetupCoordinator,
    UserError,
    hookimpl,
)

from . import __version__
from .aggregate import Aggregator
from .batch import Batch, build_batches
from .client import CloudClient, ResponseError, TransportError
from .config import CloudConfig
from .coordinator import LONG_POLL, CloudSetupCoordinator
from .plan import planned_vus_and_duration
from .stopwatch import StopWatch

__all__ = ["CloudOutput"]

FINISHED = 3

_BATCH_HEADER = struct.Struct("<qH")  # samples, key length


def encode_batch(batch: Batch) -> bytes:
    """A batch as bytes for the spill files: sample count, idempotency key, body."""
    key = batch.key.encode()
    return _BATCH_HEADER.pack(batch.samples, len(key)) + key + batch.body


def decode_batch(data: bytes) -> Batch:
    """The batch :func:`encode_batch` encoded (same key: a retry stays idempotent)."""
    samples, n = _BATCH_HEADER.unpack_from(data)
    start = _BATCH_HEADER.size
    return Batch(data[start + n :], data[start : start + n].decode(), samples)


def _samples(batch: Batch) -> int:
    return batch.samples


def _body_bytes(batch: Batch) -> int:
    return len(batch.body)


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
            self.client = CloudClient(
                self.cfg.host, self.cfg.token, timeout=self.cfg.timeout, user_agent=f"horde-out-cloud/{__version__}"
            )
        except ValueError as exc:
            raise UserError(f"cloud output: {exc}; set HORDE_CLOUD_HOST") from None
        self.period = int(self.cfg.aggregation_period)
        self._buffer = SampleBuffer()
        self._agg = Aggregator(self.period, self.cfg.aggregation_wait_period)
        self.delivery: Delivery[Batch] | None = None
        self._sender_client: CloudClient | None = None
        self.counts: DeliveryCounts | None = None
        """The delivery's final counts, after ``stop``."""
        self._thresholds: Mapping[str, Any] = {}
        self._run_status: int | None = None
        self.run_id: str | None = None
        self.url: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.push_ref_id = self.cfg.push_ref_id.strip() or None
        """The run this instance pushes into without creating it (k6's push reference id), or None."""
        tags = (params.script_options or {}).get("tags") or {}
        self.instance_id = str(tags.get("instance_id") or "")
        """This instance's ``instance_id`` tag (``--tag instance_id=I``); "" when not tagged."""
        self._stop_run: Callable[[BaseException | str | None], None] | None = None
        self._run_stopped = threading.Event()
        self._stopwatch: StopWatch | None = None
        if self.push_ref_id:
            self.run_id = self.push_ref_id
            self.url = f"{self.client.base}/runs/{self.push_ref_id}"

    # -- hooks ------------------------------------------------------------------------------
    @hookimpl
    def description(self) -> str:
        return f"cloud ({self.url or self.client.base})"

    @hookimpl
    def set_thresholds(self, thresholds: Mapping[str, Any]) -> None:
        self._thresholds = thresholds or {}

    @hookimpl
    def set_test_run_stop(self, stop: Callable[[BaseException | str | None], None]) -> None:
        self._stop_run = stop

    @hookimpl
    def set_run_status(self, status: RunStatus) -> None:
        self._run_status = int(status)

    @hookimpl
    def setup_coordinator(self) -> SetupCoordinator | None:
        """With a push reference id: setup() once and teardown() once among the run's instances."""
        if not self.push_ref_id:
            return None
        client = CloudClient(
            self.cfg.host, self.cfg.token, timeout=self.cfg.timeout + LONG_POLL, user_agent=self.client.user_agent
        )
        return CloudSetupCoordinator(client, self.push_ref_id, self.instance_id or "1", self.log)

    @hookimpl
    def start(self) -> None:
        if self.push_ref_id:
            self._join()
        else:
            self._create_run()
        self._start_delivery()

    def _join(self) -> None:
        """Push into the run given by the push reference id, as one of its instances (no create call)."""
        if not self.instance_id:
            self.log.warning(
                "cloud: pushing into run %s without an instance_id tag: this instance reports itself as instance 1 "
                "(start each instance with --tag instance_id=N)",
                self.push_ref_id,
            )
        who = f"instance {self.instance_id or '1'}"
        print(f"cloud: streaming results to {self.url} ({who})", file=self.params.stdout, flush=True)

    def _create_run(self) -> None:
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

    def _start_delivery(self) -> None:
        cfg = self.cfg
        if cfg.spool_dir:
            os.makedirs(cfg.spool_dir, exist_ok=True)
        self._sender_client = CloudClient(cfg.host, cfg.token, timeout=cfg.timeout, user_agent=self.client.user_agent)
        self.delivery = Delivery(
            self._push,
            encode=encode_batch,
            decode=decode_batch,
            count=_samples,
            size=_body_bytes,
            memory_limit=cfg.max_memory,
            directory=cfg.spool_dir or None,
            name="cloud",
            target=self.client.base,
            unit="samples",
            logger=self.log,
            warn_every=cfg.error_log_interval,
            backoff=Backoff(initial=0.5, maximum=max(0.5, cfg.retry_max_backoff), jitter=0.4),
            interrupt=self._sender_client.abort,
        )
        self._thread = threading.Thread(target=self._loop, name="horde-cloud-aggregator", daemon=True)
        self._thread.start()
        if cfg.stop_poll_interval > 0 and self.run_id:
            client = CloudClient(cfg.host, cfg.token, timeout=cfg.timeout, user_agent=self.client.user_agent)
            self._stopwatch = StopWatch(client, self.run_id, cfg.stop_poll_interval, self._on_run_stopped, self.log)
            self._stopwatch.start()

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        self._buffer.add(samples)

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        deadline = time.monotonic() + self.cfg.stop_timeout
        self._stopping.set()
        if self._stopwatch is not None:
            self._stopwatch.close()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            if self._thread.is_alive():
                self.log.error("cloud: the aggregator thread did not finish before the stop timeout")
        self._drain(deadline)
        try:
            self._finish(error, deadline)
        finally:
            self.client.close()
            if self._sender_client is not None:
                self._sender_client.close()

    @hookimpl
    def report(self) -> dict[str, int]:
        """Samples written, retried after a failed push, spilled to disk and dropped, for the summary."""
        c = self.counts or (self.delivery.counts() if self.delivery is not None else None)
        if c is None:
            return {"written": 0, "retried": 0, "spilled": 0, "dropped": 0}
        return {**c.as_report(), "failed_pushes": c.failed_sends}

    # -- create and finish ----------------------------------------------------------------------
    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        key = os.urandom(8).hex()
        deadline = time.monotonic() + min(self.cfg.stop_timeout, 15.0)
        delay = 0.5
        while True:
            try:
                return self.client.post_json("/v1/tests", body, key=key)
            except ResponseError as exc:
                if not exc.retryable or time.monotonic() + delay > deadline:
                    raise UserError(
                        f"cloud output: could not create the test run at {self.client.base}: {exc}"
                    ) from None
                self.log.warning("cloud: creating the test run failed (%s); retrying in %.1fs", exc, delay)
            except TransportError as exc:
                if time.monotonic() + delay > deadline:
                    raise UserError(
                        f"cloud output: cannot reach {self.client.base} to create the test run: {exc}"
                    ) from None
                self.log.warning("cloud: cannot reach %s (%s); retrying in %.1fs", self.client.base, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 4.0)

    def _on_run_stopped(self, reason: str) -> None:
        """The service says the run was stopped: stop the whole test (once), as k6's cloud output does."""
        if self._run_stopped.is_set():
            return
        self._run_stopped.set()
        if self._stopping.is_set():  # this instance's test is over already: only the last data is refused
            self.log.warning("cloud: the test run %s was stopped in %s (%s)", self.run_id, self.client.base, reason)
            return
        if not self.cfg.stop_on_error or self._stop_run is None:
            self.log.warning(
                "cloud: the test run %s was stopped in %s (%s); no more metrics are sent (stop_on_error is off)",
                self.run_id,
                self.client.base,
                reason,
            )
            return
        # k6's stopOnError: exit code 105, abort reason output (the Manager logs "Received error to stop ...")
        self._stop_run(
            RunError(
                f"the test run {self.run_id} was stopped in {self.client.base}: {reason}",
                reason=AbortReason.OUTPUT,
                exit_code=ExitCode.EXTERNAL_ABORT,
            )
        )

    def _finish(self, error: RunError | None, deadline: float) -> None:
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
        if error is not None and (
            getattr(error, "reason", None) in (AbortReason.THRESHOLD, AbortReason.THRESHOLDS_AFTER_TEST_END)
            or getattr(error, "exit_code", None) == ExitCode.THRESHOLDS_HAVE_FAILED
        ):
            tainted = True
        if self.push_ref_id:  # one instance of a run finished by its creator: report this instance's end only
            instance = self.instance_id or "1"
            body: dict[str, Any] = {"run_status": status, "result_status": 1 if tainted else 0}
            self._send_finish(
                f"/v1/tests/{self.run_id}/instances/{instance}/finish", body, deadline, f"instance {instance}"
            )
            return
        body = {"result_status": 1 if tainted else 0, "run_status": status, "thresholds": results}
        self._send_finish(f"/v1/tests/{self.run_id}", body, deadline, "run")

    def _send_finish(self, path: str, body: dict[str, Any], deadline: float, what: str) -> None:
        key = os.urandom(8).hex()
        delay = 0.5
        while True:
            try:
                self.client.post_json(path, body, key=key)
                self.log.debug("cloud: %s of run %s finished with run_status %s", what, self.run_id, body["run_status"])
                return
            except (TransportError, ResponseError) as exc:
                retry = isinstance(exc, TransportError) or exc.retryable
                if not retry or time.monotonic() + delay > deadline:
                    self.log.error(
                        "cloud: failed to send test finished (%s) to %s: %s (the service will mark it Timed out)",
                        what,
                        self.client.base,
                        exc,
                    )
                    return
            time.sleep(delay)
            delay = min(delay * 2, self.cfg.retry_max_backoff)

    # -- aggregator thread and delivery ----------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.wait(self.cfg.push_interval):
            try:
                self._tick(final=False)
            except Exception:  # never let the aggregator die: data stays buffered
                self.log.exception("cloud: unexpected error in the aggregator")
        self._tick(final=True)

    def _tick(self, *, final: bool) -> None:
        self._agg.add(self._buffer.take())
        buckets = self._agg.collect(time.time_ns(), everything=final)
        if buckets and self.delivery is not None:
            for batch in build_batches(
                self._agg, self.run_id or "", self.period, buckets, self.cfg.max_time_series_in_batch
            ):
                self.delivery.put(batch)
        if self._agg.discarded_tags:
            for tag in sorted(self._agg.discarded_tags):
                self.log.warning("cloud: tag %s has been discarded since it is reserved for cloud operations", tag)
            self._agg.discarded_tags.clear()

    def _push(self, batch: Batch) -> None:
        """Send one batch (called by the delivery's thread); errors say whether to retry, drop or stop."""
        assert self._sender_client is not None
        try:
            self._sender_client.request(
                f"/v2/metrics/{self.run_id}",
                batch.body,
                content_type="application/x-protobuf",
                key=batch.key,
                headers={"Content-Encoding": "snappy", "K6-Metrics-Protocol-Version": "2.0"},
            )
        except ResponseError as exc:
            if exc.retryable:
                raise RetryableError(str(exc)) from None
            if exc.run_stopped:  # k6's answer once the run was stopped: no more metrics (shouldStopSendingMetrics)
                self._on_run_stopped(exc.message or "stopped")
                raise DestinationRefused("the test run was stopped in the service") from None
            if exc.status in (401, 403, 404):
                raise DestinationRefused(str(exc)) from None
            # a payload the service will never accept (malformed or too large): retrying cannot help
            raise PermanentError(f"HTTP {exc.status}: {exc.message}") from None

    def _drain(self, deadline: float) -> None:
        """At stop: deliver everything left, retrying with backoff until ``deadline``; report what was not."""
        if self.delivery is None:
            return
        c = self.counts = self.delivery.close(deadline)
        if c.dropped:
            why = "; ".join(f"{n} {reason}" for reason, n in c.dropped_reasons.items())
            self.log.error(
                "cloud: %d samples could not be delivered to %s (stop timeout %gs; %s; last error: %s)",
                c.dropped,
                self.client.base,
                self.cfg.stop_timeout,
                why,
                self.delivery.last_error or "none",
            )
