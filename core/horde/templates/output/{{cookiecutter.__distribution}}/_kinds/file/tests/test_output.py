"""The output driven hook by hook with real metric samples, as horde's Manager drives it."""

import io
import json
import os

import pytest

from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, Sample, TagSet
from horde.output import AbortReason, Params, RunError, RunStatus

from {{ cookiecutter.__package }} import {{ cookiecutter.__class_name }}

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def builtin():
    return BuiltinMetrics(MetricRegistry())


def request(builtin, time, duration):
    """One HTTP request's 9 samples in one container, as horde's HTTP client emits them."""
    values = (1.0, duration, 0.1, 0.0, 0.0, 0.2, duration - 0.3, 0.1, 0.0)
    return ConnectedSamples(builtin.http_request, values, time, TagSet.of({"status": "200", "method": "GET"}), None)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_intervals_and_totals(tmp_path, builtin):
    path = tmp_path / "out.jsonl"
    out = {{ cookiecutter.__class_name }}(Params("{{ cookiecutter.name }}", config_argument=f"file={path},interval=1h"))
    assert out.description() == f"{{ cookiecutter.name }} ({path})"
    out.set_thresholds({"http_req_duration": ["p(95)<500"]})
    out.set_test_run_stop(lambda error=None: None)
    out.start()
    out.set_run_status(RunStatus.RUNNING)
    out.add_samples([])
    out.add_samples([request(builtin, T0, 10.0), request(builtin, T0 + 1_000_000, 30.0)])
    out._flush()  # what the flusher does every interval
    out.add_samples([Sample(builtin.iterations, T0 + 5_000_000, 1.0, TagSet.of({}))])
    out.set_run_status(RunStatus.FINISHED)
    out.stop(None)

    first, second, end = lines(path)
    assert first["type"] == "interval" and first["samples"] == 18
    assert first["from"] == "2023-11-14T22:13:20.000Z" and first["to"] == "2023-11-14T22:13:20.001Z"
    duration = first["metrics"]["http_req_duration"]
    assert duration == {"type": "trend", "count": 2, "sum": 40.0, "min": 10.0, "max": 30.0, "mean": 20.0}
    assert first["metrics"]["http_reqs"]["type"] == "counter" and first["metrics"]["http_reqs"]["sum"] == 2.0
    assert second["metrics"] == {"iterations": {"type": "counter", "count": 1, "sum": 1.0, "min": 1.0,
                                                "max": 1.0, "mean": 1.0}}
    assert end["type"] == "end" and end["run_status"] == "finished" and end["error"] is None
    assert end["intervals"] == 2 and end["thresholds"] == ["http_req_duration"]
    assert end["metrics"]["http_req_duration"]["count"] == 2 and end["metrics"]["iterations"]["count"] == 1


def test_stop_records_the_run_error(tmp_path, builtin):
    path = tmp_path / "out.jsonl"
    out = {{ cookiecutter.__class_name }}(Params("{{ cookiecutter.name }}", config_argument=str(path)))
    out.start()
    out.add_samples([request(builtin, T0, 5.0)])
    out.stop(RunError("script error", reason=AbortReason.SCRIPT_ERROR))
    *intervals, end = lines(path)
    assert sum(i["metrics"]["http_reqs"]["count"] for i in intervals) == 1
    assert end["error"] == "script error" and end["run_status"] == "aborted"


def test_dash_writes_to_stdout(builtin):
    stdout = io.StringIO()
    out = {{ cookiecutter.__class_name }}(Params("{{ cookiecutter.name }}", config_argument="-", stdout=stdout))
    out.start()
    out.add_samples([request(builtin, T0, 5.0)])
    out.stop(None)
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [r["type"] for r in records] == ["interval", "end"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a file that is always full)")
def test_a_file_that_cannot_be_written_stops_the_run(builtin):
    stopped = []
    out = {{ cookiecutter.__class_name }}(Params("{{ cookiecutter.name }}", config_argument="/dev/full"))
    out.set_test_run_stop(lambda error=None: stopped.append(error))
    out.start()
    out.add_samples([request(builtin, T0, 5.0)])
    with pytest.raises(OSError):
        out.stop(None)
    assert len(stopped) == 1 and isinstance(stopped[0], OSError)
