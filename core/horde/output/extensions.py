"""Plugin modules named in ``HORDE_PLUGINS`` or ``--plugin``: imported before a run.

An entry that names an installed output or its distribution keeps its old
meaning (load that entry point even with ``HORDE_DISABLE_PLUGIN_AUTOLOAD=1``);
any other entry is a module, imported so that its import-time
:func:`~horde.output.register_extension` calls fill the process-wide registry
(as pytest imports the modules of ``PYTEST_PLUGINS``).
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import Iterable, Mapping, Sequence

from ..errors import UserError
from .errors import PluginModuleError, describe_exception
from .registry import (
    OutputRegistry,
    default_registry,
    installed_names,
    normalize,
    plugin_entries,
)

__all__ = ["import_plugin_module", "prepare_registry"]

_MODULE_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def prepare_registry(
    environ: Mapping[str, str],
    plugins: Iterable[str] = (),
    *,
    outputs: Iterable[str] = (),
    search_path: Sequence[str] = (),
) -> OutputRegistry:
    """The process-wide registry, ready for a run or a listing.

    Discovers installed outputs (``outputs``: the ``--out`` names, loaded even
    with autoload disabled), then imports each module named in
    ``HORDE_PLUGINS`` and then in ``plugins`` (``--plugin``), with
    ``search_path`` (the script's directory) importable. Raises
    :class:`PluginModuleError` (one line, exit 104) for a module that cannot
    be imported, :class:`DuplicateOutputError` if a module registers a taken name.
    """
    entries: dict[str, str] = {}
    for name in plugin_entries(environ):
        entries.setdefault(name, "HORDE_PLUGINS")
    for name in plugins:
        if name.strip():
            entries.setdefault(name.strip(), "--plugin")
    registry = default_registry()
    registry.discover(environ, only=[*outputs, *entries])
    installed = installed_names() if entries else set()
    for name, source in entries.items():
        if name not in installed and normalize(name) not in installed:
            import_plugin_module(name, source, search_path)
    return registry


def import_plugin_module(name: str, source: str, search_path: Sequence[str] = ()) -> None:
    """Import module ``name`` (named in ``source``) with ``search_path`` first on ``sys.path``.

    What the module prints goes to stderr. Any failure is one
    :class:`PluginModuleError` naming the module; horde's own errors (a
    duplicate registration) pass through unchanged.
    """
    if not _MODULE_RE.fullmatch(name):
        raise PluginModuleError(
            f"{source}: '{name}' is neither an installed output, a distribution declaring one, nor a module name"
        )
    added = [p for p in search_path if p not in sys.path]
    sys.path[:0] = added
    importlib.invalidate_caches()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            importlib.import_module(name)
    except UserError:
        raise
    except ModuleNotFoundError as exc:
        where = "not found" if exc.name == name or name.startswith(f"{exc.name}.") else "cannot be imported"
        raise PluginModuleError(
            f"plugin module '{name}' ({source}) {where}: {describe_exception(exc)}"
            + (" (put its directory on PYTHONPATH or beside the script)" if where == "not found" else "")
        ) from exc
    except (Exception, SystemExit) as exc:  # any failure at import is the module's, named in one line
        raise PluginModuleError(
            f"plugin module '{name}' ({source}) cannot be imported: {describe_exception(exc)}"
        ) from exc
    finally:
        for p in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(p)
