"""``horde run --workers 2`` with ``-o influxdb`` and ``-o json``: every sample is in influxd at its own time.

Two worker processes send their samples to the coordinator in turns, so the
output sees times out of order; that must not move any point. Only points
InfluxDB would overwrite (same measurement, tag set and timestamp at the write
precision) are moved, and the run's summary counts them.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict

import pytest
from horde.testing.fixtures import target  # noqa: F401  (the local target server)

HORDE = [sys.executable, "-c", "import sys; from horde.cli import main; sys.exit(main())"]
DIVISOR = {"ns": 1, "ms": 1_000_000}

SCRIPT = """
from horde import http, check, env

options = {"scenarios": {"w": {"executor": "shared-iterations", "vus": 4, "iterations": 800}}}

async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
"""

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch of a Go ``RFC3339Nano`` time, as the json output writes it."""
    m = _RFC3339.fullmatch(text)
    assert m, text
    seconds = calendar.timegm(tuple(int(g) for g in m.groups()[:6]) + (0, 0, 0))
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int((m.group(7) or "").ljust(9, "0"))


Point = tuple[str, frozenset, object, float]
"""(measurement, tags without the ``url`` field, url, value)."""


def json_points(path) -> list[tuple[Point, int]]:
    """(point, time in ns) of every sample in the json output."""
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] != "Point":
            continue
        data = rec["data"]
        tags = {k: v for k, v in data["tags"].items() if v != ""}
        url = tags.pop("url", None)
        out.append(((rec["metric"], frozenset(tags.items()), url, float(data["value"])), rfc3339_ns(data["time"])))
    return out


def influx_points(influxd, db: str) -> list[tuple[Point, int]]:
    """(point, time in ns) of every point stored in ``db``."""
    fields = influxd.field_keys(db)
    out = []
    for series in influxd.rows("SELECT * FROM /.*/", db):
        name, columns = series["name"], series["columns"]
        for row in series["values"]:
            rec = dict(zip(columns, row))
            tags = frozenset((k, v) for k, v in rec.items() if k != "time" and k not in fields[name] and v is not None)
            out.append(((name, tags, rec.get("url"), float(rec["value"])), rec["time"]))
    return out


def run_with_workers(target_url: str, outs: list[str], tmp_path) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, HORDE_INFLUXDB_PUSH_INTERVAL="200ms", HORDE_INFLUXDB_SPOOL_DIR=str(tmp_path))
    args = HORDE + ["run", str(script), "--workers", "2", "-e", f"TARGET={target_url}", "--quiet"]
    for o in outs:
        args += ["-o", o]
    return subprocess.run(args, check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)


def summary_counts(stdout: str) -> dict[str, str]:
    """The influxdb output's counts in the end-of-test summary (``InfluxDBv1 (…): written=… …``)."""
    line = next(ln for ln in stdout.splitlines() if ln.strip().startswith("InfluxDBv1"))
    return dict(kv.split("=", 1) for kv in line.split(": ", 1)[1].split() if "=" in kv)


@pytest.mark.parametrize("precision", ["ns", "ms"])
def test_workers_2_every_point_stored_at_the_time_of_its_sample(influxd, target, tmp_path, precision):  # noqa: F811
    out_json = tmp_path / "out.json"
    db = f"workers_{precision}"
    proc = run_with_workers(
        target.url, [f"influxdb={influxd.addr}/{db}?precision={precision}", f"json={out_json}"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    samples = json_points(out_json)
    stored = influx_points(influxd, db)
    assert sum(1 for p, _ in samples if p[0] == "http_reqs") == 800
    # every sample is there once, with its tags, url and value
    assert Counter(p for p, _ in stored) == Counter(p for p, _ in samples)
    counts = summary_counts(proc.stdout)
    moved = int(counts.get("moved_to_avoid_overwrite", 0))
    assert int(counts["written"]) == len(samples) and counts["undelivered"] == "0"

    unit = DIVISOR[precision]
    if precision == "ns":
        # two processes rarely end requests in the same nanosecond (one process never does): only the points
        # of such a coincidence move (all of its request's 9 metrics), every other point keeps its exact time
        crowded = Counter(((name, tags), t) for (name, tags, _, _), t in samples)
        assert moved == sum(n - 1 for n in crowded.values())
        if moved == 0:
            assert Counter((p, t) for p, t in stored) == Counter((p, t) for p, t in samples)
            return
    # at ms many requests of one series end in one ms: InfluxDB would keep one of them, so the later ones
    # move to the next free ms; every other point keeps its time, and no point moves earlier
    own: dict[tuple, list[int]] = defaultdict(list)
    got: dict[tuple, list[int]] = defaultdict(list)
    for (name, tags, _, _), t in samples:
        own[(name, tags)].append(t // unit)
    for (name, tags, _, _), t in stored:
        assert t % unit == 0
        got[(name, tags)].append(t // unit)
    assert own.keys() == got.keys()
    shifted = late = 0
    for series, times in own.items():
        mine, theirs = sorted(times), sorted(got[series])
        assert all(s >= o for s, o in zip(theirs, mine)), series
        assert len(set(theirs)) == len(theirs), series  # one point per series and time: nothing overwritten
        # each own time is still taken (by its point or a moved one), so exactly the extra points of a
        # crowded time are at times no sample of the series had
        extra = (Counter(theirs) - Counter(mine)).total()
        assert extra == len(mine) - len(set(mine)), series
        shifted += extra
        late += sum(theirs) - sum(mine)
    assert 0 < shifted <= moved <= late
    if precision == "ns":  # a coincidence of two points moves one of them one nanosecond later
        assert shifted == moved == late
