"""k6-operator's TestRun with parallelism 4, and deploy/'s Indexed Job, executed on 127.0.0.1.

The commands are those the operator generates for deploy/testrun.yaml
(tests/k6operator.py restates runner.go, initializer.go, curl_start.go and
curl_stop.go) and those deploy/indexed-job.yaml holds, run through deploy/k6;
only the pods' addresses, the ConfigMap mount and /tmp are made local
(clusterharness.localize). Every process has a hard deadline.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import k6operator
import pytest
from clusterharness import (
    Pod,
    container,
    container_env,
    find,
    get_status,
    json_output_counts,
    localize,
    manifests,
    patch_status,
    pod_environ,
    wait_ready,
)
from horde.testing.ports import free_port

N = 4
END = 60.0
"""Seconds any runner may take from its start to its end (each test's load lasts a few seconds)."""

SHARED_1000 = """
from horde import env, http

options = {"scenarios": {"all": {"executor": "shared-iterations", "vus": 8, "iterations": 1000, "maxDuration": "60s"}}}


async def default():
    await http.get(env["TARGET"] + "/status/200")
"""

RATE_200 = """
from horde import env, http

options = {
    "scenarios": {
        "rate": {
            "executor": "constant-arrival-rate",
            "rate": 200,
            "timeUnit": "1s",
            "duration": "5s",
            "preAllocatedVUs": 20,
            "maxVUs": 40,
        }
    }
}


async def default():
    await http.get(env["TARGET"] + "/status/200")
"""

LONG = """
from horde import env, http, sleep

options = {"scenarios": {"long": {"executor": "constant-vus", "vus": 4, "duration": "10m"}}}


async def default():
    await http.get(env["TARGET"] + "/status/200")
    await sleep(0.02)
"""


def _testrun(arguments: str) -> tuple[str, dict]:
    """deploy/testrun.yaml with its arguments for this machine (a local target, a json output per pod)."""
    (doc,) = manifests("testrun.yaml")
    spec = dict(doc["spec"], arguments=arguments)
    assert spec["parallelism"] == N
    return doc["metadata"]["name"], spec


class OperatorRun:
    """The TestRun's stages, in the operator's order, on 127.0.0.1."""

    def __init__(self, tmp: Path, script: str, target_url: str) -> None:
        self.tmp = tmp
        self.name, self.spec = _testrun(f"-e TARGET={target_url} --out json=out.json")
        self.script_dir = tmp / "test"
        self.script_dir.mkdir()
        (self.script_dir / self.spec["script"]["configMap"]["file"]).write_text(script)
        self.env = pod_environ(tmp)
        self.pods: list[Pod] = []

    def _local(self, command: list[str], port: int | None = None) -> list[str]:
        return localize(command, port=port, script_dir=self.script_dir, tmp=self.tmp)

    def initialize(self) -> dict:
        """The initializer: k6 archive + k6 inspect --execution-requirements; its JSON as the operator reads it."""
        command = self._local(k6operator.initializer_command(self.spec))
        r = subprocess.run(command, capture_output=True, text=True, env=self.env, cwd=self.tmp, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def start_runners(self) -> list[Pod]:
        for i in range(1, N + 1):
            port = free_port()
            command = self._local(k6operator.runner_command(self.name, self.spec, i), port)
            self.pods.append(Pod(f"{self.name}-{i}", command, self.env, self.tmp / f"runner-{i}", port))
        return self.pods

    def _patch(self, command_for, body: str) -> list[int]:
        addresses = [p.address for p in self.pods]
        command = command_for(["127.0.0.1"] * len(self.pods))
        command = [command[0], command[1], _ports(command[2], [p.port for p in self.pods])]
        return patch_status(command, addresses, body)

    def start(self) -> None:
        """The starter: one curl PATCH {paused: false} per runner (curl_start.go)."""
        assert self._patch(k6operator.start_command, k6operator.START_BODY) == [200] * len(self.pods)

    def stop(self) -> list[int]:
        """The stopper: the same with {stopped: true} (curl_stop.go); each runner's HTTP status (0: no answer)."""
        return self._patch(k6operator.stop_command, k6operator.STOP_BODY)

    def outputs(self) -> list[dict[str, int]]:
        return [json_output_counts(p.workdir / "out.json") for p in self.pods]

    def close(self) -> None:
        for pod in self.pods:
            pod.kill()


def _ports(shell: str, ports: list[int]) -> str:
    """The starter's ``sh -c`` text with runner i's port in its i-th URL (the pods share 127.0.0.1 here)."""
    parts = shell.split(";curl ")
    assert len(parts) == len(ports)
    return ";curl ".join(part.replace(":6565/", f":{port}/", 1) for part, port in zip(parts, ports))


@pytest.fixture
def operator_run(tmp_path):
    runs: list[OperatorRun] = []

    def make(script: str, target_url: str) -> OperatorRun:
        run = OperatorRun(tmp_path, script, target_url)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.close()


def test_shared_iterations_of_1000_give_exactly_1000_requests_and_nothing_before_the_start(operator_run, fresh_target):
    run = operator_run(SHARED_1000, fresh_target.url)
    inspect = run.initialize()
    assert inspect["maxVUs"] == 8 and inspect["maxVUs"] >= N  # the operator refuses parallelism > maxVUs
    assert inspect["totalDuration"] == "1m30s"
    pods = run.start_runners()
    wait_ready(pods)
    for pod in pods:
        assert get_status(pod.address)["data"]["attributes"]["paused"] is True
    time.sleep(0.5)
    assert fresh_target.requests == 0, "a paused runner sent requests before the starter's PATCH"
    run.start()
    codes = [pod.wait(END) for pod in pods]
    assert codes == [0] * N, "\n".join(p.logs() for p in pods)
    assert fresh_target.requests == 1000
    reqs = [counts.get("http_reqs", 0) for counts in run.outputs()]
    assert sum(reqs) == 1000 and all(r > 0 for r in reqs)


def test_constant_arrival_rate_200_per_second_over_4_instances(operator_run, fresh_target):
    run = operator_run(RATE_200, fresh_target.url)
    run.initialize()
    pods = run.start_runners()
    wait_ready(pods)
    run.start()
    codes = [pod.wait(END) for pod in pods]
    assert codes == [0] * N, "\n".join(p.logs() for p in pods)
    rate = fresh_target.requests / 5.0
    assert 196 <= rate <= 204, f"{fresh_target.requests} requests in 5s"
    iterations = [counts.get("iterations", 0) for counts in run.outputs()]
    assert all(45 <= i <= 55 for i in (n / 5 for n in iterations)), iterations  # each instance ~50/s


def test_sigterm_ends_one_runner_gracefully_and_the_stopper_ends_the_rest_within_2s(operator_run, fresh_target):
    run = operator_run(LONG, fresh_target.url)
    run.initialize()
    pods = run.start_runners()
    wait_ready(pods)
    run.start()
    time.sleep(1.5)
    first = pods[0]
    first.signal(signal.SIGTERM)
    assert first.wait(15) == 105, first.logs()  # k6's exit code for an external abort
    assert json_output_counts(first.workdir / "out.json").get("http_reqs", 0) > 0
    stopped_at = time.monotonic()
    assert run.stop() == [0] + [200] * (N - 1)  # the runner that is gone does not answer
    codes = [pod.wait(15) for pod in pods[1:]]
    took = max(p.ended_at for p in pods[1:]) - stopped_at
    assert took <= 2.0, f"the stopper took {took:.2f}s to end the runners"
    assert codes == [103] * (N - 1), "\n".join(p.logs() for p in pods)  # k6's ScriptStoppedFromRESTAPI
    for pod in pods:
        assert get_status(pod.address, timeout=0.5) is None  # no runner lingers
    total = sum(counts.get("http_reqs", 0) for counts in run.outputs())
    in_flight = fresh_target.requests - total  # a request cut by the stop reaches the target without a sample
    assert 0 <= in_flight <= 4, f"{total} http_reqs in the outputs, {fresh_target.requests} at the target"


def test_indexed_job_runners_start_together_through_the_starter_job(tmp_path, fresh_target):
    """deploy/indexed-job.yaml's runner and starter commands, unchanged but for address and mount."""
    docs = manifests("indexed-job.yaml")
    runner = container(find(docs, "Job", "horde-runner"))
    starter = container(find(docs, "Job", "horde-starter"))
    script_dir = tmp_path / "test"
    script_dir.mkdir()
    (script_dir / "test.py").write_text(SHARED_1000)
    run_args = f"-e TARGET={fresh_target.url} --out json=out.json"
    pods, ports = [], [free_port() for _ in range(N)]
    for index, port in enumerate(ports):
        env = pod_environ(
            tmp_path, {**container_env(runner), "JOB_COMPLETION_INDEX": str(index), "HORDE_RUN_ARGS": run_args}
        )
        command = localize(runner["command"], port=port, script_dir=script_dir, tmp=tmp_path)
        pods.append(Pod(f"horde-runner-{index}", command, env, tmp_path / f"runner-{index}", port))
    try:
        starter_env = pod_environ(
            tmp_path,
            {**container_env(starter), "RUNNERS": " ".join(p.address for p in pods), "READY_TIMEOUT": "60"},
        )
        r = subprocess.run(starter["command"], capture_output=True, text=True, env=starter_env, timeout=90)
        assert r.returncode == 0, r.stdout + r.stderr + "\n".join(p.logs() for p in pods)
        codes = [pod.wait(END) for pod in pods]
        assert codes == [0] * N, "\n".join(p.logs() for p in pods)
        assert fresh_target.requests == 1000
        for index, pod in enumerate(pods):
            points = [json.loads(line) for line in (pod.workdir / "out.json").read_text().splitlines()]
            tags = {
                p["data"]["tags"].get("instance_id")
                for p in points
                if p["type"] == "Point" and p["metric"] == "http_reqs"
            }
            assert tags == {str(index + 1)}
    finally:
        for pod in pods:
            pod.kill()
