"""The ``horde`` console script of this environment, run as a subprocess."""

from __future__ import annotations

import json

import horde
import pytest
from distbuild import BROKEN_OUTPUT, good_module, simple_dist
from hordecli import run_horde


def test_version():
    r = run_horde("--version")
    assert r.returncode == 0 and r.stdout == f"horde {horde.__version__}\n"


def test_help_lists_plugins_command():
    r = run_horde("--help")
    assert r.returncode == 0 and "plugins" in r.stdout


def test_plugins_table_with_only_the_builtin():
    r = run_horde("plugins", env={"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "FROM", "HOOKS", "DESCRIPTION"]
    assert lines[1].split()[:6] == [
        "json",
        "horde",
        horde.__version__,
        "ok",
        "builtin",
        "description,set_thresholds,start,add_samples,stop,report",
    ]
    assert len(lines) == 2 and r.stderr == ""


def test_plugins_json_schema(site):
    s = site(simple_dist("horde-out-good", "1.4", {"good": "GoodOutput"}, good_module(doc="Writes good things.")))
    r = run_horde("plugins", "--json", sites=[s])
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["schema_version"] == 1
    by_name = {p["name"]: p for p in data["plugins"]}
    assert list(by_name) == sorted(by_name)
    assert by_name["good"] == {
        "name": "good",
        "distribution": "horde-out-good",
        "version": "1.4",
        "builtin": False,
        "source": "entry_point",
        "module": None,
        "target": "horde_out_good:GoodOutput",
        "description": "Writes good things.",
        "hooks": ["description", "start", "add_samples", "stop"],
        "status": "ok",
        "error": None,
    }
    assert by_name["json"]["status"] == "ok" and by_name["json"]["builtin"] is True


def test_broken_plugin_is_listed_as_broken_and_json_still_ok(site):
    s = site(simple_dist("horde-out-broken", "0.1", {"broken": "BrokenOutput"}, BROKEN_OUTPUT))
    r = run_horde("plugins", sites=[s])
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert rows["broken"][:4] == ["broken", "horde-out-broken", "0.1", "broken"]
    assert rows["json"][3] == "ok"
    assert "Traceback" not in r.stderr
    assert "broken: output 'broken' from horde-out-broken 0.1 is broken" in r.stderr
    assert "horde_missing_dependency_xyz" in r.stderr
    r = run_horde("plugins", "--json", sites=[s])
    data = {p["name"]: p for p in json.loads(r.stdout)["plugins"]}
    assert data["broken"]["status"] == "broken" and "horde_missing_dependency_xyz" in data["broken"]["error"]
    assert data["json"]["status"] == "ok"


def test_two_distributions_claiming_one_name_are_listed_as_conflicting(site):
    s = site(
        simple_dist("horde-out-alpha", "1.0", {"dup": "GoodOutput"}, good_module()),
        simple_dist("horde-out-beta", "2.0", {"dup": "GoodOutput"}, good_module()),
        simple_dist("horde-out-fine", "1.0", {"fine": "GoodOutput"}, good_module()),
    )
    r = run_horde("plugins", sites=[s])
    assert r.returncode == 0, r.stderr
    rows = [line.split()[:5] for line in r.stdout.splitlines()[1:]]
    assert sorted(row for row in rows if row[0] == "dup") == [
        ["dup", "horde-out-alpha", "1.0", "conflict", "entry-point"],
        ["dup", "horde-out-beta", "2.0", "conflict", "entry-point"],
    ]
    assert ["fine", "horde-out-fine", "1.0", "ok", "entry-point"] in rows
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("conflict: output extension already registered: dup")
    assert "horde-out-alpha 1.0" in r.stderr and "horde-out-beta 2.0" in r.stderr and "Traceback" not in r.stderr
    r = run_horde("plugins", "--json", sites=[s])
    assert r.returncode == 0, r.stderr
    dups = [p for p in json.loads(r.stdout)["plugins"] if p["name"] == "dup"]
    assert sorted(p["distribution"] for p in dups) == ["horde-out-alpha", "horde-out-beta"]
    assert {p["status"] for p in dups} == {"conflict"} and all("horde-out-beta 2.0" in p["error"] for p in dups)


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_adds_the_traceback(where):
    args = ["--verbose", "plugins"] if where == "before" else ["plugins", "--verbose"]
    r = run_horde(*args, "--plugin", "horde_test_no_such_module")
    assert r.returncode == 104
    assert "Traceback" in r.stderr and "PluginModuleError" in r.stderr
    assert r.stderr.rstrip().splitlines()[-1].startswith("error: plugin module 'horde_test_no_such_module' (--plugin)")


def test_same_distribution_on_two_sys_path_entries_is_no_error(site):
    dist = simple_dist("horde-out-same", "1.0", {"same": "GoodOutput"}, good_module())
    r = run_horde("plugins", "--json", sites=[site(dist), site(dist)])
    assert r.returncode == 0, r.stderr
    names = [p["name"] for p in json.loads(r.stdout)["plugins"]]
    assert names == ["json", "same"]


def test_autoload_disabled_shows_only_builtins_and_named_plugins(site):
    s = site(
        simple_dist("horde-out-one", "1", {"one": "GoodOutput"}, good_module()),
        simple_dist("horde-out-broken", "1", {"broken": "BrokenOutput"}, BROKEN_OUTPUT),
    )
    r = run_horde("plugins", "--json", sites=[s], env={"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert [p["name"] for p in json.loads(r.stdout)["plugins"]] == ["json"]
    assert r.stderr == ""
    r = run_horde("plugins", "--json", sites=[s], env={"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1", "HORDE_PLUGINS": "one"})
    assert [p["name"] for p in json.loads(r.stdout)["plugins"]] == ["json", "one"]


def test_plugin_printing_at_import_does_not_corrupt_the_json_listing(site):
    noisy = "print('hello from a noisy plugin')\n" + good_module()
    s = site(simple_dist("horde-out-noisy", "1", {"noisy": "GoodOutput"}, noisy))
    r = run_horde("plugins", "--json", sites=[s])
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [p["name"] for p in data["plugins"]] == ["json", "noisy"]


def test_plugin_exiting_at_import_is_broken_not_fatal(site):
    s = site(simple_dist("horde-out-exits", "1", {"exits": "X"}, "import sys\nsys.exit(3)\n"))
    r = run_horde("plugins", "--json", sites=[s])
    assert r.returncode == 0, r.stderr
    data = {p["name"]: p for p in json.loads(r.stdout)["plugins"]}
    assert data["exits"]["status"] == "broken" and "SystemExit" in data["exits"]["error"]


def test_usage_errors_have_no_traceback():
    r = run_horde("no-such-command")
    assert r.returncode == 255 and "unknown command" in r.stderr and "Traceback" not in r.stderr  # as k6
    r = run_horde("plugins", "--bogus")
    assert r.returncode == 255 and "unknown flag: --bogus" in r.stderr and "Traceback" not in r.stderr
