"""The output driven as the engine drives it: real Params, real containers, start/add/stop, read the file."""

import gzip
import io
import logging
import os
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import (
    FIXTURES,
    K6_DEFAULT_HEADER,
    fixture_containers,
    make_params,
    request_container,
    run_output,
    split_row,
)
from horde.metrics import Sample, TagSet
from horde.output import OutputConfigError, hookimpl
from horde.output.binding import bind_output, new_plugin_manager
from horde.output.manager import Manager
from horde_out_csv import CsvOutput


def test_reproduces_k6s_file_from_the_same_samples(tmp_path):
    """The samples of a real k6 run (its JSON output) give k6's CSV rows, field for field."""
    path = tmp_path / "out.csv"
    containers = fixture_containers()
    run_output(make_params(str(path)), [containers[:5], [], containers[5:]])
    ours = path.read_text().splitlines()
    k6 = (FIXTURES / "k6_sample.csv").read_text().splitlines()
    assert ours[0] == k6[0] == K6_DEFAULT_HEADER
    n = sum(len(c.values) for c in containers)
    assert n == 25 and len(ours) == n + 1
    assert [split_row(line) for line in ours[1:]] == [split_row(line) for line in k6[1 : n + 1]]


def test_rfc3339_nano_matches_the_json_times(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        path = tmp_path / "out.csv"
        run_output(make_params(f"fileName={path},timeFormat=rfc3339_nano"), [fixture_containers()])
        import json

        times = [
            json.loads(line)["data"]["time"]
            for line in (FIXTURES / "k6_sample.json").read_text().splitlines()
            if '"type":"Point"' in line
        ]
        assert [line.split(",")[1] for line in path.read_text().splitlines()[1:]] == times
    finally:
        monkeypatch.undo()
        time.tzset()


def test_header_is_written_and_flushed_at_start(tmp_path):
    path = tmp_path / "out.csv"
    out = CsvOutput(make_params(str(path)))
    assert path.exists() and path.read_text() == ""  # created by the factory, as k6 does
    out.start()
    try:
        assert path.read_text() == K6_DEFAULT_HEADER + "\n"
    finally:
        out.stop(None)


def test_rows_are_flushed_every_save_interval(tmp_path, builtin):
    path = tmp_path / "out.csv"
    out = CsvOutput(make_params(f"fileName={path},saveInterval=20ms"))
    out.start()
    try:
        out.add_samples([request_container(builtin, 10**18, {"status": "200"})])
        deadline = time.monotonic() + 10
        while path.read_text().count("\n") < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert path.read_text().count("\n") == 10  # before stop
    finally:
        out.stop(None)


def test_gzip_is_complete_and_equal_to_plain(tmp_path):
    plain, packed = tmp_path / "a.csv", tmp_path / "a.csv.gz"
    run_output(make_params(str(plain)), [fixture_containers()])
    run_output(make_params(str(packed)), [fixture_containers()])
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


@pytest.mark.parametrize("arg,json_config", [("-", None), ("fileName=-", None), ("", {"file_name": ""})])
def test_stdout(arg, json_config, tmp_path):
    stdout = io.StringIO()
    out = run_output(make_params(arg, json_config=json_config, stdout=stdout), [fixture_containers()])
    assert out.description() == "csv (stdout)"
    lines = stdout.getvalue().splitlines()
    assert lines[0] == K6_DEFAULT_HEADER and len(lines) == 26
    assert not (tmp_path / "file.csv").exists()


def test_default_file_is_file_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = run_output(make_params(""), [fixture_containers()])
    assert out.description() == "csv (file.csv)"
    assert (tmp_path / "file.csv").read_text().startswith(K6_DEFAULT_HEADER + "\n")


def test_lone_samples_and_empty_batches(tmp_path, builtin):
    path = tmp_path / "out.csv"
    s = Sample(builtin.vus, 2_000_000_000, 3.0, TagSet.of(testid="x"))
    out = run_output(make_params(str(path), system_tags="status"), [[], [s], [], [s, s]])
    assert path.read_text() == (
        "metric_name,timestamp,metric_value,status,extra_tags,metadata\n" + "vus,2,3.000000,,testid=x,\n" * 3
    )
    assert out.written == 3


def test_system_tags_option_as_list(tmp_path):
    path = tmp_path / "out.csv"
    run_output(make_params(str(path), system_tags=["url", "status", "vu"]), [])
    assert path.read_text() == "metric_name,timestamp,metric_value,status,url,extra_tags,metadata\n"


def test_many_samples_one_row_each(tmp_path, builtin):
    path = tmp_path / "out.csv.gz"
    containers = [
        request_container(builtin, 10**18 + i, {"status": str(200 + i % 3)}, {"vu": str(i % 7)}) for i in range(5000)
    ]
    out = run_output(make_params(str(path)), [containers[:2500], containers[2500:]])
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert len(lines) == 1 + 9 * 5000 == 1 + out.written
    assert lines[-1].endswith(",201,,,,,vu=1")  # the last sample comes last
    assert [line.rsplit("=", 1)[1] for line in lines[1::9]] == [str(i % 7) for i in range(5000)]


def test_zero_save_interval_fails_start_with_k6s_message(tmp_path):
    out = CsvOutput(make_params(f"fileName={tmp_path / 'x.csv'},saveInterval=0"))
    with pytest.raises(OutputConfigError, match="^metric flush period should be positive but was 0s$"):
        out.start()
    out.stop(None)  # harmless after a failed start


def test_unwritable_path_fails_at_creation(tmp_path):
    with pytest.raises(OutputConfigError) as err:
        CsvOutput(make_params(str(tmp_path / "missing" / "x.csv")))
    assert str(err.value) == f"open {tmp_path / 'missing' / 'x.csv'}: no such file or directory"


def test_stop_twice_and_stop_without_start(tmp_path):
    out = run_output(make_params(str(tmp_path / "a.csv")), [])
    out.stop(None)
    CsvOutput(make_params(str(tmp_path / "b.csv"))).stop(None)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_write_errors_are_logged_not_raised(builtin, caplog):
    out = CsvOutput(make_params("/dev/full"))
    with caplog.at_level(logging.ERROR, logger="horde.output.csv"):
        out.start()
        out.add_samples([request_container(builtin, 0, {}) for _ in range(20000)])
        with pytest.raises(OSError):  # the final close cannot flush either: stop reports it
            out.stop(None)
    assert "CSV: Error writing to file /dev/full" in caplog.text


class _Failing:
    """Another output whose every hook but start raises."""

    @hookimpl
    def description(self):
        return "failing"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples):
        raise RuntimeError("boom")

    @hookimpl
    def stop(self, error):
        raise RuntimeError("boom at stop")


def test_file_is_complete_when_another_output_fails(tmp_path, builtin):
    path = tmp_path / "out.csv.gz"
    pm = new_plugin_manager()
    failing = bind_output("failing", _Failing(), pm)
    csv_out = bind_output("csv", CsvOutput(make_params(str(path))), pm)
    manager = Manager([failing, csv_out])
    manager.start()
    for i in range(3):
        manager.add_samples([request_container(builtin, 10**18 + i, {})])
    with pytest.raises(Exception, match="boom at stop"):
        manager.stop(None)
    assert len(gzip.decompress(path.read_bytes()).decode().splitlines()) == 1 + 27


def test_file_is_complete_after_ctrl_c_without_stop(tmp_path):
    """If the run dies on Ctrl-C before outputs are stopped, the exit hook still finishes the gzip stream."""
    path = tmp_path / "out.csv.gz"
    script = textwrap.dedent(f"""
        import os, signal, time
        from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
        from horde.output import Params
        from horde_out_csv import CsvOutput
        b = BuiltinMetrics(MetricRegistry())
        out = CsvOutput(Params("csv", config_argument={str(path)!r}))
        out.start()
        out.add_samples([ConnectedSamples(b.http_request, (1.0,) * 9, 10**18, TagSet.of(status="200"))] * 100)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal, even if started ignored
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr
    assert len(gzip.decompress(path.read_bytes()).decode().splitlines()) == 1 + 900
