"""Every hookspec is documented in docs/writing-an-output.md with its exact, typed signature
(as datasette's test_plugin_hooks_are_documented): a `#### `name(args) -> type`` heading per hook."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from horde.output import hookspecs
from horde.output.binding import HOOK_NAMES

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-an-output.md"


def signature_text(name: str) -> str:
    """``name(arg: Type, ...) -> Return`` from the hookspec's annotations, as written in the source."""
    fn = getattr(hookspecs, name)
    ann = fn.__annotations__
    args = ", ".join(f"{p}: {ann[p]}" for p in inspect.signature(fn).parameters)
    return f"{name}({args}) -> {ann['return']}"


def documented_headings() -> list[str]:
    return re.findall(r"^#### `([^`]+)`\s*$", DOC.read_text(encoding="utf-8"), re.M)


def test_every_hook_is_a_hookspec_with_full_annotations():
    assert HOOK_NAMES == (
        "description",
        "set_thresholds",
        "set_test_run_stop",
        "start",
        "setup_coordinator",
        "add_samples",
        "set_run_status",
        "stop",
        "report",
    )
    for name in HOOK_NAMES:
        fn = getattr(hookspecs, name)
        params = inspect.signature(fn).parameters
        assert "return" in fn.__annotations__, name
        assert all(p in fn.__annotations__ for p in params), name
        assert fn.__doc__ and len(fn.__doc__.strip().splitlines()) <= 3, f"{name}: keep the docstring short"


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_hook_is_documented_with_its_exact_signature(hook):
    assert signature_text(hook) in documented_headings(), (
        f"docs/writing-an-output.md has no heading `#### `{signature_text(hook)}`` for the hookspec {hook}"
    )


def test_no_documented_hook_is_missing_from_the_hookspecs():
    documented = {h.split("(", 1)[0] for h in documented_headings()}
    assert documented <= set(HOOK_NAMES), documented - set(HOOK_NAMES)


def test_each_hook_section_gives_the_contract():
    """Each hook's section says when it is called, on which thread, and what happens when it raises."""
    text = DOC.read_text(encoding="utf-8")
    for hook in HOOK_NAMES:
        start = text.index(f"#### `{signature_text(hook)}`")
        end = text.find("\n#", start + 1)
        section = text[start:end].lower()
        for word in ("called", "thread", "raise"):
            assert word in section, f"the section of {hook} does not say what happens ({word!r})"
