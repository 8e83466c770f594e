"""Shared helpers: the report's embedded data; Chromium (``chromium_bin``) from the test kit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from horde.testing.fixtures import chromium_bin  # noqa: F401

_DATA = re.compile(r'<script id="horde-data" type="application/json">(.*?)</script>', re.DOTALL)


def report_data(path: Path) -> Any:
    """The data a report (or page) embeds: None for the live page."""
    match = _DATA.search(path.read_text(encoding="utf-8"))
    assert match, f"{path} has no #horde-data element"
    return json.loads(match.group(1))
