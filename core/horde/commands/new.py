"""``horde new output NAME``: a new, installable output distribution from the bundled template.

The template is a cookiecutter template shipped inside the ``horde`` package
(``horde/templates/output``), so this works offline. The name is checked
before anything is written.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from pathlib import Path

import click

from ..errors import UserError
from .group import cli, verbose_option

__all__ = ["KINDS", "TEMPLATE_DIR", "check_output_name", "render_output", "template_defaults", "new", "new_output"]

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "output"
"""The cookiecutter template of a new output distribution."""

KINDS = ("file", "network")
"""What ``--kind`` chooses: ``file`` writes per-interval aggregates to a file; ``network`` sends every
sample to an HTTP endpoint through :class:`horde.output.Delivery`."""

_FIXED_KEYS = ("name", "kind", "horde_version")
"""Template settings given by the command line and horde itself, never asked."""

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _installed_outputs() -> dict[str, str]:
    """Every output name known without importing a plugin: built-ins and ``horde.outputs`` entry points."""
    import importlib_metadata

    from .._version import __version__
    from ..output.registry import BUILTIN_OUTPUTS, ENTRY_POINT_GROUP

    found = {name: f"horde {__version__} (built-in)" for name in BUILTIN_OUTPUTS}
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found.setdefault(ep.name, f"{dist.name} {dist.version}" if dist else ep.value)
    return found


def check_output_name(name: str) -> None:
    """Raise :class:`UserError` (one line) unless ``name`` can name a new output.

    It must be an entry-point name and a Python identifier (lowercase letters,
    digits and ``_``, starting with a letter; not a keyword), and no installed
    output may have it already.
    """
    if not _NAME_RE.fullmatch(name or ""):
        raise UserError(
            f"invalid output name {name!r}: use lowercase letters, digits and '_', starting with a "
            f"letter (it names the entry point and the package horde_out_<name>)"
        )
    if keyword.iskeyword(name):
        raise UserError(f"invalid output name {name!r}: it is a Python keyword")
    taken = _installed_outputs().get(name)
    if taken is not None:
        raise UserError(f"output name {name!r} is already installed, from {taken}: choose another name")


def template_defaults() -> dict[str, str]:
    """The questions of the template a user answers (``cookiecutter.json`` minus private and fixed keys)."""
    import json

    data = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_") and k not in _FIXED_KEYS}


def _render_default(default: str, context: Mapping[str, str]) -> str:
    """A default of ``cookiecutter.json`` that depends on earlier answers (the description on the kind)."""
    if "{" not in default:
        return default
    from jinja2 import Environment

    return Environment().from_string(default).render(cookiecutter=context)


def render_output(
    name: str,
    output_dir: str | Path = ".",
    *,
    kind: str = "file",
    no_input: bool = True,
    extra: Mapping[str, str] | None = None,
) -> Path:
    """Check ``name``, render the template of ``kind`` (see :data:`KINDS`) into ``output_dir``; return the project.

    Unless ``no_input``, asks for the template's other settings (description,
    author, ...) first; ``name`` and ``kind`` are never asked again.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    from .._version import __version__

    if kind not in KINDS:
        raise UserError(f"invalid output kind {kind!r}: choose one of {', '.join(KINDS)}")
    check_output_name(name)
    project = Path(output_dir) / f"horde-out-{name}"
    if project.exists():
        raise UserError(f"{project} already exists: remove it or choose another --output-dir")
    # the template's pre-generation hook need not check the name again
    context = {"name": name, "kind": kind, "horde_version": __version__, "_name_checked": "yes", **(extra or {})}
    if not no_input:
        for key, default in template_defaults().items():
            if key not in context:
                context[key] = click.prompt(key.replace("_", " "), default=_render_default(default, context))
    try:
        created = cookiecutter(str(TEMPLATE_DIR), no_input=True, extra_context=context, output_dir=str(output_dir))
    except CookiecutterException as exc:
        raise UserError(f"cannot render the output template: {exc}") from exc
    return Path(created)


class _NewGroup(click.Group):
    """``horde new [FILE]`` writes a script (as ``k6 new``); ``horde new output NAME`` an output project."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """A first argument that is no subcommand (or none at all) goes to ``horde new script``."""
        first = next((a for a in args if not a.startswith("-")), None)
        if first is None and any(a in ("-h", "--help") for a in args):
            return super().parse_args(ctx, args)
        if first is None or first not in self.commands:
            args = ["script", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_NewGroup)
def new() -> None:
    """Create a new script (horde new [FILE], as k6 new) or output project (horde new output NAME)."""


@new.command("script")
@click.argument("file", default="script.py", required=False)
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing file.")
@click.option(
    "--template",
    default="minimal",
    show_default=True,
    help="minimal, protocol, or the path of a custom template file.",
)
@click.option("--project-id", help="Grafana Cloud project ID, written as options.cloud.projectID.")
@verbose_option
def new_script(file: str, force: bool, template: str, project_id: str | None) -> None:
    """Create a new load test script FILE (default script.py) from a template."""
    from .new_script import write_script

    path = write_script(file, template, force)
    if project_id:
        text = path.read_text(encoding="utf-8")
        text = text.replace("options = {\n", f'options = {{\n    "cloud": {{"projectID": {int(project_id)}}},\n', 1)
        path.write_text(text, encoding="utf-8")
    click.echo(f"New script created: {file} ({template} template).")


@new.command("output")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="file",
    show_default=True,
    help="file: per-interval aggregates written to a file; network: every sample sent to an HTTP "
    "endpoint through horde.output.Delivery (retries, spill to disk, ordered replay).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to create the horde-out-NAME directory.",
)
@click.option("--no-input", is_flag=True, help="Do not ask for the description, author, ...; use the defaults.")
@verbose_option
def new_output(name: str, kind: str, output_dir: str, no_input: bool) -> None:
    """Create horde-out-NAME: an installable output distribution with tests, tox.ini and CI."""
    project = render_output(name, output_dir, kind=kind, no_input=no_input)
    click.echo(f"created {project} ({kind} output)")
    click.echo("next:")
    click.echo(f"  pip install -e '{project}[test]'")
    click.echo(f"  horde plugins                          # lists '{name}'")
    if kind == "network":
        click.echo(f"  horde run script.py -o {name}=http://127.0.0.1:8080/samples")
    else:
        click.echo(f"  horde run script.py -o {name}={name}.jsonl")
    click.echo(f"  (cd {project} && pytest)")
    click.echo(f"  (cd {project} && HORDE_SOURCE=/path/to/horde-VERSION-py3-none-any.whl tox)   # see its README")
