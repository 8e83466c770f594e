"""The template's promise, for real: both kinds of ``horde new output``, on a machine where no index holds horde.

One horde wheel is built from this checkout per session, and a wheelhouse of everything else the
generated projects need (pytest, setuptools, tox and horde's own dependencies) is downloaded once
(from the package index or pip's cache) — without horde in it. From then on every pip call runs
with ``PIP_NO_INDEX=1``: horde can only come from the wheel itself.

In one fresh virtualenv (horde installed from the wheel), for each kind (``file``: ``horde-out-tally``,
``network``: ``horde-out-beacon``): the venv's ``horde new output`` renders the project (the template
comes from the installed wheel), pip builds and installs it, ``horde plugins`` lists it, a
``horde run`` load test against horde's target server goes into it (the network kind's samples into a
real HTTP receiver, compared with the json output of the same run), the project's own tests pass, and
its CI file's steps run (``pip install tox``; ``tox -e py``) with the horde wheel committed as
``wheels/horde-*.whl``, as the generated README says. The file kind also shows a broken plugin as
broken while the others keep working, and ``pip uninstall`` removes it from the list.

Needs a package index (or pip's cache) once, to fill the wheelhouse; without one it skips, and with
``CI=true`` it fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from horde.testing.fixtures import target  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 600
TESTS_TIMEOUT = 600
TOX_TIMEOUT = 900
NAMES = {"file": "tally", "network": "beacon"}
SCRIPT = """
from horde import http, check, env

options = {"vus": 2, "iterations": 8}

async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
"""
BULK = "--horde-bulk-samples=20000"
"""The tox runs send the conformance kit's bulk check 20,000 samples (the project's pytest run: a million)."""


def _pip(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, env=env)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _no_index(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


def _clean_environ() -> dict[str, str]:
    """This process's environment without what would leak horde, a venv or an outer tox into the runs."""
    drop = ("HORDE_", "PYTHON", "VIRTUAL_ENV", "TOX_", "_TOX_", "PIP_", "PYTEST_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class Venv:
    """A virtualenv, the offline pip settings every command in it gets, and the commands the tests run."""

    def __init__(self, root: Path, work: Path, wheelhouse: Path, horde_wheel: Path) -> None:
        self.root = root
        self.work = work
        self.wheelhouse = wheelhouse
        self.horde_wheel = horde_wheel
        self.bin = root / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        self.horde = self.bin / "horde"

    def offline(self) -> dict[str, str]:
        """pip settings: no index at all, only the wheelhouse (which holds no horde)."""
        return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self.wheelhouse), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def env(self, sites=(), extra=None) -> dict:
        environ = _clean_environ()
        environ.update(self.offline())
        environ["PATH"] = f"{self.bin}{os.pathsep}{environ.get('PATH', '')}"
        if sites:
            environ["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
        environ.update(extra or {})
        return environ

    def run(self, *args, sites=(), env=None, cwd=None, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(sites, env),
            cwd=cwd or self.work,
        )

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        return _pip("--python", str(self.python), *args, env=self.env())

    def plugins(self, *args, sites=(), env=None) -> dict:
        proc = self.run(self.horde, "plugins", "--json", *args, sites=sites, env=env)
        assert proc.returncode == 0, proc.stderr
        return {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}

    def new_output(self, name: str, kind: str = "file") -> Path:
        proc = self.run(self.horde, "new", "output", name, "--kind", kind, "--no-input", "--output-dir", self.work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        project = self.work / f"horde-out-{name}"
        assert not [p for p in project.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
        return project

    def wheel(self, project: Path) -> Path:
        """Build ``project`` into a wheel (its build requirements from the wheelhouse)."""
        out = self.work / "wheels" / project.name
        self.pip("wheel", "--no-deps", "--workers", str(out), str(project))
        return next(out.glob("*.whl"))


@pytest.fixture(scope="session")
def horde_wheel(tmp_path_factory) -> Path:
    """horde, built once per session from a copy of this checkout's sources."""
    base = tmp_path_factory.mktemp("horde-wheel")
    src = base / "horde-src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "core", src / "core", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    proc = _pip("wheel", "--no-deps", "--workers", str(base / "dist"), str(src), check=False)
    if proc.returncode != 0:
        _no_index(f"pip cannot build horde here (setuptools from a package index?): {proc.stderr.strip()[-500:]}")
    return next((base / "dist").glob("horde-*.whl"))


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory, horde_wheel) -> Path:
    """Every wheel the generated projects need, except horde: the only package source of the runs below."""
    house = tmp_path_factory.mktemp("wheelhouse")
    proc = _pip(
        "download", "--dest", str(house), str(horde_wheel), "pytest>=7.4", "setuptools>=77", "tox>=4", check=False
    )
    if proc.returncode != 0:
        _no_index(f"pip cannot download the wheelhouse here (no package index?): {proc.stderr.strip()[-500:]}")
    for wheel in house.glob("horde-*.whl"):
        wheel.unlink()
    return house


@pytest.fixture(scope="session")
def venv(tmp_path_factory, wheelhouse, horde_wheel) -> Venv:
    base = tmp_path_factory.mktemp("newoutput")
    root = base / "venv"
    # with pip, as actions/setup-python gives it: the CI steps run `python -m pip install tox`
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    v = Venv(root, base / "work", wheelhouse, horde_wheel)
    v.work.mkdir()
    v.pip("install", "--no-compile", str(horde_wheel), "pytest>=7.4")
    return v


@pytest.fixture(scope="module", params=sorted(NAMES))
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def project(venv, kind) -> Path:
    """The project of ``kind``, rendered by the venv's ``horde new output`` and installed from a wheel."""
    path = venv.new_output(NAMES[kind], kind)
    venv.pip("install", "--no-deps", str(venv.wheel(path)))
    return path


def _load_receiver(project: Path):
    """The generated project's own test receiver (tests/receiver.py): a real HTTP server."""
    spec = importlib.util.spec_from_file_location(
        f"receiver_{project.name.replace('-', '_')}", project / "tests" / "receiver.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Receiver()


def test_the_template_comes_from_the_installed_wheel(venv):
    proc = venv.run(venv.python, "-c", "import horde.commands.new as n; print(n.TEMPLATE_DIR)")
    template = Path(proc.stdout.strip())
    assert template.is_relative_to(venv.root), "horde must come from the venv, not the checkout"
    assert (template / "cookiecutter.json").is_file() and (template / "hooks" / "pre_gen_project.py").is_file()
    shipped = {
        p.relative_to(template).as_posix() for p in template.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    source = ROOT / "core" / "horde" / "templates" / "output"
    assert shipped == {
        p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def test_horde_plugins_shows_it_ok_with_its_version(venv, kind, project):
    name = NAMES[kind]
    mine = venv.plugins()[name]
    assert (mine["distribution"], mine["version"], mine["status"], mine["builtin"]) == (
        f"horde-out-{name}",
        "0.1.0",
        "ok",
        False,
    )
    assert mine["target"] == f"horde_out_{name}.output:{name.title()}Output"
    hooks = {
        "file": [
            "description",
            "set_thresholds",
            "set_test_run_stop",
            "start",
            "add_samples",
            "set_run_status",
            "stop",
            "report",
        ],
        "network": ["description", "start", "add_samples", "stop", "report"],
    }
    assert mine["hooks"] == hooks[kind]
    proc = venv.run(venv.horde, "plugins")
    row = next(line.split() for line in proc.stdout.splitlines() if line.startswith(f"{name} "))
    assert row[:4] == [name, f"horde-out-{name}", "0.1.0", "ok"]


def _file_load_test(venv, name, target):  # noqa: F811
    proc = venv.run(
        venv.horde, "run", "script.py", "-e", f"TARGET={target.url}", "-o", f"{name}=run.jsonl", "--no-summary"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"output: {name} (run.jsonl)" in proc.stdout
    records = [json.loads(line) for line in (venv.work / "run.jsonl").read_text().splitlines()]
    *intervals, end = records
    assert intervals and all(r["type"] == "interval" for r in intervals)
    assert sum(r["metrics"]["http_reqs"]["count"] for r in intervals if "http_reqs" in r["metrics"]) == 8
    assert end["type"] == "end" and end["run_status"] == "finished" and end["error"] is None
    assert end["intervals"] == len(intervals)
    totals = end["metrics"]
    assert totals["http_reqs"] == {"type": "counter", "count": 8, "sum": 8.0, "min": 1.0, "max": 1.0, "mean": 1.0}
    assert totals["iterations"]["count"] == 8 and totals["checks"]["mean"] == 1.0
    assert totals["http_req_duration"]["type"] == "trend" and totals["http_req_duration"]["count"] == 8


def _network_load_test(venv, name, project, target):  # noqa: F811
    receiver = _load_receiver(project)
    try:
        receiver.fail_next(2, 503)  # the endpoint stumbles at first: retried, nothing lost
        proc = venv.run(
            venv.horde,
            "run",
            "script.py",
            "-e",
            f"TARGET={target.url}",
            "-o",
            f"{name}=url={receiver.url},interval=200ms,retry_max=200ms",
            "-o",
            "json=run.json",
            "--no-summary",
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"output: {name} ({receiver.url})" in proc.stdout
        received = list(receiver.records())
        assert receiver.repeats == 0
    finally:
        receiver.close()
    points = [json.loads(line) for line in (venv.work / "run.json").read_text().splitlines()]
    points = [p for p in points if p["type"] == "Point"]
    key = lambda metric, value, tags: (metric, round(value, 9), tuple(sorted(tags.items())))  # noqa: E731
    assert Counter(key(r["metric"], r["value"], r["tags"]) for r in received) == Counter(
        key(p["metric"], p["data"]["value"], p["data"]["tags"]) for p in points
    )
    assert sum(1 for r in received if r["metric"] == "http_reqs") == 8
    assert all(isinstance(r["time"], int) and r["time"] > 1_600_000_000 * 10**9 for r in received)


def test_horde_run_load_test_into_it(venv, kind, project, target):  # noqa: F811
    (venv.work / "script.py").write_text(SCRIPT)
    if kind == "file":
        _file_load_test(venv, NAMES[kind], target)
    else:
        _network_load_test(venv, NAMES[kind], project, target)


def test_the_generated_projects_own_tests_pass(venv, kind, project):
    proc = venv.run(
        venv.python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", cwd=project, timeout=TESTS_TIMEOUT
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout, proc.stdout[-2000:]
    # the only skips allowed: conformance checks of what the output declares it does not have
    skips = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("the output declares it lacks" in line for line in skips), proc.stdout[-2000:]


def test_its_ci_file_runs_tox_offline_with_a_committed_horde_wheel(venv, kind, project):
    """The workflow's shell steps as GitHub runs them (bash -e), with no index: horde comes from wheels/."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert [u.split("@")[0] for u in uses] == ["actions/checkout", "actions/setup-python"]  # what we emulate
    env = {k: str(v).replace("${{ vars.HORDE_SOURCE }}", "") for k, v in workflow.get("env", {}).items()}
    assert env.get("HORDE_SOURCE") == ""  # the repository variable is not set: the committed wheel is used
    (project / "wheels").mkdir(exist_ok=True)
    shutil.copy(venv.horde_wheel, project / "wheels" / venv.horde_wheel.name)
    env["PYTEST_ADDOPTS"] = BULK
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert any("tox" in run for run in runs)
    for run in runs:
        proc = venv.run("bash", "-e", "-c", run, cwd=project, env=env, timeout=TOX_TIMEOUT)
        assert proc.returncode == 0, f"{run}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "congratulations" in proc.stdout and " passed" in proc.stdout, proc.stdout[-3000:]
    # tox installed horde from the committed wheel, not from anywhere else
    direct = next((project / ".tox" / "py").glob("lib/python*/site-packages/horde-*.dist-info/direct_url.json"))
    assert json.loads(direct.read_text())["url"].endswith(f"/wheels/{venv.horde_wheel.name}")


@pytest.mark.parametrize("kind", ["file"], indirect=True)  # plugin isolation does not depend on the kind
def test_a_broken_generated_plugin_is_broken_and_the_others_keep_working(venv, kind, project, target, tmp_path):  # noqa: F811
    site = tmp_path / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(venv.wheel(venv.new_output("brk"))))
    with open(site / "horde_out_brk" / "output.py", "a") as f:
        f.write("\ndef oops(:\n")  # the syntax error

    proc = venv.run(venv.horde, "plugins", sites=[site])
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[1:]}
    assert rows["brk"][3] == "broken" and rows["tally"][3] == "ok" and rows["json"][3] == "ok"
    assert "output 'brk' from horde-out-brk 0.1.0 is broken" in proc.stderr and "SyntaxError" in proc.stderr
    assert "Traceback" not in proc.stderr

    (venv.work / "script.py").write_text(SCRIPT)
    proc = venv.run(
        venv.horde,
        "run",
        "script.py",
        "-e",
        f"TARGET={target.url}",
        "-o",
        "tally=ok.jsonl",
        "-o",
        f"json={tmp_path / 'ok.json'}",
        "--quiet",
        "--no-summary",
        sites=[site],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    end = json.loads((venv.work / "ok.jsonl").read_text().splitlines()[-1])
    assert end["metrics"]["http_reqs"]["count"] == 8
    points = [json.loads(line) for line in (tmp_path / "ok.json").read_text().splitlines()]
    assert sum(1 for p in points if p["type"] == "Point" and p["metric"] == "http_reqs") == 8

    proc = venv.run(venv.horde, "run", "script.py", "-e", f"TARGET={target.url}", "-o", "brk", "--quiet", sites=[site])
    assert proc.returncode != 0
    assert (
        proc.stderr.startswith("error: output 'brk' from horde-out-brk 0.1.0 is broken")
        and "Traceback" not in proc.stderr
    )

    # with autoload off, the broken plugin is not even looked at unless named
    off = {"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert set(venv.plugins(sites=[site], env=off)) == {"json"}
    assert set(venv.plugins("--plugin", "tally", sites=[site], env=off)) == {"json", "tally"}
    assert set(venv.plugins(sites=[site], env={**off, "HORDE_PLUGINS": "horde-out-brk"})) == {"json", "brk"}


def test_pip_uninstall_removes_it_from_the_list(venv, kind, project):
    """Last for each kind: it uninstalls the kind's plugin."""
    name = NAMES[kind]
    assert name in venv.plugins()
    venv.pip("uninstall", "-y", f"horde-out-{name}")
    assert name not in venv.plugins() and "json" in venv.plugins()
