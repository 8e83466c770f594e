"""docs/k6-run-flags.md mentions every flag `k6 run --help` of k6 v1.1.0 lists, and horde run takes them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hordecli import horde_script
from k6cliharness import clean_env

TABLE = Path(__file__).resolve().parents[2] / "docs" / "k6-run-flags.md"

SUMMARY_FLAGS = {"--summary-mode", "--summary-time-unit"}
"""Flags of the summary work (another branch): in the table, not yet on horde run here."""


def k6_flags(k6_bin: str) -> set[str]:
    out = subprocess.run([k6_bin, "run", "--help"], capture_output=True, text=True, timeout=60, env=clean_env()).stdout
    return set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", out, re.M))


def test_k6_help_lists_flags(k6_bin):
    flags = k6_flags(k6_bin)
    assert {"--vus", "--throw", "--dns", "--verbose", "--log-output"} <= flags
    assert len(flags) > 50


def test_table_mentions_every_k6_run_flag(k6_bin):
    table = TABLE.read_text()
    missing = sorted(
        f for f in k6_flags(k6_bin) if f"`{f}" not in table and f", {f}" not in table and f" {f}`" not in table
    )
    assert not missing, f"docs/k6-run-flags.md does not mention: {missing}"


def test_horde_run_takes_every_k6_run_flag(k6_bin):
    help_text = subprocess.run(
        [horde_script(), "run", "--help"], capture_output=True, text=True, timeout=60, env=clean_env()
    ).stdout
    missing = sorted(f for f in k6_flags(k6_bin) - SUMMARY_FLAGS if not re.search(re.escape(f) + r"\b", help_text))
    assert not missing, f"horde run --help lacks: {missing}"


def test_short_forms_are_k6s(k6_bin):
    out = subprocess.run([k6_bin, "run", "--help"], capture_output=True, text=True, timeout=60, env=clean_env()).stdout
    k6_short = dict(re.findall(r"^\s+(-\w), (--[a-z-]+)", out, re.M))
    help_text = subprocess.run(
        [horde_script(), "run", "--help"], capture_output=True, text=True, timeout=60, env=clean_env()
    ).stdout
    horde_short = dict(re.findall(r"^\s+(-\w), (--[a-z-]+)", help_text, re.M))
    for short, long in k6_short.items():
        if long == "--help":
            continue
        assert horde_short.get(short) == long, f"{short} is {horde_short.get(short)} in horde, {long} in k6"
