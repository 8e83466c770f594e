"""The output in-process: description, the report file, counts, bad paths."""

from __future__ import annotations

import re
import urllib.request

import pytest
from conftest import report_data
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, TagSet
from horde.output import OutputConfigError, Params, RunStatus
from horde.testing import free_port
from horde_out_dashboard import DashboardOutput


def _requests(n: int) -> list[ConnectedSamples]:
    builtin = BuiltinMetrics(MetricRegistry())
    values = (1.0, 12.5, 0.0, 0.0, 0.0, 1.0, 11.0, 0.5, 0.0)
    tags = TagSet.of({"scenario": "default", "status": "200"})
    return [ConnectedSamples(builtin.http_request, values, i, tags) for i in range(n)]


def test_report_is_self_contained_and_holds_the_run(tmp_path):
    report = tmp_path / "r.html"
    out = DashboardOutput(Params("web-dashboard", config_argument=f"port=-1&export={report}"))
    assert out.description() == f"web-dashboard (no server, export {report})"
    out.start()
    out.add_samples(_requests(40))
    out.set_run_status(RunStatus.FINISHED)
    out.stop(None)
    assert out.server is None
    assert out.report() == {"aggregated": 360}
    html = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing loaded from elsewhere
    assert "<script src" not in html and "<link" not in html
    assert "uPlot" in html and "function" in html
    data = report_data(report)
    assert data["status"] == "finished"
    assert data["cumulative"]["metrics"]["http_reqs"]["count"] == 40
    assert data["cumulative"]["scenarios"]["default"]["http_req_duration"]["avg"] == 12.5
    assert sum(s["metrics"].get("http_reqs", {}).get("count", 0) for s in data["snapshots"]) == 40


def test_script_text_cannot_end_the_data_element(tmp_path):
    report = tmp_path / "r.html"
    checks = MetricRegistry().get_or_new("checks", MetricType.RATE)
    out = DashboardOutput(Params("web-dashboard", config_argument=f"port=-1&export={report}"))
    out.start()
    out.add_samples([ConnectedSamples((checks,), (1.0,), 1, TagSet.of({"check": "</script><b>x</b>"}))])
    out.stop(None)
    assert report.read_text().count("</script>") == 3  # data, uPlot, app
    assert report_data(report)["cumulative"]["checks"] == {"</script><b>x</b>": {"passes": 1, "fails": 0}}


def test_served_while_running_and_gone_after_stop(tmp_path):
    port = free_port()
    out = DashboardOutput(Params("web-dashboard", config_argument=f"port={port}&period=100ms"))
    assert out.description() == f"web-dashboard (http://127.0.0.1:{port})"
    out.start()
    out.add_samples(_requests(3))
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    assert b'data-mode="live"' in page and b"null</script>" in page
    report = urllib.request.urlopen(f"http://127.0.0.1:{port}/report", timeout=10).read()
    assert b'data-mode="report"' in report
    out.stop(None)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_samples_after_stop_are_refused_and_counted(tmp_path):
    out = DashboardOutput(Params("web-dashboard", config_argument="port=-1"))
    out.start()
    out.stop(None)
    out.add_samples(_requests(2))
    assert out.report() == {"aggregated": 0, "refused_after_stop": 18}


def test_export_into_a_missing_directory_is_refused_before_the_run(tmp_path):
    with pytest.raises(OutputConfigError, match="directory .*nope does not exist"):
        DashboardOutput(Params("web-dashboard", config_argument=f"export={tmp_path}/nope/r.html"))


def test_a_report_that_cannot_be_written_is_counted(tmp_path):
    target = tmp_path / "r.html"
    target.mkdir()  # a directory where the file should go
    out = DashboardOutput(Params("web-dashboard", config_argument=f"port=-1&export={target}"))
    out.start()
    out.stop(None)
    assert out.report() == {"aggregated": 0, "report_not_written": 1}
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_open_opens_the_dashboard_in_a_browser_without_waiting_for_it(monkeypatch):
    import threading

    from horde_out_dashboard import output as output_module

    opened: list[str] = []
    release = threading.Event()

    def browser(url: str) -> bool:  # a browser that runs until the user closes it
        opened.append(url)
        release.wait(10)
        return True

    monkeypatch.setattr(output_module.webbrowser, "open", browser)
    port = free_port()
    out = DashboardOutput(Params("web-dashboard", config_argument=f"port={port}&open"))
    out.start()
    out.stop(None)  # start and stop returned while the browser still runs
    release.set()
    for _ in range(100):
        if opened:
            break
        threading.Event().wait(0.05)
    assert opened == [f"http://127.0.0.1:{port}"]
