"""Outputs registered in code, plugin modules and output validation, through the real ``horde`` console script.

A plugin module is a plain module in a temporary directory that calls
``register_extension`` at import; it reaches a run through ``--plugin MODULE``
or ``HORDE_PLUGINS`` and is importable from PYTHONPATH or the script's directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest
from distbuild import good_module, simple_dist
from hordecli import horde_script, run_horde

SCRIPT = textwrap.dedent(
    """\
    options = {"vus": 1, "iterations": 3}

    async def default(data):
        pass
    """
)

TALLY_MODULE = textwrap.dedent(
    '''\
    """A plugin module: an output defined and registered in code."""
    import json

    from horde.output import hookimpl, register_extension


    class Tally:
        """Counts iterations and writes the count at stop."""

        def __init__(self, params):
            self.path = params.config_argument
            self.iterations = 0

        @hookimpl
        def description(self):
            return f"tally ({self.path})"

        @hookimpl
        def start(self):
            pass

        @hookimpl
        def add_samples(self, samples):
            for container in samples:
                self.iterations += sum(1 for m in container.metrics if m.name == "iterations")

        @hookimpl
        def stop(self, error):
            with open(self.path, "w") as f:
                json.dump({"iterations": self.iterations, "error": error}, f)


    register_extension("{name}", Tally)
    '''
)

RUN = ("--no-summary", "--quiet")


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script" / "script.py"
    path.parent.mkdir()
    path.write_text(SCRIPT)
    return path


@pytest.fixture
def mods(tmp_path):
    """A directory (not on any path unless a test puts it there) holding plugin modules."""
    d = tmp_path / "mods"
    d.mkdir()
    (d / "horde_tally_mod.py").write_text(TALLY_MODULE.replace("{name}", "tally"))
    return d


def _tally(path):
    return json.loads(path.read_text())


def _one_error_line(r, code):
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    return r.stderr.rstrip("\n")


def test_code_registered_output_runs_with_plugin_option(script, mods, tmp_path):
    out = tmp_path / "tally.json"
    r = run_horde("run", str(script), "-o", f"tally={out}", "--plugin", "horde_tally_mod", *RUN, sites=[mods])
    assert r.returncode == 0, r.stderr
    assert _tally(out) == {"iterations": 3, "error": None}


def test_code_registered_output_runs_with_horde_plugins(script, mods, tmp_path):
    out = tmp_path / "tally.json"
    r = run_horde(
        "run", str(script), "-o", f"tally={out}", *RUN, sites=[mods], env={"HORDE_PLUGINS": "horde_tally_mod"}
    )
    assert r.returncode == 0, r.stderr
    assert _tally(out)["iterations"] == 3


def test_plugin_module_beside_the_script_needs_no_pythonpath(script, tmp_path):
    (script.parent / "horde_beside_mod.py").write_text(TALLY_MODULE.replace("{name}", "beside"))
    out = tmp_path / "beside.json"
    r = run_horde("run", str(script), "-o", f"beside={out}", "--plugin", "horde_beside_mod", *RUN)
    assert r.returncode == 0, r.stderr
    assert _tally(out)["iterations"] == 3


def test_without_the_module_the_name_is_unknown(script, mods, tmp_path):
    r = run_horde("run", str(script), "-o", f"tally={tmp_path / 't.json'}", *RUN, sites=[mods])
    line = _one_error_line(r, 255)
    assert line.startswith("error: invalid output type 'tally', available types are: ") and "json" in line


def test_plugins_json_lists_the_code_registered_output_and_its_module(mods):
    for args, env in (((), {"HORDE_PLUGINS": "horde_tally_mod"}), (("--plugin", "horde_tally_mod"), {})):
        r = run_horde("plugins", "--json", *args, sites=[mods], env=env)
        assert r.returncode == 0, r.stderr
        by_name = {p["name"]: p for p in json.loads(r.stdout)["plugins"]}
        assert by_name["tally"] == {
            "name": "tally",
            "distribution": None,
            "version": None,
            "builtin": False,
            "source": "code",
            "module": "horde_tally_mod",
            "target": "horde_tally_mod:Tally",
            "description": "Counts iterations and writes the count at stop.",
            "hooks": ["description", "start", "add_samples", "stop"],
            "status": "ok",
            "error": None,
        }
    r = run_horde("plugins", sites=[mods], env={"HORDE_PLUGINS": "horde_tally_mod"})
    row = [line.split()[:6] for line in r.stdout.splitlines() if line.startswith("tally ")]
    assert row == [["tally", "-", "-", "ok", "horde_tally_mod:Tally", "description,start,add_samples,stop"]]


def test_plugins_imports_from_the_current_directory(mods):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_") and k != "PYTHONPATH"}
    r = subprocess.run(
        [horde_script(), "plugins", "--json", "--plugin", "horde_tally_mod"],
        cwd=mods,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "tally" in [p["name"] for p in json.loads(r.stdout)["plugins"]]


@pytest.mark.parametrize("command", ["run", "plugins"])
def test_module_that_cannot_be_imported_is_one_line_exit_104(command, script, mods):
    (mods / "horde_bad_mod.py").write_text("import horde_missing_dependency_xyz\n")
    args = ("run", str(script), *RUN) if command == "run" else ("plugins",)
    r = run_horde(*args, "--plugin", "horde_no_such_mod", sites=[mods])
    assert _one_error_line(r, 104) == (
        "error: plugin module 'horde_no_such_mod' (--plugin) not found: ModuleNotFoundError: No module named "
        "'horde_no_such_mod' (put its directory on PYTHONPATH or beside the script)"
    )
    r = run_horde(*args, sites=[mods], env={"HORDE_PLUGINS": "horde_bad_mod"})
    assert _one_error_line(r, 104) == (
        "error: plugin module 'horde_bad_mod' (HORDE_PLUGINS) cannot be imported: ModuleNotFoundError: "
        "No module named 'horde_missing_dependency_xyz'"
    )


@pytest.mark.parametrize("command", ["run", "plugins"])
def test_short_p_alias_is_gone(command, script):
    args = ("run", str(script)) if command == "run" else ("plugins",)
    r = run_horde(*args, "-p", "json")
    if command == "run":  # `horde run -p` is k6's --paused now: `json` is no plugin but an extra argument
        assert r.returncode == 255 and "unexpected extra argument (json)" in r.stderr
    else:
        assert r.returncode == 255 and "unknown flag: -p" in r.stderr


def test_two_modules_registering_one_name_is_one_line_naming_both(script, mods, tmp_path):
    (mods / "horde_tally_two.py").write_text(TALLY_MODULE.replace("{name}", "tally"))
    r = run_horde(
        "run",
        str(script),
        "-o",
        f"tally={tmp_path / 't.json'}",
        "--plugin",
        "horde_tally_mod",
        "--plugin",
        "horde_tally_two",
        *RUN,
        sites=[mods],
    )
    line = _one_error_line(r, 255)
    assert line.startswith(
        "error: output extension already registered: tally (provided by horde_tally_mod:Tally "
        f"registered at {mods / 'horde_tally_mod.py'}:"
    )
    assert f"and by horde_tally_two:Tally registered at {mods / 'horde_tally_two.py'}:" in line


def test_code_registration_of_an_installed_name_is_one_line_naming_both(script, mods, site, tmp_path):
    s = site(simple_dist("horde-out-tally", "3.0", {"tally": "GoodOutput"}, good_module()))
    r = run_horde("run", str(script), "--plugin", "horde_tally_mod", *RUN, sites=[s, mods])
    line = _one_error_line(r, 255)
    assert "output extension already registered: tally (provided by horde-out-tally 3.0 and by " in line
    assert "horde_tally_mod:Tally registered at" in line


def test_conflicting_distributions_break_only_their_name(script, site, tmp_path):
    s = site(
        simple_dist("horde-out-alpha", "1.0", {"dup": "GoodOutput"}, good_module()),
        simple_dist("horde-out-beta", "2.0", {"dup": "GoodOutput"}, good_module()),
    )
    line = _one_error_line(run_horde("run", str(script), "-o", "dup", *RUN, sites=[s]), 255)
    assert line.startswith("error: output extension already registered: dup (provided by ")
    assert "horde-out-alpha 1.0" in line and "horde-out-beta 2.0" in line
    out = tmp_path / "o.json"
    r = run_horde("run", str(script), "-o", f"json={out}", *RUN, sites=[s])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (
        sum(
            1
            for rec in map(json.loads, out.read_text().splitlines())
            if rec["type"] == "Point" and rec["metric"] == "iterations"
        )
        == 3
    )


# -- outputs refused at registration (issue 15.5), as the user sees it ------------------------------


def _output_dist(name, source):
    return simple_dist(f"horde-out-{name}", "1.0", {name: "GoodOutput"}, source)


@pytest.mark.parametrize(
    "name, change, tail",
    [
        ("slow", ("def stop(self, error):", "def stop(self):"), "hook 'stop(self)' at {file}:{line} must take (error)"),
        (
            "status",
            ("def start(self):", "def start(self, when):"),
            "hook 'start(self, when)' at {file}:{line} must take ()",
        ),
        (
            "numbered",
            ('return "good"', "return 12345"),
            "hook 'description()' at {file}:{line} must return a str, not int 12345",
        ),
    ],
)
def test_misfit_output_is_refused_before_the_run(script, site, tmp_path, name, change, tail):
    source = good_module().replace(*change)
    s = site(_output_dist(name, source))
    out = tmp_path / "o.json"
    r = run_horde("run", str(script), "-o", f"json={out}", "-o", name, *RUN, sites=[s])
    line = _one_error_line(r, 255)
    marker = change[1] if change[1].startswith("def ") else "def description(self):"
    file = s / f"horde_out_{name}" / "__init__.py"
    expected = tail.format(file=file, line=source.splitlines().index(f"    {marker}"))
    assert line == f"error: output '{name}' (horde-out-{name} 1.0): {expected}"
    assert not out.exists() or out.read_text() == ""  # nothing ran


@pytest.mark.parametrize(
    "body, tail",
    [
        ("return None", "the factory horde_out_notout:make returned None, not an output object"),
        (
            "return 42",
            (
                "the factory horde_out_notout:make returned an int with no hooks "
                "(mark the output's methods with @horde.output.hookimpl)"
            ),
        ),
    ],
)
def test_factory_returning_no_output_is_refused_before_the_run(script, site, body, tail):
    s = site(simple_dist("horde-out-notout", "0.4", {"notout": "make"}, f"def make(params):\n    {body}\n"))
    r = run_horde("run", str(script), "-o", "notout", *RUN, sites=[s])
    assert _one_error_line(r, 255) == f"error: output 'notout' (horde-out-notout 0.4): {tail}"


def test_script_registering_its_own_output_runs_with_workers(tmp_path):
    body = TALLY_MODULE.replace("{name}", "own").replace(
        '"""A plugin module: an output defined and registered in code."""', 'options = {"vus": 2, "iterations": 4}'
    )
    script = tmp_path / "own.py"
    script.write_text(body + "\n\nasync def default(data):\n    pass\n")
    out = tmp_path / "own.json"
    r = run_horde("run", str(script), "-o", f"own={out}", "--workers", "2", *RUN)
    assert r.returncode == 0, r.stderr
    assert _tally(out)["iterations"] == 4
