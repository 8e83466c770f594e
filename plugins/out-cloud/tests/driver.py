"""A stand-in for ``horde run`` used by the tests until the engine lands: plays a synthetic run
through the real output registry and Manager (the cloud and json outputs, in this process).

\b
    python driver.py --seconds 3 --rate 200 --json out.json [--tag 'page=<b>x</b>'] [--threshold-fail]

Each "request" is one ConnectedSamples of k6's 9 HTTP metrics; every 10th
request fails; each request also emits a check and an iteration. ``vus`` is a
gauge sampled every 0.2 s. SIGINT ends the run as horde does (run status
aborted by user, exit code 105).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click
from horde.errors import AbortReason, ExitCode, RunError
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, Sample, TagSet
from horde.output import Params
from horde.output.binding import create_output, new_plugin_manager
from horde.output.manager import Manager
from horde.output.registry import load_registry


class _Threshold:
    def __init__(self, source: str, failed: bool) -> None:
        self.source = source
        self.last_failed = failed


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seconds", type=float, default=3, show_default=True, help="length of the run")
@click.option("--rate", type=float, default=200, show_default=True, help="requests per second")
@click.option("--json", "json_path", default="", help="also run the json output into this file")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE tag on every sample (repeatable)")
@click.option("--threshold-fail", is_flag=True, help="the http_req_duration threshold fails (exit code 99)")
def main(seconds: float, rate: float, json_path: str, tags: tuple[str, ...], threshold_fail: bool) -> None:
    """Plays the run and exits with horde's exit code for it."""
    stop = {"signal": None}
    signal.signal(signal.SIGINT, lambda s, f: stop.__setitem__("signal", "interrupt"))

    registry = load_registry()
    pm = new_plugin_manager()
    script = Path("driver-script.py")
    outputs = []
    specs = [("cloud", "")] + ([("json", json_path)] if json_path else [])
    for name, arg in specs:
        params = Params(
            output_type=name,
            config_argument=arg,
            environment=dict(os.environ),
            script_path=script,
            script_options={"vus": 5, "duration": f"{seconds}s"},
        )
        outputs.append(create_output(registry.get(name), params, pm))
    manager = Manager(outputs)
    ths = {
        "http_req_duration": [_Threshold("p(95)<500", threshold_fail)],
        "checks": [_Threshold("rate>0.5", False)],
    }
    manager.set_thresholds(ths)
    manager.start()
    print("started", flush=True)

    reg = MetricRegistry()
    b = BuiltinMetrics(reg)
    extra = dict(kv.split("=", 1) for kv in tags)
    base = TagSet.of({"scenario": "default", "group": "", **extra})
    ok_tags = base.with_tags(
        {
            "method": "GET",
            "status": "200",
            "name": "http://t/",
            "url": "http://t/",
            "expected_response": "true",
            "proto": "HTTP/1.1",
        }
    )
    bad_tags = ok_tags.with_tags({"status": "500", "expected_response": "false"})
    check_tags = base.with_tag("check", "status is 200")
    t0 = time.monotonic()
    n = 0
    last_vus = 0.0
    error = None
    while True:
        now = time.monotonic()
        if stop["signal"]:
            error = RunError(
                "test run was aborted because horde received a 'interrupt' signal",
                reason=AbortReason.USER,
                exit_code=ExitCode.EXTERNAL_ABORT,
            )
            break
        if now - t0 >= seconds:
            break
        due = int((now - t0) * rate)
        batch = []
        while n < due:
            n += 1
            failed = n % 10 == 0
            ts = time.time_ns()
            dur = 5.0 + (n % 50)
            batch.append(
                ConnectedSamples(
                    b.http_request,
                    (1.0, dur, 0.1, 0.05, 0.0, 0.2, dur - 0.5, 0.2, 1.0 if failed else 0.0),
                    ts,
                    bad_tags if failed else ok_tags,
                )
            )
            batch.append(Sample(b.checks, ts, 0.0 if failed else 1.0, check_tags))
            batch.append(ConnectedSamples(b.iteration_end, (100.0, 200.0, dur + 1, 1.0), ts, base))
        if now - last_vus >= 0.2:
            last_vus = now
            batch.append(Sample(b.vus, time.time_ns(), 5.0, TagSet.of()))
        manager.add_samples(batch)
        time.sleep(0.05)
    manager.add_samples([])
    manager.stop(error)
    for report in manager.reports():
        counts = " ".join(f"{k}={v}" for k, v in report.counts.items())
        print(f"report {report.label.split()[0]} {counts}", flush=True)
    print(f"requests={n}", flush=True)
    sys.exit(error.exit_code if error else (ExitCode.THRESHOLDS_HAVE_FAILED if threshold_fail else 0))


if __name__ == "__main__":
    main()
