"""Which JSON config file a run reads, as k6 v1.1.0 chooses it.

``-c``/``--config`` wins, then ``HORDE_CONFIG``, then ``K6_CONFIG``; a file
named so must exist (exit 104). Without any, k6 reads its default file
``os.UserConfigDir()/k6/config.json`` when it exists (on Linux
``$XDG_CONFIG_HOME/k6/config.json`` or ``~/.config/k6/config.json``), else the
old ``.../loadimpact/k6/config.json`` with a warning, else nothing.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["user_config_dir", "default_config_path", "legacy_config_path", "config_file_for"]

_log = logging.getLogger("horde")


def user_config_dir(environ: Mapping[str, str], platform: str = sys.platform) -> Path:
    """Go's ``os.UserConfigDir()`` for ``environ`` (k6 falls back to ``.config`` when it fails)."""
    if platform.startswith("win"):
        base = environ.get("AppData") or environ.get("APPDATA") or ""
        return Path(base) if base else Path(".config")
    home = environ.get("HOME", "")
    if platform == "darwin":
        return Path(home, "Library", "Application Support") if home else Path(".config")
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg:
        return Path(xdg) if os.path.isabs(xdg) else Path(".config")
    return Path(home, ".config") if home else Path(".config")


def default_config_path(environ: Mapping[str, str]) -> Path:
    """k6's default config file: ``<user config dir>/k6/config.json``."""
    return user_config_dir(environ) / "k6" / "config.json"


def legacy_config_path(environ: Mapping[str, str]) -> Path:
    """k6's old default config file: ``<user config dir>/loadimpact/k6/config.json``."""
    return user_config_dir(environ) / "loadimpact" / "k6" / "config.json"


def config_file_for(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    """The config file to read: the named one (``-c``, ``HORDE_CONFIG``, ``K6_CONFIG``), else k6's default
    file when it exists, else the legacy one (with k6's warning), else None."""
    named = explicit or environ.get("HORDE_CONFIG") or environ.get("K6_CONFIG")
    if named:
        return named
    default = default_config_path(environ)
    if default.is_file():
        return str(default)
    legacy = legacy_config_path(environ)
    if legacy.is_file():
        _log.warning(
            'The configuration file has been found on the old default path ("%s"). Please, run again '
            "`k6 cloud login` or `k6 login` commands to migrate to the new default path.",
            legacy,
        )
        return str(legacy)
    return None
