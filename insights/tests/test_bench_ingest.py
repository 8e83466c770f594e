"""Smoke test of bench/insights_ingest.py: tiny numbers, SQLite, the whole harness end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "insights_ingest.py"


def test_ingest_bench_runs_end_to_end_and_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--json", str(out)], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| sqlite | 2+ |" in proc.stdout
    (step,) = json.loads(out.read_text())["sqlite"]
    assert step["instances"] == 2 and step["sustained"] and step["errors"] == 0
    assert (
        step["pushes"] >= 4 and step["cpu_ms_per_push"] >= 0 and step["instances_per_core_by_cpu"] > 0
    )  # CPU in 10 ms ticks
