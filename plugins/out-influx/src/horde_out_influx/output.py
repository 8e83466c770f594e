"""The ``influxdb`` output: k6's InfluxDB schema, delivered without loss.

``--out influxdb=http://[user:pass@]host:8086/db`` (InfluxDB 1.x) or, with a
token/organization/bucket configured, the 2.x ``/api/v2/write`` API. Samples
are buffered, encoded every ``pushInterval`` into size-capped batches, and
sent by ``concurrentWrites`` threads that retry until the server takes them;
what cannot be sent is kept (memory, then a spool file) and, at stop, written
to a file whose path is logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import BinaryIO
from urllib.parse import urlsplit

from horde.metrics import SampleContainer
from horde.output import (
    Delivery,
    DeliveryCounts,
    Params,
    PeriodicFlusher,
    RunError,
    SampleBuffer,
    UserError,
    hookimpl,
    human_bytes,
)

from .client import Client, write_path
from .config import Config, load_config
from .delivery import BATCH_CODEC, InfluxSender
from .lineproto import Batch, LineEncoder

__all__ = ["InfluxDBOutput"]


class InfluxDBError(UserError):
    """The server cannot be used: unreachable, refusing the credentials, or not InfluxDB."""


class InfluxDBOutput:
    """k6's InfluxDB output (1.x and 2.x write APIs) that loses nothing: retries, splits, spills to disk.

    After ``stop``, :attr:`written`, :attr:`retried` and :attr:`undelivered`
    (points, derived from the delivery's :attr:`counts`) and :attr:`undelivered_file`
    tell what happened; :meth:`report` gives them to the end-of-test summary.
    """

    def __init__(self, params: Params) -> None:
        self.config: Config = load_config(params.json_config, params.environment, params.config_argument)
        self.log = params.logger or logging.getLogger("horde.output.influxdb")
        cfg = self.config
        self.encoder = LineEncoder(cfg.tags_as_fields, cfg.divisor, cfg.max_batch_bytes, cfg.max_batch_points)
        self._buffer = SampleBuffer()
        self._flusher: PeriodicFlusher | None = None
        self._delivery: Delivery[Batch] | None = None
        self._sender: InfluxSender | None = None
        self._undelivered_lock = threading.Lock()
        self._undelivered_out: BinaryIO | None = None
        self.encoded = 0
        """Points encoded for sending (samples flushed, less invalid ones)."""
        self.counts: DeliveryCounts | None = None
        """The delivery's final counts (points), after ``stop``."""
        self.undelivered_file: str | None = None

    @property
    def written(self) -> int:
        """Points InfluxDB accepted (0 before ``stop``)."""
        return self.counts.written if self.counts else 0

    @property
    def retried(self) -> int:
        """Points sent again after a failed write."""
        return self.counts.retried if self.counts else 0

    @property
    def spilled(self) -> int:
        """Points that waited on disk."""
        return self.counts.spilled if self.counts else 0

    @property
    def requests(self) -> int:
        """Write requests sent."""
        return self.counts.sends if self.counts else 0

    @property
    def undelivered(self) -> int:
        """Points not stored: dropped by the delivery, and samples InfluxDB cannot store (NaN, infinite)."""
        return (self.counts.dropped if self.counts else 0) + self.encoder.invalid

    @hookimpl
    def description(self) -> str:
        return f"InfluxDBv{2 if self.config.v2 else 1} ({self.config.addr})"

    @hookimpl
    def start(self) -> None:
        cfg = self.config
        self._check_server()
        self._sender = InfluxSender(cfg, self.log)
        self._delivery = Delivery.for_output(
            self._sender,
            cfg,
            BATCH_CODEC,
            name="influxdb",
            logger=self.log,
            senders=cfg.concurrent_writes,
            on_drop=self._keep_undelivered,
        )
        self._flusher = PeriodicFlusher(cfg.push_interval, self._flush, name="horde-influxdb-flusher")

    def _check_server(self) -> None:
        """Fail with one line when the server is unreachable or refuses the credentials; create the 1.x database."""
        cfg = self.config
        client = Client(cfg)
        try:
            if cfg.v2:
                resp, _ = client.request("POST", write_path(cfg), b"")
                what = "write to"
            else:
                resp, body = client.query(f'CREATE DATABASE "{_quote_ident(cfg.db)}"')
                what = "create the database on"
        finally:
            client.close()
        if resp.status is None:
            raise InfluxDBError(f"cannot reach InfluxDB at {cfg.addr}: {resp.error}")
        if resp.status == 401:
            who = f"user '{cfg.username}'" if cfg.username else ("the token" if cfg.token else "no credentials")
            hint = ""
            if not cfg.v2 and "unauthorized access" in resp.error:
                hint = (
                    "; if this is InfluxDB 2.x, configure a token, organization and bucket "
                    "(HORDE_INFLUXDB_TOKEN, HORDE_INFLUXDB_ORGANIZATION, HORDE_INFLUXDB_BUCKET) to use its 2.x API"
                )
            raise InfluxDBError(f"InfluxDB at {cfg.addr} refused the credentials ({who}): {resp.error}{hint}")
        if resp.ok:
            if not cfg.v2:
                err = _query_error(body)
                if err:
                    self.log.debug("Couldn't create database %s; most likely harmless: %s", cfg.db, err)
            return
        # 403: a user without admin rights may still write (k6 goes on, and so do we); 400 on 2.x: the
        # empty probe write ("writing requires points") got past authentication
        if resp.status == 403 or (cfg.v2 and resp.status == 400):
            self.log.debug("Couldn't %s %s; most likely harmless: %s", what, cfg.target, resp.error)
        else:
            self.log.warning("influxdb: could not %s %s (%s); writes may fail", what, cfg.target, resp.error)

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        self._buffer.add(samples)

    def _flush(self) -> None:
        containers = self._buffer.take()
        if not containers:
            return
        assert self._delivery is not None
        put = self._delivery.put
        for batch in self.encoder.batches(containers):
            self.encoded += batch.points
            put(batch)

    @property
    def emitted(self) -> int:
        """Samples flushed so far: always ``written + undelivered`` after stop."""
        return self.encoded + self.encoder.invalid

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        try:
            if self._flusher is not None:
                self._flusher.stop()
        finally:
            self._finish()

    def _finish(self) -> None:
        """Deliver what is left within ``stopTimeout``, keep the rest in a file, report."""
        delivery = self._delivery
        counts = delivery.finish(self.config.stop_timeout, announce=True) if delivery is not None else None
        if delivery is None or counts is None:
            return
        with self._undelivered_lock:
            if self._undelivered_out is not None:
                self._undelivered_out.close()
                self._undelivered_out = None
        self.counts = counts
        self._report(delivery, delivery.stop_seconds, self.encoder.invalid)

    def _keep_undelivered(self, batch: Batch, reason: str) -> None:
        """Append a batch the delivery dropped to the undelivered file (made on the first one)."""
        with self._undelivered_lock:
            if self._undelivered_out is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                path = os.path.join(
                    self.config.spool_path, f"horde-influxdb-undelivered-{stamp}-{os.getpid()}-{id(self):x}.lp"
                )
                self._undelivered_out = open(path, "wb")
                self.undelivered_file = path
            self._undelivered_out.write(batch.body)

    def _report(self, d: Delivery[Batch], waited: float, invalid: int) -> None:
        cfg = self.config
        level = logging.INFO if not (self.retried or self.undelivered) else logging.WARNING
        self.log.log(
            level,
            "influxdb: %d points written to %s in %d requests (%d points retried after a failed write, %d undelivered)",
            self.written,
            cfg.target,
            self.requests,
            self.retried,
            self.undelivered,
        )
        if invalid:
            self.log.warning(
                "influxdb: %d samples had NaN or infinite values, which InfluxDB cannot store; they were not sent",
                invalid,
            )
        if self.undelivered_file:
            left = self.undelivered - invalid
            size = os.path.getsize(self.undelivered_file)
            curl = f"curl -XPOST '{_replay_url(cfg)}' --data-binary @{self.undelivered_file}"
            if cfg.v2 and cfg.token:
                curl += " -H 'Authorization: Token <token>'"
            elif cfg.username:
                curl += f" -u '{cfg.username}:<password>'"
            self.log.error(
                "influxdb: %d points were NOT delivered to %s (waited %.1fs at stop; last error: %s); they are kept "
                "in %s (%s of line protocol; replay with: %s)",
                left,
                cfg.target,
                waited,
                d.last_error or "none",
                self.undelivered_file,
                human_bytes(size),
                curl,
            )

    @hookimpl
    def report(self) -> dict[str, int]:
        """written / retried / spilled / dropped points for the summary (the stop log line says where the
        dropped ones are kept)."""
        counts: dict[str, int] = {
            "written": self.written,
            "retried": self.retried,
            "spilled": self.spilled,
            "dropped": self.undelivered,
        }
        if self.encoder.invalid:
            counts["invalid"] = self.encoder.invalid
        if self.encoder.moved:
            counts["moved_to_avoid_overwrite"] = self.encoder.moved
        if self.encoder.unchecked:
            counts["unchecked_for_overwrite"] = self.encoder.unchecked
        return counts


def _replay_url(cfg: Config) -> str:
    parts = urlsplit(cfg.addr)
    return f"{parts.scheme}://{parts.netloc}{write_path(cfg)}"


def _quote_ident(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _query_error(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    if data.get("error"):
        return str(data["error"])
    for r in data.get("results") or ():
        if isinstance(r, dict) and r.get("error"):
            return str(r["error"])
    return ""
