"""The harness end to end: 1-second runs of horde, k6 and Locust against the real nginx, no output and csv."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402


def _need_nginx() -> None:
    """Fail (CI) or skip when nginx is missing and cannot be installed (the harness apt-gets it as root)."""
    if os.geteuid() != 0 and not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        msg = "nginx not found and not root to apt-get it: apt-get install nginx"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def test_quick_run_measures_every_tool(tmp_path: Path, capsys) -> None:
    _need_nginx()
    assert (
        run.main(
            [
                "--quick",
                "--duration",
                "1",
                "--cases",
                "none",
                "csv",
                "--tools",
                "horde",
                "horde-w",
                "k6",
                "locust",
                "bare",
                "--quiet-wait",
                "0",
                "--results",
                str(tmp_path),
            ]
        )
        == 0
    )
    (result,) = tmp_path.glob("*.json")
    doc = json.loads(result.read_text())
    runs = {(r["tool"], r["case"]): r for r in doc["runs"]}
    assert set(runs) == {
        ("horde", "none"),
        ("horde-w", "none"),
        ("k6", "none"),
        ("locust", "none"),
        ("bare", "none"),
        ("horde", "csv"),
        ("horde-w", "csv"),
        ("k6", "csv"),
    }
    for r in runs.values():
        assert r["exit_code"] == 0, r
        assert r["requests"] > 0 and r["rps"] > 0 and r["cpu_s"] > 0 and r["rss_mb"] > 1, r
        assert r["nginx_requests"] == r["requests"], r  # the tool counted exactly what nginx served
        assert r["req_per_cpu_s"] == pytest.approx(r["requests"] / r["cpu_s"], rel=0.01)
        assert 1 < r["rss_start_mb"] and 1 < r["rss_end_mb"] and r["rss_tree_peak_mb"] >= r["rss_mid_mb"] > 1, r
    # horde-w's tree holds the coordinator and its workers: more than the largest process alone
    assert runs[("horde-w", "none")]["rss_tree_peak_mb"] > runs[("horde-w", "none")]["rss_mb"]
    for tool in ("horde", "horde-w", "k6"):
        csv_run = runs[(tool, "csv")]
        assert csv_run["samples_expected"] == 13 * csv_run["requests"]
        assert csv_run["samples_lost"] == 0, csv_run
    text = (result.with_suffix(".md")).read_text()
    assert "## --out csv" in text and "horde/k6" in text and "| horde | 10 | csv |" in text
    assert "ceiling share horde" in text and "| 10 | bare |" in text
    # horde-w among the tools: the worker path's comparison ran too, for both cases, its ratio in the report
    wp = doc["meta"]["worker_path"]
    assert set(wp["cases"]) == {"none", "csv"} and wp["vus"] == run.WORKER_PATH_VUS
    for case, c in wp["cases"].items():
        assert c["one_per_cpu_s"] > 0 and c["workers_per_cpu_s"] > 0 and len(c["ratios"]) == 1, c
        assert f"| {case} | {c['one_per_cpu_s']:.0f} | {c['workers_per_cpu_s']:.0f} | {c['ratio']:.2f} |" in text
    # the interpreter horde and the ceiling ran on, and its speed: runs on two interpreters do not compare
    assert doc["meta"]["python"].startswith(f"CPython {platform.python_version()} ({sys.executable}; libpython ")
    assert f"with {doc['meta']['accelerators']}." in text
    assert doc["meta"]["python_speed"] > 0 and f"pure-Python speed index {doc['meta']['python_speed']}" in text
    assert doc["meta"]["host_speed"] > 0 and f"best of the sitting) {doc['meta']['host_speed']}:" in text
    assert all(r["host"]["before"] > 0 and r["host"]["after"] > 0 for r in runs.values())
    assert text in capsys.readouterr().out


def test_a_run_on_a_slowed_host_is_run_again(tmp_path: Path, capsys, monkeypatch) -> None:
    _need_nginx()
    import measure

    speeds = iter([2.0, 2.0, 2.0, 2.0, 1.0])  # the sitting's reference (3 looks), then before and after run 1

    monkeypatch.setattr(measure, "host_speed", lambda: next(speeds, 2.0))
    args = ["--quick", "--duration", "1", "--cases", "none", "--tools", "bare", "--quiet-wait", "0"]
    assert run.main([*args, "--results", str(tmp_path)]) == 0
    doc = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert doc["meta"]["host_reruns"] == 1 and doc["meta"]["slow_host_runs"] == 0
    assert [r["host"] for r in doc["runs"]] == [{"before": 2.0, "after": 2.0, "slow": False}]
    assert "the host slowed (speed 2.00 before, 1.00 after, against 2.00): run again" in capsys.readouterr().out


def test_segments_bench_computes_every_instance_share() -> None:
    import segments

    result = segments.measure(50)
    assert result["ok"] and result["instances"] == 50
    assert result["max_vus_sum"] == result["max_vus_whole"]


def test_quick_run_measures_the_new_outputs_side_by_side(tmp_path: Path, capsys) -> None:
    """prometheus-rw (into a local Prometheus), opentelemetry (to the OTLP sink over gRPC) and web-dashboard (live on
    a free port), horde beside k6; nginx's count of requests is the reference for each tool's."""
    _need_nginx()
    cases = ("none", "prometheus-rw", "opentelemetry", "web-dashboard")
    argv = ["--quick", "--duration", "1", "--cases", *cases]
    argv += ["--tools", "horde", "k6", "--quiet-wait", "0", "--results", str(tmp_path)]
    assert run.main(argv) == 0
    (result,) = tmp_path.glob("*.json")
    runs = {(r["tool"], r["case"]): r for r in json.loads(result.read_text())["runs"]}
    assert set(runs) == {(t, c) for t in ("horde", "k6") for c in cases}
    for r in runs.values():
        assert r["exit_code"] == 0, r
        assert r["requests"] > 0 and r["rps"] > 0 and r["cpu_s"] > 0, r
        assert r["nginx_requests"] == r["requests"], r
    horde_prom = runs[("horde", "prometheus-rw")]
    assert horde_prom["samples_lost"] == 0, horde_prom  # k6_http_reqs_total in Prometheus == requests nginx served
    horde_otel, k6_otel = runs[("horde", "opentelemetry")], runs[("k6", "opentelemetry")]
    assert horde_otel["samples_expected"] == horde_otel["requests"]
    assert horde_otel["samples_lost"] == 0, horde_otel  # the sink counted every request in http_reqs
    assert k6_otel["samples_stored"] is not None, k6_otel  # k6 drops its last flush interval: lost may be > 0
    assert runs[("horde", "web-dashboard")]["samples_lost"] is None
    text = result.with_suffix(".md").read_text()
    assert "## --out opentelemetry" in text and "## --out web-dashboard" in text
    assert "## Output cost side by side" in text and "horde within goal (req/s, req/CPU-s)" in text
    assert "| 10 | opentelemetry |" in text and "| 10 | web-dashboard |" in text
    assert text in capsys.readouterr().out


def test_worker_path_runs_horde_both_ways_without_the_network(capsys) -> None:
    """bench/worker_path.py: one repetition of --workers 1 and --workers 2 on the in-process echo connection."""
    _need_nginx()
    import worker_path

    got = worker_path.compare(vus=4, duration=1, repeats=1, out="csv")
    ((one, two),) = got["runs"]
    assert got["nginx_requests"] == 2 * 4  # only the first GET of each VU reached the server
    assert one["iterations"] > 1000 and two["iterations"] > 1000 and one["cpu_s"] > 0 and two["cpu_s"] > 0
    assert got["ratios"] == [pytest.approx(two["per_cpu_s"] / one["per_cpu_s"])]
    out = capsys.readouterr().out
    assert "| 1 |" in out and "median --workers 2/--workers 1" in out


def test_request_path_runs_every_rung_and_counts_what_nginx_served(capsys) -> None:
    """bench/request_path.py: one repetition of each rung; their requests add up to what nginx served."""
    _need_nginx()
    import request_path

    got = request_path.ladder(vus=4, duration=1, repeats=1)
    assert list(got["runs"]) == list(request_path.RUNGS)
    for rung, (one,) in got["runs"].items():
        assert one["requests"] > 1000 and one["user_s"] > 0, (rung, one)
    assert got["nginx_requests"] == sum(one["requests"] for (one,) in got["runs"].values())
    out = capsys.readouterr().out
    for rung in request_path.RUNGS:
        assert f"| {rung} | {got['medians'][rung]:.0f} | {got['medians'][rung] / got['medians']['bare']:.2f} |" in out
