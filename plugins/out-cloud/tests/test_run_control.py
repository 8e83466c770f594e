"""The pure parts of joining a distributed run: which peers are missing, and a stop read from the progress."""

import logging

from horde_out_cloud.client import CloudClient, ResponseError
from horde_out_cloud.coordinator import CloudSetupCoordinator
from horde_out_cloud.stopwatch import stop_reason


def coordinator(instance_id: str) -> CloudSetupCoordinator:
    client = CloudClient("http://127.0.0.1:1", "t", timeout=1, user_agent="test")
    return CloudSetupCoordinator(client, "7", instance_id, logging.getLogger("test"))


def test_peers_missing_by_id_or_by_count():
    first = coordinator("1")
    assert first._missing({"instances": 3, "instances_finished": ["2"]}) == ["3"]
    assert first._missing({"instances": 3, "instances_finished": ["3", "2"]}) == []
    assert first._missing({"instances": 3, "instances_finished": ["1", "2", "3"]}) == []
    assert first._missing({"instances": 1, "instances_finished": []}) == []
    assert coordinator("pod-a")._missing({"instances": 2, "instances_finished": []}) == ["1 other instance(s)"]
    assert first._missing({"instances": 4, "instances_finished": ["pod-b"]}) == ["2 other instance(s)"]
    named = coordinator("a")._missing({"instances": 3, "instances_finished": ["1", "2", "x"]})
    assert named == []


def test_stop_reason_from_the_progress_reply():
    assert stop_reason({"stopped": False, "abort_reason": None}) is None
    assert stop_reason({}) is None
    assert stop_reason({"stopped": True, "abort_reason": "stopped by user"}) == "stopped by user"
    assert stop_reason({"stopped": True, "abort_reason": None}) == "stopped"


def test_k6s_stopped_run_error_is_403_with_code_4():
    assert ResponseError(403, "stopped", 4).run_stopped
    assert not ResponseError(403, "forbidden", None).run_stopped
    assert not ResponseError(400, "bad", 4).run_stopped
