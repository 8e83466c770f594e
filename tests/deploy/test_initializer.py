"""k6-operator's initializer, both forms (``spec.arguments`` through ``sh -c``, ``spec.args`` as positional
arguments), run on 127.0.0.1 with deploy/k6 as ``k6``: it exits 0 and prints only the JSON the operator
parses (maxVUs, totalDuration, thresholds, cloud)."""

from __future__ import annotations

import json
import subprocess

import k6operator
import pytest
from clusterharness import localize, manifests, pod_environ

SCRIPT = """
print("init output goes to stderr")
options = {
    "scenarios": {"s": {"executor": "per-vu-iterations", "vus": 6, "iterations": 2, "maxDuration": "1m"}},
    "thresholds": {"http_req_failed": ["rate<0.01"]},
    "cloud": {"name": "shop", "projectID": 7},
}


async def default():
    pass
"""


@pytest.mark.parametrize(
    "form",
    [
        {"arguments": "--vus 8 --iterations 16 -e TARGET=http://x --out json=o.json --linger --log-output=none"},
        {"args": ["--tag", "note=two words", "-e", "TARGET=http://x", "--verbose"]},
    ],
    ids=["arguments", "args"],
)
def test_the_initializer_prints_the_document_the_operator_reads(tmp_path, form):
    (testrun,) = manifests("testrun.yaml")
    spec = {k: v for k, v in testrun["spec"].items() if k not in ("arguments", "args")} | form
    script_dir = tmp_path / "test"
    script_dir.mkdir()
    (script_dir / "test.py").write_text(SCRIPT)
    command = localize(k6operator.initializer_command(spec), script_dir=script_dir, tmp=tmp_path)
    r = subprocess.run(command, capture_output=True, text=True, env=pod_environ(tmp_path), cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)  # the pod's log is this one document
    assert doc["thresholds"] == {"http_req_failed": ["rate<0.01"]}
    assert doc["cloud"] == {"name": "shop", "projectID": 7}
    if "arguments" in form:  # the --vus/--iterations shortcut replaces the scenarios, as in k6
        assert (doc["maxVUs"], doc["totalDuration"]) == (8, "10m30s")
    else:
        assert (doc["maxVUs"], doc["totalDuration"]) == (6, "1m30s")
    assert (tmp_path / "test.py.archived.tar").is_file()
    assert "init output goes to stderr" in (tmp_path / "k6logs").read_text()


def test_a_broken_script_fails_the_initializer_with_its_error(tmp_path):
    (testrun,) = manifests("testrun.yaml")
    script_dir = tmp_path / "test"
    script_dir.mkdir()
    (script_dir / "test.py").write_text("import no_such_module_anywhere\n")
    command = localize(k6operator.initializer_command(testrun["spec"]), script_dir=script_dir, tmp=tmp_path)
    r = subprocess.run(command, capture_output=True, text=True, env=pod_environ(tmp_path), cwd=tmp_path, timeout=60)
    assert r.returncode == 1
    assert "no_such_module_anywhere" in r.stdout  # the initializer cats the log: the operator shows it
