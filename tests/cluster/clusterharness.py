"""Running Kubernetes pods' commands on 127.0.0.1: the manifests of deploy/ and k6-operator's command lines.

A pod's command runs unchanged except for :func:`localize`'s substitutions:
its API address ``0.0.0.0:6565`` becomes ``127.0.0.1:<free port>`` (four
runners share one host), ``/test/`` (the ConfigMap mount) becomes the test's
script directory and ``/tmp/`` a temporary directory. ``k6`` is deploy/k6
(the image's shim) on PATH, so ``k6 run`` is ``horde run``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
POD_ADDRESS = "0.0.0.0:6565"


def manifests(name: str) -> list[dict[str, Any]]:
    """The documents of deploy/NAME."""
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def find(docs: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The document of ``kind`` named ``name``."""
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise LookupError(f"no {kind} {name}")


def container(job: dict[str, Any]) -> dict[str, Any]:
    """The only container of a Job's pod template."""
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return only


def container_env(c: dict[str, Any]) -> dict[str, str]:
    """A container's literal env values."""
    return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def localize(command: list[str], *, port: int | None = None, script_dir: Path, tmp: Path) -> list[str]:
    """``command`` as it runs on 127.0.0.1 (see the module docstring)."""
    mounts = {"/test/": f"{script_dir}/", "/tmp/": f"{tmp}/"}
    pattern = re.compile("|".join(re.escape(m) for m in mounts))
    out = []
    for arg in command:
        if port is not None:
            arg = arg.replace(POD_ADDRESS, f"127.0.0.1:{port}")
        out.append(pattern.sub(lambda m: mounts[m.group(0)], arg))  # one pass: a new path is not rewritten again
    return out


def pod_environ(tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a local pod: deploy/k6 as ``k6`` first on PATH, horde next, one worker per runner."""
    bin_dir = tmp / "bin"
    if not (bin_dir / "k6").exists():
        bin_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY / "k6", bin_dir / "k6")
        (bin_dir / "k6").chmod(0o755)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "K6_")) and k != "PYTHONPATH"}
    environ["PATH"] = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), environ.get("PATH", "")])
    environ["HORDE_WORKERS"] = "1"  # four runners on a shared 2-core machine: one process each
    environ.update(extra or {})
    return environ


class Pod:
    """One local pod: a process group with its output in files of its own directory."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], workdir: Path, port: int | None = None):
        self.name, self.port, self.workdir = name, port, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = workdir / "stdout", workdir / "stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                command, cwd=workdir, env=dict(env), stdout=out, stderr=err, start_new_session=True
            )
        self.ended_at: float | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def logs(self) -> str:
        return f"--- {self.name} stderr:\n{self.stderr_path.read_text(errors='replace')[-3000:]}"

    def wait(self, timeout: float) -> int:
        """The exit code; the pod is killed and the test fails if it runs past ``timeout``."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not end within {timeout:g}s\n{self.logs()}") from None
        if self.ended_at is None:
            self.ended_at = time.monotonic()
        return code

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None and self.ended_at is None:
            self.ended_at = time.monotonic()
        return code

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


def get_status(address: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The probe: GET /v1/status, its JSON document when the answer is 200, else None."""
    try:
        with urllib.request.urlopen(f"http://{address}/v1/status", timeout=timeout) as res:
            return json.load(res) if res.status == 200 else None
    except (OSError, urllib.error.URLError, ValueError):
        return None


def wait_ready(pods: list[Pod], timeout: float = 60.0) -> None:
    """Probe every pod until GET /v1/status answers 200 (a readiness probe with a deadline)."""
    deadline = time.monotonic() + timeout
    waiting = list(pods)
    while waiting:
        for pod in list(waiting):
            if pod.poll() is not None:
                raise AssertionError(f"{pod.name} exited with {pod.proc.returncode} before it was ready\n{pod.logs()}")
            if get_status(pod.address) is not None:
                waiting.remove(pod)
        if waiting and time.monotonic() > deadline:
            raise AssertionError(f"not ready within {timeout:g}s: {[p.name for p in waiting]}")
        time.sleep(0.1)


def patch_status(command: list[str], addresses: list[str], body: str, timeout: float = 30.0) -> list[int]:
    """Run the starter's (or stopper's) command: with curl when installed, else the same PATCH through urllib.

    Returns each runner's HTTP status code.
    """
    if shutil.which("curl"):
        r = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stderr
        return [int(code) for code in re.findall(r'\{"http_code":(\d+),', r.stdout)]  # curl's -w, after each body
    codes = []
    for address in addresses:
        req = urllib.request.Request(
            f"http://{address}/v1/status",
            data=body.encode(),
            method="PATCH",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as res:
            codes.append(res.status)
    return codes


def json_output_counts(path: Path) -> dict[str, int]:
    """Points per metric in a json output file; every line must be a complete JSON document (flushed)."""
    counts: dict[str, int] = {}
    text = path.read_text()
    assert text.endswith("\n"), f"{path} ends mid-line"
    for line in text.splitlines():
        doc = json.loads(line)
        if doc.get("type") == "Point":
            counts[doc["metric"]] = counts.get(doc["metric"], 0) + 1
    return counts
