"""Every manifest of deploy/ is valid Kubernetes, and its commands are the ones the local cluster test runs.

Built-in kinds are checked by kubernetes-validate (strict: unknown fields
fail). The TestRun is checked against the openAPIV3Schema of k6-operator's
CRD (k6.io_testruns.yaml.gz: grafana/k6-operator config/crd/bases at commit
e2c9571, Apache-2.0), made strict the same way.
"""

from __future__ import annotations

import copy
import gzip
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import k6operator
import kubernetes_validate
import pytest
import yaml
from clusterharness import DEPLOY, container, container_env, find, localize, manifests, pod_environ
from horde import __version__
from hordecli import run_horde

KUBERNETES_VERSIONS = ["1.29", kubernetes_validate.latest_version()]
MANIFESTS = ["configmap.yaml", "testrun.yaml", "indexed-job.yaml"]
CRD = Path(__file__).parent / "k6.io_testruns.yaml.gz"


def _strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever an object lists its properties (kubectl --validate=strict)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            if not schema.get("x-kubernetes-preserve-unknown-fields"):
                schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _testrun_schema() -> dict[str, Any]:
    crd = yaml.safe_load(gzip.decompress(CRD.read_bytes()))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = _strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta: checked by the API server, not the CRD
    return schema


def validate(doc: dict[str, Any], version: str) -> None:
    """Raise when ``doc`` is not a valid manifest of its kind."""
    if doc["apiVersion"] == "k6.io/v1alpha1":
        assert doc["kind"] == "TestRun"
        jsonschema.validate(doc, _testrun_schema())
    else:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", MANIFESTS)
def test_every_manifest_is_valid(name, version):
    docs = manifests(name)
    assert docs
    for doc in docs:
        validate(doc, version)


@pytest.mark.parametrize(
    "name, kind, path, bad",
    [
        ("indexed-job.yaml", "Job", ("spec", "completionMod"), "Indexed"),
        ("indexed-job.yaml", "Service", ("spec", "clusterIP"), 5),
        ("testrun.yaml", "TestRun", ("spec", "paralelism"), 4),
        ("testrun.yaml", "TestRun", ("spec", "parallelism"), "four"),
        ("testrun.yaml", "TestRun", ("spec", "runner", "imag"), "horde"),
    ],
)
def test_the_validation_catches_mistakes(name, kind, path, bad):
    (doc,) = [d for d in manifests(name) if d["kind"] == kind][:1]
    broken = copy.deepcopy(doc)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    with pytest.raises((kubernetes_validate.ValidationError, jsonschema.ValidationError)):
        validate(broken, KUBERNETES_VERSIONS[-1])


def test_the_testrun_runs_the_configmaps_script_with_enough_vus(tmp_path):
    (testrun,) = manifests("testrun.yaml")
    (configmap,) = manifests("configmap.yaml")
    spec = testrun["spec"]
    assert spec["parallelism"] == 4
    assert spec["runner"]["image"]
    assert spec["script"]["configMap"]["name"] == configmap["metadata"]["name"]
    for name, text in configmap["data"].items():  # the ConfigMap mounted at /test
        (tmp_path / name).write_text(text)
    script = tmp_path / spec["script"]["configMap"]["file"]
    r = run_horde("inspect", "--execution-requirements", "--log-output=none", str(script))
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    assert doc["maxVUs"] >= spec["parallelism"]  # else the operator refuses the TestRun
    archive = tmp_path / "test.py.archived.tar"
    assert (
        run_horde(
            "archive", str(script), "-O", str(archive), *k6operator.archive_args(k6operator.argv(spec))
        ).returncode
        == 0
    )


def test_the_operator_runs_these_runner_commands():
    """What runner.go builds for deploy/testrun.yaml (the local cluster test runs the same, localized)."""
    (testrun,) = manifests("testrun.yaml")
    assert k6operator.runner_command(testrun["metadata"]["name"], testrun["spec"], 2) == [
        "k6", "run", "--quiet",
        "--execution-segment=1/4:2/4", "--execution-segment-sequence=0,1/4,2/4,3/4,1",
        "--out", "influxdb=http://influxdb.monitoring.svc.cluster.local:8086/horde",
        "-e", "TARGET=http://shop.default.svc.cluster.local",
        "/test/test.py", "--address=0.0.0.0:6565", "--paused",
        "--tag", "instance_id=2", "--tag", "testrun_name=horde-sample",
    ]  # fmt: skip
    assert k6operator.segment_flags(1, 4)[0] == "--execution-segment=0:1/4"
    assert k6operator.segment_flags(4, 4)[0] == "--execution-segment=3/4:1"


def _argv(command: list[str], env: dict[str, str]) -> list[str]:
    """The argv a pod's ``sh -c 'exec horde ...'`` command runs, as the shell expands it."""
    assert command[:2] == ["sh", "-c"] and command[2].startswith("exec horde ")
    shown = ["sh", "-c", "printf '%s\\n' " + command[2][len("exec ") :]]
    r = subprocess.run(shown, capture_output=True, text=True, env={**os.environ, **env}, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_the_indexed_job_runners_are_instances_of_4_paused_on_6565(tmp_path):
    docs = manifests("indexed-job.yaml")
    job = find(docs, "Job", "horde-runner")
    service = find(docs, "Service", "horde-runners")
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 4
    assert job["spec"]["template"]["spec"]["subdomain"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    runner = container(job)
    env = container_env(runner)
    assert runner["readinessProbe"]["httpGet"] == {"path": "/v1/status", "port": 6565}
    for index in range(4):
        argv = _argv(runner["command"], {**env, "JOB_COMPLETION_INDEX": str(index)})
        assert argv[:4] == ["horde", "run", "--quiet", "--instance"]
        assert argv[4] == f"{index + 1}/4"
        assert argv[5:8] == ["--paused", "--address", "0.0.0.0:6565"]
        assert argv[-1] == "/test/test.py"
        assert shlex.join(argv[10:-1]) == env["HORDE_RUN_ARGS"]
    local = localize(runner["command"], port=12345, script_dir=tmp_path, tmp=tmp_path)
    assert local[2] == runner["command"][2].replace("0.0.0.0:6565", "127.0.0.1:12345").replace(
        "/test/", f"{tmp_path}/"
    )  # the local cluster test runs this command, with only the address and the mount made local
    starter = container(find(docs, "Job", "horde-starter"))
    addresses = container_env(starter)["RUNNERS"].split()
    assert addresses == [f"horde-runner-{i}.horde-runners:6565" for i in range(4)]
    assert "horde status --address" in starter["command"][2] and "horde resume --address" in starter["command"][2]


def test_the_image_puts_the_k6_shim_on_path():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "install -m 0755 /src/deploy/k6 /usr/local/bin/k6" in dockerfile


def test_the_image_has_the_c_accelerators():
    # the slim image has no C compiler: wheels are built in a full one, and the build fails without them
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11 AS wheels" in dockerfile and "--from=wheels" in dockerfile
    assert (
        'python -c "import horde.http._scan, horde.http._exchange, horde.http._fast, horde.metrics._sketch, horde.metrics._connected"'
        in dockerfile
    )
    assert os.access(DEPLOY / "k6", os.X_OK)


def test_the_k6_shim_is_horde(tmp_path):
    env = pod_environ(tmp_path)
    r = subprocess.run(["k6", "version"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and __version__ in r.stdout
    script = tmp_path / "t.py"
    script.write_text("options = {'vus': 2, 'duration': '3s'}\nasync def default():\n    pass\n")
    via_k6 = subprocess.run(["k6", "inspect", str(script)], capture_output=True, text=True, env=env, timeout=30)
    direct = run_horde("inspect", str(script))
    assert via_k6.returncode == 0 and via_k6.stdout == direct.stdout
