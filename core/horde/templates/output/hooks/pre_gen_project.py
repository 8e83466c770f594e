"""Refuse an output name that cannot work, before anything is written.

``horde new output`` checks the name itself and says so (``_name_checked``); ``cookiecutter
templates/output`` gets the same checks here: the form of the name, and that no installed output
has it (asked of ``horde plugins --json`` when a ``horde`` command is found). This file imports
nothing from horde: templates use only horde's public API.
"""

import json
import keyword
import os
import re
import shutil
import subprocess
import sys

NAME = "{{ cookiecutter.name }}"
KIND = "{{ cookiecutter.kind }}"
CHECKED = "{{ cookiecutter._name_checked }}" == "yes"


def fail(message: str) -> None:
    sys.exit(f"error: {message}")


def horde_command() -> "str | None":
    """The ``horde`` console script next to this Python, else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "horde.exe" if os.name == "nt" else "horde")
    return here if os.path.exists(here) else shutil.which("horde")


def installed_outputs() -> "dict[str, str]":
    """Output name -> where it comes from, as ``horde plugins --json`` lists them ({} without horde)."""
    command = horde_command()
    if command is None:
        return {}
    try:
        proc = subprocess.run([command, "plugins", "--json"], capture_output=True, text=True, timeout=60)
        plugins = json.loads(proc.stdout)["plugins"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return {}
    found = {}
    for plugin in plugins:
        origin = "horde (built-in)" if plugin.get("builtin") else f"{plugin.get('distribution')} {plugin.get('version')}"
        found.setdefault(plugin["name"], origin)
    return found


if KIND not in ("file", "network"):
    fail(f"invalid output kind {KIND!r}: choose one of file, network")
if not CHECKED:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", NAME):
        fail(f"invalid output name {NAME!r}: use lowercase letters, digits and '_', starting with a letter "
             f"(it names the entry point and the package horde_out_<name>)")
    if keyword.iskeyword(NAME):
        fail(f"invalid output name {NAME!r}: it is a Python keyword")
    taken = installed_outputs().get(NAME)
    if taken is not None:
        fail(f"output name {NAME!r} is already installed, from {taken}: choose another name")
