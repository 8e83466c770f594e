"""setup() once per distributed run through horde-insights: the cloud output's :class:`SetupCoordinator`.

``PUT /v1/tests/{ref}/setup`` publishes the first instance's setup data (or its
error), ``GET /v1/tests/{ref}/setup?wait=S`` long-polls for it, and
``GET /v1/test-progress/{ref}`` tells which instances have finished.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from horde.output import SetupFailed

from .client import CloudClient, ResponseError, TransportError

__all__ = ["CloudSetupCoordinator", "LONG_POLL"]

LONG_POLL = 30
"""Most seconds one ``GET .../setup?wait=S`` waits on the service (the contract's limit)."""

RETRY_PAUSE = 1.0
PEER_POLL = 1.0


class CloudSetupCoordinator:
    """Shares setup()'s data among the instances pushing into run ``ref``; this one is ``instance_id``."""

    def __init__(self, client: CloudClient, ref: str, instance_id: str, logger: logging.Logger) -> None:
        self.client = client
        self.ref = ref
        self.instance_id = instance_id
        self.log = logger

    def publish(self, data: Any, timeout: float) -> Any:
        """PUT the data; when another instance published first (409), return its data instead."""
        try:
            self._put({"data": data}, timeout)
        except _AlreadyPublished:
            self.log.warning(
                "cloud: setup data of run %s was already published by another instance; using it (only the instance "
                "whose execution segment starts at 0 should run setup())",
                self.ref,
            )
            return self.fetch(timeout)
        return data

    def publish_error(self, message: str, timeout: float) -> None:
        """PUT setup()'s failure for the other instances (nothing if another instance published first)."""
        try:
            self._put({"error": message}, timeout)
        except _AlreadyPublished:
            pass

    def fetch(self, timeout: float) -> Any:
        """Long-poll for the published setup data; :class:`SetupFailed` or :class:`TimeoutError` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no setup data published in run {self.ref} within {timeout:g}s")
            wait = max(1, min(LONG_POLL, int(remaining)))
            try:
                status, reply = self.client.get_json(f"/v1/tests/{self.ref}/setup?wait={wait}")
            except ResponseError as exc:
                if not exc.retryable:
                    raise RuntimeError(f"{self.client.base} refused to hand out the setup data: {exc}") from None
                self._pause(deadline, exc)
                continue
            except TransportError as exc:
                self._pause(deadline, exc)
                continue
            if status == 204:
                continue
            if reply.get("error") is not None:
                raise SetupFailed(str(reply["error"]))
            if "data" in reply:
                return reply["data"]

    def wait_for_peers(self, timeout: float) -> list[str]:
        """Poll the run's progress until every other instance has finished; the ids still running at ``timeout``."""
        deadline = time.monotonic() + timeout
        missing: list[str] = ["?"]
        while True:
            try:
                _, progress = self.client.get_json(f"/v1/test-progress/{self.ref}")
                missing = self._missing(progress)
                if not missing:
                    return []
            except ResponseError as exc:
                if not exc.retryable:
                    raise RuntimeError(f"{self.client.base} cannot tell which instances finished: {exc}") from None
            except TransportError as exc:
                self.log.debug("cloud: asking which instances finished failed: %s", exc)
            if time.monotonic() + PEER_POLL > deadline:
                return missing
            time.sleep(PEER_POLL)

    def _missing(self, progress: dict[str, Any]) -> list[str]:
        """The other instances not finished yet, by id (``1``…``N``) or as a count when ids are not numbers."""
        instances = int(progress.get("instances") or 1)
        finished = {str(i) for i in progress.get("instances_finished") or ()} - {self.instance_id}
        if len(finished) >= instances - 1:
            return []
        count = [f"{instances - 1 - len(finished)} other instance(s)"]
        if not self.instance_id.isdigit() or not all(i.isdigit() for i in finished):
            return count
        expected = {str(i) for i in range(1, instances + 1)} - {self.instance_id}
        return sorted(expected - finished, key=int) or count

    def _put(self, body: dict[str, Any], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.put_json(f"/v1/tests/{self.ref}/setup", body)
                return
            except ResponseError as exc:
                if exc.status == 409:
                    raise _AlreadyPublished from None
                if not exc.retryable:
                    raise RuntimeError(f"{self.client.base} refused the setup data: {exc}") from None
                self._pause(deadline, exc)
            except TransportError as exc:
                self._pause(deadline, exc)

    def _pause(self, deadline: float, exc: Exception) -> None:
        """Sleep before a retry, or raise :class:`TimeoutError` when the deadline would pass."""
        if time.monotonic() + RETRY_PAUSE > deadline:
            raise TimeoutError(f"{self.client.base} did not answer in time: {exc}")
        self.log.debug("cloud: setup exchange failed (%s); retrying", exc)
        time.sleep(RETRY_PAUSE)


class _AlreadyPublished(Exception):
    """The service answered 409: another instance published setup's outcome first."""
