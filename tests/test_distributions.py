"""Real distributions in a fresh virtualenv: ``pip install`` horde, then throwaway output distributions.

One session-scoped venv holds horde installed from a wheel pip built from this
checkout (not editable). Throwaway output distributions are installed by pip
into separate ``--target`` directories and put on PYTHONPATH per scenario, so
the scenarios (a duplicate name, a broken plugin, ...) do not see each other.
One of them is a pyproject.toml project built by pip with setuptools, as an
output author would publish it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from distbuild import (
    BROKEN_OUTPUT,
    WRONG_SIGNATURE_OUTPUT,
    build_wheel,
    good_module,
    simple_dist,
    write_project,
)

ROOT = Path(__file__).resolve().parents[1]
PIP_TIMEOUT = 300


def _pip(*args, **kw):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, **kw)
    if r.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def _version_tuple(text):
    parts = []
    for p in text.split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _can_build_without_isolation() -> bool:
    """setuptools >= 70.1 (bdist_wheel built in) is importable here: no need for pip's build env."""
    try:
        return _version_tuple(importlib.metadata.version("setuptools")) >= (70, 1)
    except importlib.metadata.PackageNotFoundError:
        return False


class Venv:
    def __init__(self, root: Path, wheels: Path):
        self.root = root
        self.wheels = wheels
        self.bin = root / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        self.horde = self.bin / "horde"
        self._targets = 0

    def env(self, sites=(), extra=None):
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "PYTHON", "VIRTUAL_ENV"))}
        if sites:
            environ["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
        environ.update(extra or {})
        return environ

    def run(self, *args, sites=(), env=None):
        return subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, timeout=60, env=self.env(sites, env), cwd=self.root
        )

    def target(self, *wheels: Path) -> Path:
        """A new directory with ``wheels`` installed into it by pip (for PYTHONPATH)."""
        self._targets += 1
        d = self.root.parent / f"target{self._targets}"
        _pip("install", "--no-deps", "--no-index", "--target", str(d), *map(str, wheels))
        return d


@pytest.fixture(scope="session")
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("dists")
    src = base / "horde-src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "core", src / "core", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    author_project = write_project(
        simple_dist("horde-out-good", "1.3.0", {"good": "GoodOutput"}, good_module(doc="The good output.")),
        base / "horde-out-good",
    )
    wheels = base / "wheels"
    build_flags = ["--no-build-isolation"] if _can_build_without_isolation() else []
    _pip("wheel", "--no-deps", *build_flags, "-w", str(wheels), str(src), str(author_project))
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    v = Venv(root, wheels)
    horde_wheel = next(wheels.glob("horde-*.whl"))
    _pip("--python", str(v.python), "install", str(horde_wheel))
    return v


def test_pip_install_then_plugins_json_lists_json_ok(venv):
    r = venv.run(venv.horde, "plugins", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["schema_version"] == 1
    assert [(p["name"], p["distribution"], p["status"]) for p in data["plugins"]] == [("json", "horde", "ok")]
    r = venv.run(venv.python, "-c", "import horde; print(horde.__file__)")
    assert r.stdout.startswith(str(venv.root)), "horde must come from the venv, not the checkout"
    r = venv.run(venv.horde, "--version")
    assert r.returncode == 0 and r.stdout.startswith("horde ")


RUN_OUTPUT = r"""
import sys
import zipfile
from horde.metrics import MetricRegistry, MetricType, Sample, TagSet
from horde.output import Params, UserError
from horde.output.binding import create_output, new_plugin_manager
from horde.output.manager import Manager
from horde.output.registry import load_registry

name, arg = sys.argv[1], sys.argv[2]
try:
    out = create_output(load_registry().get(name), Params(name, arg), new_plugin_manager())
except UserError as exc:
    print(f"error: {exc}")
    sys.exit(1)
mgr = Manager([out])
mgr.start(lambda e: None)
m = MetricRegistry().get_or_new("iterations", MetricType.COUNTER)
mgr.add_samples([Sample(m, 0, 1.0, TagSet.of(scenario="default"))])
mgr.stop(None)
print("ran", out.description())
"""


def test_author_plugin_built_from_pyproject_is_listed_and_runs(venv):
    target = venv.target(next(venv.wheels.glob("horde_out_good-*.whl")))
    r = venv.run(venv.horde, "plugins", "--json", sites=[target])
    assert r.returncode == 0, r.stderr
    by_name = {p["name"]: p for p in json.loads(r.stdout)["plugins"]}
    assert by_name["good"]["distribution"] == "horde-out-good" and by_name["good"]["version"] == "1.3.0"
    assert by_name["good"]["status"] == "ok" and by_name["good"]["description"] == "The good output."
    r = venv.run(venv.python, "-c", RUN_OUTPUT, "good", "", sites=[target])
    assert r.returncode == 0 and r.stdout.strip() == "ran good", r.stdout + r.stderr


RUN_SCRIPT = 'options = {"vus": 1, "iterations": 2}\n\n\nasync def default(data):\n    pass\n'


def test_two_installed_distributions_with_one_name_conflict_and_break_only_that_name(venv, tmp_path):
    target = venv.target(
        build_wheel(simple_dist("horde-out-alpha", "1.0", {"dup": "GoodOutput"}, good_module()), tmp_path),
        build_wheel(simple_dist("horde-out-beta", "2.0", {"dup": "GoodOutput"}, good_module()), tmp_path),
    )
    r = venv.run(venv.horde, "plugins", "--json", sites=[target])
    assert r.returncode == 0, r.stderr
    dups = [p for p in json.loads(r.stdout)["plugins"] if p["name"] == "dup"]
    assert sorted((p["distribution"], p["version"], p["status"]) for p in dups) == [
        ("horde-out-alpha", "1.0", "conflict"),
        ("horde-out-beta", "2.0", "conflict"),
    ]
    assert r.stderr.startswith("conflict: output extension already registered: dup") and r.stderr.count("\n") == 1
    script = tmp_path / "script.py"
    script.write_text(RUN_SCRIPT)
    r = venv.run(venv.horde, "run", script, "-o", "dup", "--quiet", "--no-summary", sites=[target])
    assert r.returncode == 255
    assert r.stderr.startswith("error: output extension already registered: dup (provided by ")
    assert "horde-out-alpha 1.0" in r.stderr and "horde-out-beta 2.0" in r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    out = tmp_path / "o.json"
    r = venv.run(venv.horde, "run", script, "-o", f"json={out}", "--quiet", "--no-summary", sites=[target])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    points = [rec for rec in map(json.loads, out.read_text().splitlines()) if rec["type"] == "Point"]
    assert [p["metric"] for p in points].count("iterations") == 2


def test_one_distribution_seen_twice_is_no_error(venv, tmp_path):
    wheel = build_wheel(simple_dist("horde-out-same", "1.0", {"same": "GoodOutput"}, good_module()), tmp_path / "a")
    newer = build_wheel(simple_dist("horde-out-same", "1.1", {"same": "GoodOutput"}, good_module()), tmp_path / "b")
    for sites in ([venv.target(wheel), venv.target(wheel)], [venv.target(newer), venv.target(wheel)]):
        r = venv.run(venv.horde, "plugins", "--json", sites=sites)
        assert r.returncode == 0, r.stderr
        assert [p["name"] for p in json.loads(r.stdout)["plugins"]] == ["json", "same"]


def test_broken_plugin_is_shown_broken_while_json_works(venv, tmp_path):
    target = venv.target(
        build_wheel(simple_dist("horde-out-broken", "0.2", {"broken": "BrokenOutput"}, BROKEN_OUTPUT), tmp_path)
    )
    r = venv.run(venv.horde, "plugins", sites=[target])
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert rows["broken"][3] == "broken" and rows["json"][3] == "ok"
    assert "horde_missing_dependency_xyz" in r.stderr and "Traceback" not in r.stderr
    out = tmp_path / "res.json"
    r = venv.run(venv.python, "-c", RUN_OUTPUT, "json", str(out), sites=[target])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [l["type"] for l in lines] == ["Metric", "Point"] and lines[1]["data"]["tags"] == {"scenario": "default"}
    r = venv.run(venv.python, "-c", RUN_OUTPUT, "broken", "", sites=[target])
    assert r.returncode == 1 and "output 'broken' from horde-out-broken 0.2 is broken" in r.stdout


def test_wrong_hook_signature_names_plugin_hook_and_file(venv, tmp_path):
    target = venv.target(
        build_wheel(
            simple_dist("horde-out-wrongsig", "0.5", {"wrongsig": "WrongOutput"}, WRONG_SIGNATURE_OUTPUT), tmp_path
        )
    )
    r = venv.run(venv.python, "-c", RUN_OUTPUT, "wrongsig", "", sites=[target])
    assert r.returncode == 1, r.stdout + r.stderr
    msg = r.stdout.strip()
    assert msg.startswith(
        "error: output 'wrongsig' (horde-out-wrongsig 0.5): hook 'add_samples(self, samples, flush_now)' at "
    )
    assert f"{target / 'horde_out_wrongsig' / '__init__.py'}:" in msg
    assert msg.endswith(" must take (samples)") and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "project",
    [
        ".",
        "plugins/out-csv",
        "plugins/out-influx",
        "plugins/out-cloud",
        "plugins/out-prometheus",
        "plugins/out-otel",
        "plugins/out-dashboard",
        "insights",
    ],
)
def test_building_each_distribution_prints_no_warning(project, tmp_path):
    """pip builds every distribution of the repo (isolated, as an install does) without a deprecation warning."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--disable-pip-version-check",
        "-v",
        "-w",
        str(tmp_path),
        str(ROOT / project),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    text = res.stdout + res.stderr
    warnings = [line for line in text.splitlines() if "deprecat" in line.lower() or "SetuptoolsWarning" in line]
    assert warnings == [], "\n".join(warnings)
    assert len(list(tmp_path.glob("*.whl"))) == 1


def test_without_a_c_compiler_horde_installs_without_its_accelerators(venv, tmp_path):
    """The C accelerators are optional: a build whose compiler fails still gives a working horde, without them."""
    src = tmp_path / "horde-src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "core", src / "core", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so"))
    wheels = tmp_path / "wheels"
    build_flags = ["--no-build-isolation"] if _can_build_without_isolation() else []
    env = {**os.environ, "CC": "false"}  # every compile fails
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *build_flags, "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    wheel = next(wheels.glob("horde-*.whl"))
    assert not any(n.endswith((".so", ".pyd")) for n in zipfile.ZipFile(wheel).namelist())
    site = venv.target(wheel)
    probe = (
        "import sys; from horde.http import h1; from horde.metrics import sinks, wire, ConnectedSamples; "
        "print(h1.scan_response, h1._begin, sys.modules['horde.http.client']._finish, sinks._summarize, wire._build, "
        "ConnectedSamples.__mro__[1].__name__)"
    )
    assert venv.run(venv.python, "-c", probe, sites=[site]).stdout.strip() == "None None None None None _PyFields"
    told = "from horde.commands.version import version_lines; print(version_lines()[1])"
    line = venv.run(venv.python, "-c", told, sites=[site]).stdout.strip()
    assert line.startswith("C accelerators: none (installed without a C compiler"), line
    built = zipfile.ZipFile(next(venv.wheels.glob("horde-*.whl"))).namelist()  # the session's, with the compiler
    for module in (
        "horde/http/_scan.",
        "horde/http/_exchange.",
        "horde/http/_fast.",
        "horde/metrics/_sketch.",
        "horde/metrics/_connected.",
    ):
        assert any(n.startswith(module) and n.endswith(".so") for n in built), module
