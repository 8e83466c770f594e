"""handle_summary, --summary-mode, --summary-time-unit and the CI progress lines, against real k6 v1.1.0.

Each test runs an equivalent JS script with k6 and Python script with horde (both against the local
target), then compares what can be compared: the handleSummary data's shape and exact group/check
counts, where its returned mapping goes, the summary texts with values masked (names, marks, stat
keys, sections, order), and the progress blocks k6 prints when stdout is not a terminal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HORDE = str(Path(sys.executable).with_name("horde"))

TIMEOUT = 90


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "K6_"))}


def run_k6(k6_bin: str, tmp_path: Path, js: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.js"
    path.write_text(textwrap.dedent(js))
    return subprocess.run(
        [k6_bin, "run", "--address", "", *args, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=tmp_path,
    )


def run_horde(tmp_path: Path, py: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(py))
    return subprocess.run(
        [HORDE, "run", "--address", "", "--workers", "1", *args, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=tmp_path,
    )


JS_BODY = """
    import http from 'k6/http';
    import { check, group } from 'k6';
    import { Counter } from 'k6/metrics';
    const c = new Counter('my_counter');
    export const options = {
      vus: 2, iterations: 6,
      thresholds: { my_counter: ['count>1'], 'http_req_duration{page:home}': ['p(95)<5000'], checks: ['rate>0.9'] },
    };
    export function setup() { return { token: 'abc', n: 3 }; }
    export default function () {
      group('front', function () {
        const r = http.get(__ENV.TARGET + '/', { tags: { page: 'home' } });
        check(r, { 'status is 200': (r) => r.status === 200 });
      });
      check(1, { 'never': (x) => x === 2 });
      c.add(1);
    }
"""

PY_BODY = """
    from horde import Counter, check, env, group, http
    c = Counter("my_counter")
    options = {
        "vus": 2, "iterations": 6,
        "thresholds": {"my_counter": ["count>1"], "http_req_duration{page:home}": ["p(95)<5000"], "checks": ["rate>0.9"]},
    }
    async def setup():
        return {"token": "abc", "n": 3}
    async def default(data):
        with group("front"):
            r = await http.get(env["TARGET"] + "/", tags={"page": "home"})
            check(r, {"status is 200": lambda r: r.status == 200})
        check(1, {"never": lambda x: x == 2})
        c.add(1)
"""


def _groups(group: dict) -> tuple:
    """A group's names, paths, ids and check counts, recursively (deterministic for a fixed iteration count)."""
    return (
        group.get("name", ""),
        group["path"],
        group["id"],
        tuple((c["name"], c["path"], c["id"], c["passes"], c["fails"]) for c in group["checks"]),
        tuple(_groups(g) for g in group["groups"]),
    )


def test_handle_summary_data_and_targets_match_k6(k6_bin, tmp_path, target):
    k6_dir, horde_dir = tmp_path / "k6", tmp_path / "horde"
    k6_dir.mkdir()
    horde_dir.mkdir()
    js = (
        JS_BODY
        + """
    export function handleSummary(data) {
      return { 'data.json': JSON.stringify(data), stdout: 'OUT-LINE\\n', stderr: 'ERR-LINE\\n' };
    }
    """
    )
    py = (
        PY_BODY
        + """
    import json
    def handle_summary(data):
        return {"data.json": json.dumps(data), "stdout": "OUT-LINE\\n", "stderr": b"ERR-LINE\\n"}
    """
    )
    k6 = run_k6(k6_bin, k6_dir, js, "-q", "-e", f"TARGET={target.url}", "--summary-export", "export.json")
    ours = run_horde(horde_dir, py, "-q", "-e", f"TARGET={target.url}", "--summary-export", "export.json")
    assert k6.returncode == 99 and ours.returncode == 99, ours.stderr  # checks rate>0.9 fails in both
    for proc in (k6, ours):
        assert proc.stdout.strip() == "OUT-LINE"  # the default summary is not printed
        assert "ERR-LINE" in proc.stderr
    for d in (k6_dir, horde_dir):  # --summary-export is still written beside what handleSummary returned
        assert "root_group" in json.loads((d / "export.json").read_text())
    a = json.loads((k6_dir / "data.json").read_text())
    b = json.loads((horde_dir / "data.json").read_text())
    assert set(a) == set(b) == {"metrics", "setup_data", "root_group", "options", "state"}
    assert a["options"] == b["options"]
    assert a["setup_data"] == b["setup_data"] == {"token": "abc", "n": 3}
    assert {k: type(v) for k, v in a["state"].items()} == {k: type(v) for k, v in b["state"].items()}
    assert a["state"]["isStdOutTTY"] is b["state"]["isStdOutTTY"] is False
    assert set(a["metrics"]) <= set(b["metrics"]), set(a["metrics"]) - set(b["metrics"])
    assert set(b["metrics"]) - set(a["metrics"]) <= {"vus", "vus_max"}
    for name, m in a["metrics"].items():
        n = b["metrics"][name]
        assert (n["type"], n["contains"], set(n["values"])) == (m["type"], m["contains"], set(m["values"])), name
        assert n.get("thresholds") == m.get("thresholds"), name
    for name in ("http_reqs", "iterations", "my_counter"):
        assert b["metrics"][name]["values"]["count"] == a["metrics"][name]["values"]["count"] == 6
    assert b["metrics"]["checks"]["values"] | {"rate": 0} == a["metrics"]["checks"]["values"] | {"rate": 0}
    assert _groups(b["root_group"]) == _groups(a["root_group"])


@pytest.mark.parametrize(
    ("js_handler", "py_handler", "summary_printed", "error"),
    [
        ("throw new Error('boom');", "raise RuntimeError('boom')", True, "boom"),
        ("return null;", "return None", True, None),
        ("return { stdout: 5, 'x.txt': 'a' };", "return {'stdout': 5, 'x.txt': 'a'}", False, "summary object stdout"),
    ],
    ids=["raises", "returns-nothing", "bad-value"],
)
def test_handle_summary_errors_as_k6(k6_bin, tmp_path, target, js_handler, py_handler, summary_printed, error):
    k6_dir, horde_dir = tmp_path / "k6", tmp_path / "horde"
    k6_dir.mkdir()
    horde_dir.mkdir()
    js = "export default function () {}\nexport function handleSummary(data) { " + js_handler + " }\n"
    py = "async def default():\n    pass\ndef handle_summary(data):\n    " + py_handler + "\n"
    k6 = run_k6(k6_bin, k6_dir, js, "-q")
    ours = run_horde(horde_dir, py, "-q")
    for proc, d in ((k6, k6_dir), (ours, horde_dir)):
        assert proc.returncode == 0, proc.stderr
        assert ("TOTAL RESULTS" in proc.stdout) is summary_printed, proc.stdout
        assert not (d / "x.txt").exists()  # a bad value rejects the whole mapping
        if error:
            assert error in proc.stderr, proc.stderr
    if error:
        assert "Traceback" not in ours.stderr and len([l for l in ours.stderr.splitlines() if error in l]) == 1


_VALUE = re.compile(r"(?<![\w{])-?\d[\d.]*(e[+-]?\d+)?(ns|µs|ms|s|m|h|kB|MB|GB|B|%|/s)*")


def _shape(line: str) -> str:
    """A summary line with its values masked and runs of spaces/dots collapsed: names, marks and stat keys stay."""
    line = re.sub(r"\.{2,}:", "..:", line.rstrip())
    head, sep, tail = line.partition("..:")
    if sep:
        tail = re.sub(r"\s+", " ", _VALUE.sub("N", tail))
        tail = re.sub(r"N( N)+", "N", tail.replace("N out of N", "N"))
        tail = re.sub(r"(min|max)=N", r"\1=N", tail)
        return head + sep + tail
    indent = line[: len(line) - len(line.lstrip())]
    return indent + re.sub(r"\s+", " ", _VALUE.sub("N", line.lstrip()))


def _summary_lines(stdout: str, skip: tuple[str, ...] = ("vus", "vus_max")) -> list[str]:
    """The shaped summary lines: after the banner, before the closing progress block."""
    text = stdout.split("\n\n\nrunning (", 1)[0] if "\n\n\nrunning (" in stdout else stdout
    if "graceful stop):" in text:
        text = text.split("gracefulStop: 30s)\n", 1)[1]
    out = []
    for line in text.splitlines():
        name = line.strip().lstrip("✓✗ ").split(".", 1)[0]
        if not line.strip() or name in skip:
            continue
        out.append(_shape(line))
    return out


@pytest.mark.parametrize("mode", ["compact", "full", "legacy"])
def test_summary_mode_text_matches_k6(k6_bin, tmp_path, target, mode):
    k6_dir, horde_dir = tmp_path / "k6", tmp_path / "horde"
    k6_dir.mkdir()
    horde_dir.mkdir()
    args = ("-q", "-e", f"TARGET={target.url}", "--summary-mode", mode)
    k6 = run_k6(k6_bin, k6_dir, JS_BODY, *args)
    ours = run_horde(horde_dir, PY_BODY, *args)
    assert k6.returncode == ours.returncode == 99, ours.stderr
    theirs, mine = _summary_lines(k6.stdout), _summary_lines(ours.stdout)
    assert mine == theirs, "\n".join(mine) + "\n---- k6:\n" + "\n".join(theirs)
    if mode == "legacy":
        assert any(line.startswith("     █ front") for line in ours.stdout.splitlines())
    if mode == "full":
        assert "  █ GROUP: front " in ours.stdout and "http_req_waiting" in ours.stdout
    else:
        assert "GROUP: front" not in ours.stdout


SCENARIOS_JS = """
    import http from 'k6/http';
    import { check, group } from 'k6';
    export const options = { scenarios: {
      web: { executor: 'per-vu-iterations', vus: 1, iterations: 2 },
      api: { executor: 'shared-iterations', vus: 1, iterations: 3, exec: 'api' },
    } };
    export default function () {
      group('page', function () {
        const r = http.get(__ENV.TARGET + '/');
        check(r, { 'page ok': (r) => r.status === 200 });
      });
    }
    export function api() {
      const r = http.get(__ENV.TARGET + '/?api=1');
      check(r, { 'api ok': (r) => r.status === 200 });
      group('deep', function () { group('deeper', function () { check(1, { 'inner': () => true }); }); });
    }
"""

SCENARIOS_PY = """
    from horde import check, env, group, http
    options = {"scenarios": {
        "web": {"executor": "per-vu-iterations", "vus": 1, "iterations": 2},
        "api": {"executor": "shared-iterations", "vus": 1, "iterations": 3, "exec": "api"},
    }}
    async def default(data):
        with group("page"):
            r = await http.get(env["TARGET"] + "/")
            check(r, {"page ok": lambda r: r.status == 200})
    async def api(data):
        r = await http.get(env["TARGET"] + "/?api=1")
        check(r, {"api ok": lambda r: r.status == 200})
        with group("deep"):
            with group("deeper"):
                check(1, {"inner": lambda x: True})
"""


def test_full_mode_scenario_and_nested_group_sections_match_k6(k6_bin, tmp_path, target):
    args = ("-q", "-e", f"TARGET={target.url}", "--summary-mode", "full")
    k6 = run_k6(k6_bin, tmp_path, SCENARIOS_JS, *args)
    ours = run_horde(tmp_path, SCENARIOS_PY, *args)
    assert k6.returncode == ours.returncode == 0, ours.stderr
    theirs, mine = _summary_lines(k6.stdout), _summary_lines(ours.stdout)
    cut_theirs, cut_mine = theirs.index("  █ SCENARIO: api"), mine.index("  █ SCENARIO: api")
    # the scenarios run at once: the order of the first checks seen differs from run to run
    assert sorted(mine[:cut_mine]) == sorted(theirs[:cut_theirs])
    assert mine[cut_mine:] == theirs[cut_theirs:], "\n".join(mine) + "\n---- k6:\n" + "\n".join(theirs)
    text = ours.stdout
    assert text.index("█ SCENARIO: api") < text.index("█ SCENARIO: web")
    assert "    ↳ GROUP: deep \n\n      ↳ GROUP: deeper \n\n        checks_total" in text


def test_summary_time_unit_flag_and_invalid_mode(k6_bin, tmp_path, target):
    args = ("-q", "-e", f"TARGET={target.url}", "--summary-time-unit", "ms")
    k6 = run_k6(k6_bin, tmp_path, JS_BODY, *args)
    ours = run_horde(tmp_path, PY_BODY, *args)
    for proc in (k6, ours):
        line = next(l for l in proc.stdout.splitlines() if re.match(r"\s+http_req_duration\.+:", l))
        values = re.findall(r"=(\S+)", line)
        assert values and all(v.endswith("ms") for v in values), line
    k6 = run_k6(k6_bin, tmp_path, JS_BODY, "-q", "--summary-mode", "bogus")
    ours = run_horde(tmp_path, PY_BODY, "-q", "--summary-mode", "bogus")
    assert k6.returncode == ours.returncode == 255
    assert "invalid summary mode" in k6.stderr and "invalid summary mode" in ours.stderr
    assert "Traceback" not in ours.stderr


def _blocks(stdout: str) -> list[list[str]]:
    """The progress blocks (``running (...)`` line and its bars), digits masked."""
    lines = stdout.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.startswith("running ("):
            block = [line]
            for bar in lines[i + 1 :]:
                if not bar.strip():
                    break
                block.append(bar)
            blocks.append([re.sub(r"\d", "N", l) for l in block])
    return blocks


@pytest.mark.parametrize(
    ("js_options", "py_options"),
    [
        ("{ vus: 2, duration: '2500ms' }", "{'vus': 2, 'duration': '2500ms'}"),
        ("{ vus: 1, iterations: 2 }", "{'vus': 1, 'iterations': 2}"),
        (
            "{ stages: [{ duration: '2500ms', target: 2 }] }",
            "{'stages': [{'duration': '2500ms', 'target': 2}]}",
        ),
        (
            "{ scenarios: { car: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '2500ms',"
            " preAllocatedVUs: 2 } } }",
            "{'scenarios': {'car': {'executor': 'constant-arrival-rate', 'rate': 5, 'timeUnit': '1s',"
            " 'duration': '2500ms', 'preAllocatedVUs': 2}}}",
        ),
        (
            "{ scenarios: { pvi: { executor: 'per-vu-iterations', vus: 2, iterations: 3 } } }",
            "{'scenarios': {'pvi': {'executor': 'per-vu-iterations', 'vus': 2, 'iterations': 3}}}",
        ),
    ],
    ids=["constant-vus", "shared-iterations", "ramping-vus", "constant-arrival-rate", "per-vu-iterations"],
)
def test_progress_lines_when_stdout_is_not_a_terminal(k6_bin, tmp_path, js_options, py_options):
    js = f"import {{ sleep }} from 'k6';\nexport const options = {js_options};\n" + (
        "export default function () { sleep(0.1); }\n"
    )
    py = f"from horde import sleep\noptions = {py_options}\nasync def default():\n    await sleep(0.1)\n"
    k6 = run_k6(k6_bin, tmp_path, js)
    ours = run_horde(tmp_path, py)
    assert k6.returncode == ours.returncode == 0, ours.stderr
    theirs, mine = _blocks(k6.stdout), _blocks(ours.stdout)
    assert mine[-1] == theirs[-1]  # the closing block, printed after the summary
    assert ours.stdout.index("TOTAL RESULTS") < ours.stdout.rindex("running (")
    # the running blocks: every shape horde prints is one k6 prints, at k6's cadence (about 1 s)
    assert {tuple(b) for b in mine[:-1]} <= {tuple(b) for b in theirs[:-1]} | {tuple(theirs[-1])}
    assert abs(len(mine) - len(theirs)) <= 1, (mine, theirs)
    assert ours.stdout.count("\n\nrunning (") == len(mine)  # each block starts after an empty line
