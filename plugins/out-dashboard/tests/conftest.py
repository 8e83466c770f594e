"""Shared helpers: the report's embedded data, a free port, Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

_DATA = re.compile(r'<script id="horde-data" type="application/json">(.*?)</script>', re.DOTALL)


def report_data(path: Path) -> Any:
    """The data a report (or page) embeds: None for the live page."""
    match = _DATA.search(path.read_text(encoding="utf-8"))
    assert match, f"{path} has no #horde-data element"
    return json.loads(match.group(1))


def need(what: str) -> None:
    """Skip without the service binary, fail under CI=true (a missing binary must not pass CI)."""
    message = f"{what} is not installed"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_bin() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        need("Chromium (Debian package chromium)")
    assert found
    return found
