"""Turn the runs into medians, ratios and output costs, as markdown (printed and saved) and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median

__all__ = ["summarize", "markdown", "save"]

TOOLS = ("horde", "horde-w", "horde-1", "k6", "locust", "bare")
"""horde runs with its defaults (one process below 100 VUs); horde-w with one worker process per core; horde-1 with
``--workers 1``; bare is the ceiling (a bare asyncio protocol on uvloop, same GET, keep-alive, no metrics)."""
CASES = ("none", "csv", "json", "influxdb", "prometheus-rw", "opentelemetry", "web-dashboard")
OUTPUT_COST_GOAL = 0.85
"""issue 18: each output keeps at least this share of the tool's no-output req/s."""
FIELDS = (
    "rps",
    "requests",
    "cpu_s",
    "req_per_cpu_s",
    "rss_mb",
    "med_ms",
    "p95_ms",
    "others_cpu_s",
    "rss_start_mb",
    "rss_mid_mb",
    "rss_end_mb",
    "rss_tree_peak_mb",
)


def summarize(runs: list[dict]) -> dict:
    """Medians per (case, VUs, tool); the worst samples_lost; how many runs began on a busy machine."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["case"], r["vus"], r["tool"]), []).append(r)
    out = {}
    for (case, vus, tool), rs in groups.items():
        m = {f: round(median(r.get(f, 0) for r in rs), 3) for f in FIELDS}
        lost = [r["samples_lost"] for r in rs if r["samples_lost"] is not None]
        m["samples_lost_max"] = max(lost) if lost else None
        m["samples_expected"] = median(r["samples_expected"] for r in rs) if lost else None
        m["runs"] = len(rs)
        m["busy_runs"] = sum(bool(r["before"].get("busy")) for r in rs)
        m["failed_runs"] = sum(r["exit_code"] != 0 for r in rs)
        out[f"{case}/{vus}/{tool}"] = m
    return out


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "–"


def _pct(new: float, base: float) -> str:
    return f"{(new / base - 1) * 100:+.0f}%" if base else "–"


def markdown(meta: dict, med: dict) -> str:
    """The report: one table per case, ratios horde/k6 and horde/Locust, then the cost of each output."""
    keys = [tuple(k.split("/")) for k in med]
    cases = [c for c in CASES if any(k[0] == c for k in keys)]
    vus_list = sorted({int(k[1]) for k in keys})
    lines = [
        f"# horde vs k6 vs Locust — {meta['started']}",
        "",
        f"{meta['cpus']} CPUs, load average at start {meta['load_at_start']}; "
        f"{meta['duration_s']} s per run, {meta['repeats']} repeat(s), medians. nginx {meta['nginx']}, "
        f"k6 {meta['k6']}, Locust {meta['locust']}, horde on {meta['loop']} with {meta['accelerators']}.",
        f"horde and the ceiling on {meta['python']}, pure-Python speed index "
        f"{meta['python_speed']} (bench/interpreter.py: compare runs on one interpreter only).",
        f"Runs that began on a busy machine (CPU ≥ {meta['busy_pct']}% after waiting ≤ {meta['quiet_wait_s']} s): "
        f"{meta['busy_runs']} of {meta['runs']}. 'others' = CPU seconds other processes used during the run.",
    ]
    if "host_speed" in meta:  # a shared host's other tenants slow every process without showing here
        lines.append(
            f"Host speed (pure-Python, best of the sitting) {meta['host_speed']}: {meta['host_reruns']} run(s) run "
            f"again because it fell below {meta['host_tolerance']:.0%} of the best before or after them; {meta['slow_host_runs']} of the "
            "runs kept were on a slowed host."
        )
    lines.append("")
    for case in cases:
        lines += [
            f"## --out {case}" if case != "none" else "## no output",
            "",
            "| VUs | tool | req/s | requests | CPU s | req/CPU-s | peak RSS MB | RSS start / mid / end MB "
            "| med / p95 ms | samples lost | others CPU s | busy/failed runs |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for vus in vus_list:
            for tool in TOOLS:
                m = med.get(f"{case}/{vus}/{tool}")
                if m is None:
                    continue
                lost = (
                    "–" if m["samples_lost_max"] is None else f"{m['samples_lost_max']} of {m['samples_expected']:.0f}"
                )
                lines.append(
                    f"| {vus} | {tool} | {m['rps']:.0f} | {m['requests']:.0f} | {m['cpu_s']:.2f} | "
                    f"{m['req_per_cpu_s']:.0f} | {m['rss_tree_peak_mb']:.0f} | "
                    f"{m['rss_start_mb']:.0f} / {m['rss_mid_mb']:.0f} / {m['rss_end_mb']:.0f} | "
                    f"{m['med_ms']:.2f} / {m['p95_ms']:.2f} | {lost} | {m['others_cpu_s']:.1f} | "
                    f"{m['busy_runs']}/{m['failed_runs']} of {m['runs']} |"
                )
        lines += [
            "",
            "| VUs | req/s horde/k6 | req/s horde-w/k6 | req/s horde/Locust | req/CPU-s horde/k6 | "
            "req/CPU-s horde-w/k6 | req/CPU-s horde/Locust | peak RSS (all processes) horde/k6 | "
            "ceiling share horde | ceiling share horde-w | req/CPU-s horde-w/horde | req/CPU-s horde/horde-1 |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for vus in vus_list:
            h, hw, h1, k, lo, bare = (med.get(f"{case}/{vus}/{t}", {}) for t in TOOLS)
            bare = bare or med.get(f"none/{vus}/bare", {})  # the ceiling runs without an output
            lines.append(
                f"| {vus} | {_ratio(h.get('rps'), k.get('rps'))} | {_ratio(hw.get('rps'), k.get('rps'))} | "
                f"{_ratio(h.get('rps'), lo.get('rps'))} | "
                f"{_ratio(h.get('req_per_cpu_s'), k.get('req_per_cpu_s'))} | "
                f"{_ratio(hw.get('req_per_cpu_s'), k.get('req_per_cpu_s'))} | "
                f"{_ratio(h.get('req_per_cpu_s'), lo.get('req_per_cpu_s'))} | "
                f"{_ratio(h.get('rss_tree_peak_mb'), k.get('rss_tree_peak_mb'))} | "
                f"{_ratio(h.get('req_per_cpu_s'), bare.get('req_per_cpu_s'))} | "
                f"{_ratio(hw.get('req_per_cpu_s'), bare.get('req_per_cpu_s'))} | "
                f"{_ratio(hw.get('req_per_cpu_s'), h.get('req_per_cpu_s'))} | "
                f"{_ratio(h.get('req_per_cpu_s'), h1.get('req_per_cpu_s'))} |"
            )
        lines.append("")
    lines += _worker_path(meta.get("worker_path"))
    if len(cases) > 1 and "none" in cases:
        lines += [
            "## Cost of an output (vs no output)",
            "",
            "| tool | VUs | output | req/s | req/s vs none | req/CPU-s vs none |",
            "|---|---:|---|---:|---:|---:|",
        ]
        for tool in ("horde", "horde-w", "horde-1", "k6"):
            for vus in vus_list:
                base = med.get(f"none/{vus}/{tool}")
                for case in cases[1:]:
                    m = med.get(f"{case}/{vus}/{tool}")
                    if base and m:
                        lines.append(
                            f"| {tool} | {vus} | {case} | {m['rps']:.0f} | {_pct(m['rps'], base['rps'])} | "
                            f"{_pct(m['req_per_cpu_s'], base['req_per_cpu_s'])} |"
                        )
        lines.append("")
        lines += _side_by_side(med, cases[1:], vus_list)
    return "\n".join(lines)


def _worker_path(wp: dict | None) -> list[str]:
    """The section of bench/worker_path.py's comparisons (``meta["worker_path"]``), if they ran."""
    if not wp or not wp["cases"]:
        return []
    lines = [
        f"## The worker path, the network taken out ({wp['vus']} VUs, bench/worker_path.py; goal: ≥ 0.90)",
        "",
        "Iterations per CPU-second of all of horde's processes on connections that answer in-process: no server "
        "shares the cores, so the ratio is what the worker processes, their batches and the coordinator's merge cost. "
        "Against nginx (`req/CPU-s horde-w/horde` above) the workers also share the cores with nginx: on a machine "
        "with few cores that costs more than the worker path (see bench/README.md).",
        "",
        f"| output | --workers 1 | --workers {wp['workers']} | ratio (median) | ratio per repeat |",
        "|---|---:|---:|---:|---|",
    ]
    for case, c in wp["cases"].items():
        lines.append(
            f"| {case} | {c['one_per_cpu_s']:.0f} | {c['workers_per_cpu_s']:.0f} | {c['ratio']:.2f} | "
            f"{', '.join(f'{r:.2f}' for r in c['ratios'])} |"
        )
    return [*lines, ""]


def _side_by_side(med: dict, outputs: list[str], vus_list: list[int]) -> list[str]:
    """Each output's req/s and req/CPU-s as a ratio to the same tool's no-output case, horde beside k6."""
    lines = [
        f"## Output cost side by side (ratio to the same tool without an output; goal: horde ≥ {OUTPUT_COST_GOAL})",
        "",
        "| VUs | output | req/s horde | req/s horde-w | req/s k6 | req/CPU-s horde | req/CPU-s horde-w | req/CPU-s k6 | "
        "horde within goal (req/s, req/CPU-s) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for vus in vus_list:
        for case in outputs:
            cells, verdicts = [], []
            for field in ("rps", "req_per_cpu_s"):
                for tool in ("horde", "horde-w", "k6"):
                    base, m = med.get(f"none/{vus}/{tool}"), med.get(f"{case}/{vus}/{tool}")
                    cells.append(_ratio(m and m[field], base and base[field]))
                    if tool == "horde" and base and m and base[field]:
                        verdicts.append("yes" if m[field] / base[field] >= OUTPUT_COST_GOAL else "NO")
            if any(c != "–" for c in cells):
                lines.append(f"| {vus} | {case} | " + " | ".join(cells) + f" | {', '.join(verdicts) or '–'} |")
    return lines + [""]


def save(directory: Path, stamp: str, meta: dict, runs: list[dict], med: dict, text: str) -> tuple[Path, Path]:
    """Write ``<stamp>.json`` (meta, every run, medians) and ``<stamp>.md`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    js, md = directory / f"{stamp}.json", directory / f"{stamp}.md"
    js.write_text(json.dumps({"meta": meta, "runs": runs, "medians": med}, indent=2))
    md.write_text(text)
    return js, md
