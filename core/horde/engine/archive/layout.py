"""What a horde archive holds and how its metadata.json reads."""

from __future__ import annotations

import dataclasses
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import ExitCode, UserError

__all__ = ["ArchiveMetadata", "ArchiveError", "METADATA", "FILES_DIR", "ARCHIVE_TYPE", "is_archive", "member_path"]

METADATA = "metadata.json"
"""The archive's first member: the script's name, options, env and the list of files."""

FILES_DIR = "files"
"""Every archived file lives under ``files/``, by its path relative to the script's directory."""

ARCHIVE_TYPE = "horde-python"
"""metadata.json's ``type`` (k6 writes ``js``): a horde archive holds a Python script."""


class ArchiveError(UserError):
    """An archive that cannot be written, read or trusted: one line naming the archive and the culprit."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.INVALID_CONFIG)


@dataclasses.dataclass
class ArchiveMetadata:
    """metadata.json: k6's fields where they mean the same (``filename``, ``options``, ``env``), plus ``files``."""

    filename: str
    """The script, relative to the archive's ``files/`` directory."""
    options: dict[str, Any]
    """The run options consolidated at archive time (config file < script < environment < command line)."""
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    """``-e KEY=VALUE`` given at archive time; ``-e`` at run time overrides them."""
    files: list[str] = dataclasses.field(default_factory=list)
    """Every archived file, relative to ``files/`` (the script first)."""
    horde_version: str = ""
    type: str = ARCHIVE_TYPE

    def to_json(self) -> str:
        """metadata.json's text; a non-JSON option value is an :class:`ArchiveError` naming it."""
        doc = {
            "type": self.type,
            "filename": self.filename,
            "options": self.options,
            "env": self.env,
            "files": self.files,
            "hordeVersion": self.horde_version,
        }
        try:
            return json.dumps(doc, indent=2, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise ArchiveError(
                f"the script's options cannot be archived: {exc} (options must be JSON values)"
            ) from None

    @classmethod
    def from_json(cls, text: str, source: str) -> ArchiveMetadata:
        """Parse metadata.json of archive ``source``; anything malformed is an :class:`ArchiveError`."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchiveError(f"archive {source}: {METADATA} is not valid JSON ({exc.msg})") from None
        if not isinstance(doc, dict) or doc.get("type") != ARCHIVE_TYPE:
            kind = doc.get("type") if isinstance(doc, dict) else None
            hint = " (a k6 archive of a JavaScript test? horde runs Python scripts)" if kind == "js" else ""
            raise ArchiveError(f"archive {source}: not a horde archive, type is {kind!r}{hint}")
        filename, options, env, files = doc.get("filename"), doc.get("options"), doc.get("env"), doc.get("files")
        if not isinstance(filename, str) or not isinstance(options, dict):
            raise ArchiveError(f"archive {source}: {METADATA} lacks 'filename' or 'options'")
        if not isinstance(env, dict) or not isinstance(files, list):
            raise ArchiveError(f"archive {source}: {METADATA} has a malformed 'env' or 'files'")
        return cls(
            filename=filename,
            options=options,
            env={str(k): str(v) for k, v in env.items()},
            files=[str(f) for f in files],
            horde_version=str(doc.get("hordeVersion", "")),
        )


def member_path(name: str, source: str) -> PurePosixPath:
    """The relative path of tar member ``name``; :class:`ArchiveError` if absolute or with ``..`` parts."""
    trimmed = name.rstrip("/")
    path = PurePosixPath(trimmed)
    if not trimmed or path.is_absolute() or "\\" in name or any(p in ("..", ".", "") for p in trimmed.split("/")):
        raise ArchiveError(f"archive {source}: unsafe member path {name!r} (absolute or with '..')")
    return path


def is_archive(path: str | Path) -> bool:
    """True when ``path`` is a tar file (a script is Python source, never a tar)."""
    p = Path(path)
    if p.suffix == ".py" or not p.is_file():
        return False
    try:
        return tarfile.is_tarfile(p)
    except OSError:
        return False
