"""``horde new [FILE]``: a new load test script, as ``k6 new`` (templates minimal and protocol)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ExitCode, UserError

__all__ = ["SCRIPT_TEMPLATES", "write_script"]

_MINIMAL = '''"""A horde load test: `horde run {name}`."""

from horde import check, http, sleep

options = {{
    "vus": 10,
    "duration": "30s",
}}


async def default(data):
    res = await http.get("https://quickpizza.grafana.com")
    check(res, {{"status is 200": lambda r: r.status == 200}})
    await sleep(1)
'''

_PROTOCOL = '''"""A horde load test with a ramping scenario and thresholds: `horde run {name}`."""

from horde import check, group, http, sleep

BASE_URL = "https://quickpizza.grafana.com"

options = {{
    "scenarios": {{
        "default": {{
            "executor": "ramping-vus",
            "stages": [
                {{"duration": "10s", "target": 5}},
                {{"duration": "20s", "target": 5}},
                {{"duration": "10s", "target": 0}},
            ],
        }},
    }},
    "thresholds": {{
        "http_req_failed": ["rate<0.01"],
        "http_req_duration": ["p(95)<500"],
    }},
}}


def setup():
    return {{"base_url": BASE_URL}}


async def default(data):
    with group("home"):
        res = await http.get(data["base_url"])
        check(res, {{"status is 200": lambda r: r.status == 200}})
    await sleep(1)
'''

SCRIPT_TEMPLATES = {"minimal": _MINIMAL, "protocol": _PROTOCOL}
"""``--template`` choices (k6's ``browser`` has no horde twin; a path names a custom template file)."""


def write_script(file: str, template: str = "minimal", force: bool = False) -> Path:
    """Write a new script to ``file`` from ``template`` (a name or a template file); exit 255 if it exists."""
    path = Path(file)
    if path.exists() and not force:
        raise UserError(f"{file} already exists. Use the `--force` flag to overwrite it", ExitCode.GENERIC)
    text = SCRIPT_TEMPLATES.get(template)
    if text is None:
        custom = Path(template)
        if template == "browser":
            raise UserError("template 'browser' has no horde twin: use minimal or protocol", ExitCode.GENERIC)
        if not custom.is_file():
            raise UserError(
                f"invalid template {template!r}: use minimal, protocol or the path of a template file",
                ExitCode.GENERIC,
            )
        text = custom.read_text(encoding="utf-8")
    else:
        text = text.format(name=path.name)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {file}: {exc.strerror}", ExitCode.GENERIC) from None
    return path
