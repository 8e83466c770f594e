"""The five-minute promise, for real: a fresh virtualenv with horde installed from a wheel of this checkout.

In it, ``horde new output`` (the template comes from the installed wheel, not
the checkout) renders ``horde-out-tally``; pip builds and installs it; then
``horde plugins`` lists it with its version, ``horde run -o tally`` against a
local HTTP server writes what the template promises, the generated project's
own tests pass, a second generated plugin with a syntax error shows as broken
while the others keep working, and ``pip uninstall`` removes it from the list.

Every wheel is built by the venv's own setuptools without build isolation.
Needs pip to reach a package index (or its cache) for horde's dependencies,
setuptools and pytest; without one it skips, and with ``CI=true`` it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from horde.testing.fixtures import target  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 600
SCRIPT = '''
from horde import http, check, env

options = {"vus": 2, "iterations": 8}

async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
'''


def _pip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _no_index(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


class Venv:
    """A virtualenv and the commands the tests run in it, with no HORDE_* or PYTHON* leaking in."""

    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.work = work
        self.bin = root / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        self.horde = self.bin / "horde"

    def env(self, sites=(), extra=None) -> dict:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "PYTHON", "VIRTUAL_ENV"))}
        environ["PATH"] = f"{self.bin}{os.pathsep}{environ.get('PATH', '')}"
        if sites:
            environ["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
        environ.update(extra or {})
        return environ

    def run(self, *args, sites=(), env=None, cwd=None, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                              env=self.env(sites, env), cwd=cwd or self.work)

    def plugins(self, *args, sites=(), env=None) -> dict:
        proc = self.run(self.horde, "plugins", "--json", *args, sites=sites, env=env)
        assert proc.returncode == 0, proc.stderr
        return {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}

    def new_output(self, name: str) -> Path:
        proc = self.run(self.horde, "new", "output", name, "--no-input", "--output-dir", self.work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        project = self.work / f"horde-out-{name}"
        assert not [p for p in project.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
        return project

    def wheel(self, project: Path) -> Path:
        """Build ``project`` into a wheel with the venv's own setuptools (no build isolation: fast, offline)."""
        out = self.work / "wheels" / project.name
        _pip("--python", str(self.python), "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(project))
        return next(out.glob("*.whl"))


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Venv:
    base = tmp_path_factory.mktemp("newoutput")
    src = base / "horde-src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "core", src / "core", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    v = Venv(root, base / "work")
    v.work.mkdir()
    proc = _pip("--python", str(v.python), "install", "--no-compile", "setuptools>=70.1", "pytest>=7.4", check=False)
    if proc.returncode != 0:
        _no_index(f"pip cannot install setuptools and pytest here (no package index?): {proc.stderr.strip()[-500:]}")
    proc = _pip("--python", str(v.python), "install", "--no-compile", str(v.wheel(src)), check=False)
    if proc.returncode != 0:
        _no_index(f"pip cannot install horde's dependencies here (no package index?): {proc.stderr.strip()[-500:]}")
    return v


@pytest.fixture(scope="module")
def tally(venv) -> Path:
    """horde-out-tally, rendered by the venv's ``horde new output`` and installed into the venv from a wheel."""
    project = venv.new_output("tally")
    _pip("--python", str(venv.python), "install", "--no-deps", str(venv.wheel(project)))
    return project


def test_the_template_comes_from_the_installed_wheel(venv):
    proc = venv.run(venv.python, "-c", "import horde.commands.new as n; print(n.TEMPLATE_DIR)")
    template = Path(proc.stdout.strip())
    assert template.is_relative_to(venv.root), "horde must come from the venv, not the checkout"
    assert (template / "cookiecutter.json").is_file() and (template / "hooks" / "pre_gen_project.py").is_file()
    shipped = {p.relative_to(template).as_posix() for p in template.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    source = ROOT / "core" / "horde" / "templates" / "output"
    assert shipped == {p.relative_to(source).as_posix() for p in source.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts}


def test_horde_plugins_shows_it_ok_with_its_version(venv, tally):
    mine = venv.plugins()["tally"]
    assert (mine["distribution"], mine["version"], mine["status"], mine["builtin"]) == ("horde-out-tally", "0.1.0", "ok", False)
    assert mine["target"] == "horde_out_tally.output:TallyOutput"
    assert mine["hooks"] == ["description", "set_thresholds", "set_test_run_stop", "start", "add_samples",
                             "set_run_status", "stop", "report"]
    proc = venv.run(venv.horde, "plugins")
    row = next(line.split() for line in proc.stdout.splitlines() if line.startswith("tally "))
    assert row[:4] == ["tally", "horde-out-tally", "0.1.0", "ok"]


def test_horde_run_writes_the_promised_aggregates(venv, tally, target):  # noqa: F811
    (venv.work / "script.py").write_text(SCRIPT)
    proc = venv.run(venv.horde, "run", "script.py", "-e", f"TARGET={target.url}", "-o", "tally=run.jsonl",
                    "--no-summary")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "output: tally (run.jsonl)" in proc.stdout
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


def test_the_generated_projects_own_tests_pass(venv, tally):
    proc = venv.run(venv.python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", cwd=tally, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout, proc.stdout[-2000:]
    # the only skips allowed: conformance checks of what the output declares it does not keep (tags, metadata)
    skips = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("the output declares it lacks" in line for line in skips), proc.stdout[-2000:]
    assert "test_conformance" in proc.stdout or skips, proc.stdout[-2000:]


def test_a_broken_generated_plugin_is_broken_and_the_others_keep_working(venv, tally, target, tmp_path):  # noqa: F811
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
    proc = venv.run(venv.horde, "run", "script.py", "-e", f"TARGET={target.url}", "-o", "tally=ok.jsonl",
                    "-o", f"json={tmp_path / 'ok.json'}", "--quiet", "--no-summary", sites=[site])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    end = json.loads((venv.work / "ok.jsonl").read_text().splitlines()[-1])
    assert end["metrics"]["http_reqs"]["count"] == 8
    points = [json.loads(line) for line in (tmp_path / "ok.json").read_text().splitlines()]
    assert sum(1 for p in points if p["type"] == "Point" and p["metric"] == "http_reqs") == 8

    proc = venv.run(venv.horde, "run", "script.py", "-e", f"TARGET={target.url}", "-o", "brk", "--quiet",
                    sites=[site])
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: output 'brk' from horde-out-brk 0.1.0 is broken") and "Traceback" not in proc.stderr

    # with autoload off, the broken plugin is not even looked at unless named
    off = {"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert set(venv.plugins(sites=[site], env=off)) == {"json"}
    assert set(venv.plugins("--plugin", "tally", sites=[site], env=off)) == {"json", "tally"}
    assert set(venv.plugins(sites=[site], env={**off, "HORDE_PLUGINS": "horde-out-brk"})) == {"json", "brk"}


def test_pip_uninstall_removes_it_from_the_list(venv, tally):
    """Last in this module: it uninstalls the module's plugin."""
    assert "tally" in venv.plugins()
    _pip("--python", str(venv.python), "uninstall", "-y", "horde-out-tally")
    assert set(venv.plugins()) == {"json"}
