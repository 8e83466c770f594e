"""The output API surface: hookspecs (documented), hookimpl marker, Params, RunStatus, errors, --out specs."""

from __future__ import annotations

import inspect
import io
import logging

import horde.output
import pluggy
import pytest
from horde.errors import AbortReason, ExitCode, RunError, UserError
from horde.output import REQUIRED_HOOKS, OutputError, Params, RunStatus, hookimpl, hookspecs
from horde.output.binding import HOOK_NAMES
from horde.output.spec import OutSpec, parse_out, resolve_out_specs

CONTRACT = {
    "description": [],
    "set_thresholds": ["thresholds"],
    "set_test_run_stop": ["stop"],
    "start": [],
    "setup_coordinator": [],
    "add_samples": ["samples"],
    "set_run_status": ["status"],
    "stop": ["error"],
    "report": [],
}


def _specs():
    return {name: fn for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, "horde_spec")}


def test_every_hookspec_has_a_docstring():
    """Like datasette's test: a hook without documentation fails the build."""
    specs = _specs()
    assert specs, "no hookspecs found"
    undocumented = [name for name, fn in specs.items() if not (inspect.getdoc(fn) or "").strip()]
    assert undocumented == [], f"hookspecs without a docstring: {undocumented}"


def test_hookspecs_are_the_contract():
    specs = _specs()
    assert {n: list(inspect.signature(f).parameters) for n, f in specs.items()} == CONTRACT
    assert set(HOOK_NAMES) == set(CONTRACT)
    assert REQUIRED_HOOKS == ("description", "start", "add_samples", "stop")
    assert specs["description"].horde_spec.get("firstresult") is True


def test_hookimpl_marker_is_pluggys_for_project_horde():
    assert isinstance(hookimpl, pluggy.HookimplMarker)
    assert hookimpl.project_name == "horde"

    @hookimpl
    def start():
        pass

    assert hasattr(start, "horde_impl")


def test_public_names_are_exported():
    for name in horde.output.__all__:
        assert hasattr(horde.output, name), name


def test_params_defaults():
    p = Params("csv")
    assert p.config_argument == "" and p.json_config is None and p.environment == {}
    assert isinstance(p.logger, logging.Logger) and p.logger.name == "horde.output.csv"
    assert p.script_path is None and p.script_options == {} and p.execution_plan == ()
    out = io.StringIO()
    own = logging.getLogger("mine")
    p2 = Params("csv", "file.csv", {"saveInterval": "2s"}, own, {"HORDE_CSV_TIME_FORMAT": "unix"}, stdout=out)
    assert p2.logger is own and p2.stdout is out and p2.json_config == {"saveInterval": "2s"}


def test_run_status_has_k6_names_and_numbers():
    assert [(s.name, int(s)) for s in RunStatus] == [
        ("CREATED", -2),
        ("VALIDATED", -1),
        ("QUEUED", 0),
        ("INITIALIZING", 1),
        ("RUNNING", 2),
        ("FINISHED", 3),
        ("TIMED_OUT", 4),
        ("ABORTED_USER", 5),
        ("ABORTED_SYSTEM", 6),
        ("ABORTED_SCRIPT_ERROR", 7),
        ("ABORTED_THRESHOLD", 8),
        ("ABORTED_LIMIT", 9),
        ("ARCHIVED", 10),
    ]
    assert RunStatus.ABORTED_USER.label == "aborted by user"
    assert not RunStatus.RUNNING.is_final and RunStatus.FINISHED.is_final and RunStatus.ABORTED_LIMIT.is_final
    assert horde.output.RunStatus is RunStatus


def test_exit_codes_and_abort_reasons():
    assert (
        ExitCode.THRESHOLDS_HAVE_FAILED,
        ExitCode.INVALID_CONFIG,
        ExitCode.EXTERNAL_ABORT,
        ExitCode.SCRIPT_EXCEPTION,
        ExitCode.GENERIC,
    ) == (99, 104, 105, 107, 255)
    assert AbortReason.USER.run_status is RunStatus.ABORTED_USER
    assert AbortReason.THRESHOLD.run_status is RunStatus.ABORTED_THRESHOLD
    assert AbortReason.SCRIPT_ERROR.run_status is RunStatus.ABORTED_SCRIPT_ERROR
    assert AbortReason.OUTPUT.run_status is RunStatus.ABORTED_SYSTEM
    err = RunError("thresholds on metrics 'x' have been crossed", reason=AbortReason.THRESHOLD, exit_code=99)
    assert (err.reason, err.exit_code, err.run_status) == (AbortReason.THRESHOLD, 99, RunStatus.ABORTED_THRESHOLD)
    assert RunError("boom").run_status is RunStatus.ABORTED_SYSTEM
    assert issubclass(OutputError, UserError) and UserError("x").exit_code == 255


@pytest.mark.parametrize(
    "text, spec",
    [
        ("json", OutSpec("json", "")),
        ("json=results.json", OutSpec("json", "results.json")),
        ("influxdb=http://h:8086/db?a=b&c=d", OutSpec("influxdb", "http://h:8086/db?a=b&c=d")),
        ("csv=", OutSpec("csv", "")),
        ("csv==x", OutSpec("csv", "=x")),
    ],
)
def test_parse_out_splits_at_the_first_equals(text, spec):
    assert parse_out(text) == spec


def test_out_spec_str_round_trips():
    assert str(OutSpec("csv", "a=b.csv")) == "csv=a=b.csv" and str(OutSpec("json")) == "json"
    assert parse_out(str(OutSpec("csv", "a=b.csv"))) == OutSpec("csv", "a=b.csv")


def test_resolve_out_specs_precedence_and_repetition():
    env = {"HORDE_OUT": "json=e.json, csv=e.csv"}
    assert resolve_out_specs(["csv=a.csv", "csv=b.csv"], env, ["json"]) == [
        OutSpec("csv", "a.csv"),
        OutSpec("csv", "b.csv"),
    ]
    assert resolve_out_specs([], env, ["json"]) == [OutSpec("json", "e.json"), OutSpec("csv", "e.csv")]
    assert resolve_out_specs([], {"HORDE_OUT": " "}, ["json=c.json"]) == [OutSpec("json", "c.json")]
    assert resolve_out_specs([], {}, None) == []
    assert resolve_out_specs([], {"HORDE_OUT": "json,,json"}) == [OutSpec("json"), OutSpec("json")]


def test_k6_web_dashboard_variable_adds_the_dashboard_to_the_other_outputs():
    assert resolve_out_specs(["json"], {"K6_WEB_DASHBOARD": "true"}) == [OutSpec("json"), OutSpec("web-dashboard")]
    assert resolve_out_specs([], {"K6_WEB_DASHBOARD": "true"}) == [OutSpec("web-dashboard")]
    named = ["web-dashboard=port=-1"]
    assert resolve_out_specs(named, {"K6_WEB_DASHBOARD": "true"}) == [OutSpec("web-dashboard", "port=-1")]
    assert resolve_out_specs(["json"], {"K6_WEB_DASHBOARD": "true", "HORDE_WEB_DASHBOARD": "false"}) == [
        OutSpec("json")
    ]
    assert resolve_out_specs(["json"], {"K6_WEB_DASHBOARD": "false"}) == [OutSpec("json")]
