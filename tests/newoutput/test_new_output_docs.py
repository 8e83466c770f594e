"""docs/writing-an-output.md documents the whole contract: every hookspec, the plugin controls, the JSON schema."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from horde.output import hookspecs
from horde.output.listing import SCHEMA_VERSION, describe_plugins
from horde.output.registry import load_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-an-output.md"
HOOKSPECS = sorted(name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "horde_spec"))


def test_there_are_hookspecs():
    assert {"description", "start", "add_samples", "stop"} <= set(HOOKSPECS)


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_every_hookspec_has_a_docstring_and_a_section(hook):
    fn = getattr(hookspecs, hook)
    assert inspect.getdoc(fn), f"hookspec {hook} has no docstring"
    ann = fn.__annotations__  # the typed signature, as tests/test_hookspec_docs.py builds it
    params = ", ".join(f"{p}: {ann[p]}" for p in inspect.signature(fn).parameters)
    signature = f"{hook}({params}) -> {ann['return']}"
    text = DOC.read_text()
    assert f"#### `{signature}`" in text, f"no section for {signature} in {DOC.name}"
    assert re.search(rf"^\| `{hook}\(", text, re.M), f"{hook} missing from the hook table"
    assert f"- `{signature}` — " in text, f"{hook} missing from the hookspec reference"


@pytest.mark.parametrize(
    "topic",
    [
        "### Call order",
        "### Threads",
        "never concurrently",
        "must not block",
        "### Error isolation",
        "### Stopping the run",
        "### Configuration conventions",
        "### Naming",
        "### Publishing",
        "horde-out-NAME",
        "HORDE_DISABLE_PLUGIN_AUTOLOAD=1",
        "HORDE_PLUGINS",
        "--plugin NAME",
        "horde plugins --json",
        "SampleBuffer",
        "PeriodicFlusher",
        "collectors.<name>",
        "HORDE_<NAME>_",
    ],
)
def test_the_contract_topics_are_covered(topic):
    assert topic in DOC.read_text()


def test_every_json_schema_field_is_documented():
    data = describe_plugins(load_registry({}))
    text = DOC.read_text()
    assert f'"schema_version": {SCHEMA_VERSION}' in text
    fields = set(data) | set(data["plugins"][0])
    for field in fields:
        assert f"| `{field}` |" in text, f"--json field {field} is not in the schema table"
