"""Checking and extracting a horde archive: only regular files under ``files/``, no absolute paths, no ``..``."""

from __future__ import annotations

import dataclasses
import shutil
import tarfile
import tempfile
from pathlib import Path

from .layout import FILES_DIR, METADATA, ArchiveError, ArchiveMetadata, member_path

__all__ = ["OpenedArchive", "open_archive", "MAX_METADATA_BYTES", "MAX_FILES_BYTES"]

MAX_METADATA_BYTES = 16 * 1024 * 1024
"""metadata.json larger than this is refused (it holds options, not data)."""

MAX_FILES_BYTES = 4 * 1024**3
"""Files adding up to more than this are refused before anything is extracted (no disk-filling archive)."""


@dataclasses.dataclass
class OpenedArchive:
    """An archive extracted to :attr:`root`; :meth:`close` removes the directory."""

    source: Path
    root: Path
    metadata: ArchiveMetadata

    @property
    def script(self) -> Path:
        """The extracted script."""
        return self.root / self.metadata.filename

    def close(self) -> None:
        """Remove the extracted files."""
        shutil.rmtree(self.root.parent, ignore_errors=True)

    def __enter__(self) -> OpenedArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_metadata(tar: tarfile.TarFile, source: str) -> ArchiveMetadata:
    try:
        member = tar.getmember(METADATA)
    except KeyError:
        raise ArchiveError(f"archive {source}: no {METADATA} (not an archive written by horde archive)") from None
    if not member.isfile() or member.size > MAX_METADATA_BYTES:
        raise ArchiveError(f"archive {source}: {METADATA} is not a regular file of a sane size")
    f = tar.extractfile(member)
    assert f is not None  # a regular file
    return ArchiveMetadata.from_json(f.read().decode("utf-8", "replace"), source)


def open_archive(path: str | Path, into: str | Path | None = None) -> OpenedArchive:
    """Check the archive at ``path`` and extract its files to a new directory (under ``into`` or the temp dir).

    Every member must be ``metadata.json`` or a regular file or directory
    under ``files/`` with a relative path free of ``..``; links, devices and
    anything else make the whole archive an :class:`ArchiveError`, before
    anything is written.
    """
    source = Path(path)
    label = str(source)
    try:
        tar = tarfile.open(source, "r:*")
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"archive {label}: cannot be read ({exc})") from None
    with tar:
        meta = _read_metadata(tar, label)
        files: list[tuple[tarfile.TarInfo, Path]] = []
        for member in tar.getmembers():
            name = member_path(member.name, label)
            if name.as_posix() == METADATA:
                continue
            if name.parts[0] != FILES_DIR:
                raise ArchiveError(f"archive {label}: unexpected member {member.name!r} (outside {FILES_DIR}/)")
            if member.isdir():
                continue
            if not member.isfile():
                raise ArchiveError(f"archive {label}: member {member.name!r} is a link or special file, refused")
            files.append((member, Path(*name.parts[1:])))
        total = sum(member.size for member, _ in files)
        if total > MAX_FILES_BYTES:
            raise ArchiveError(f"archive {label}: its files hold {total} bytes, more than {MAX_FILES_BYTES}")
        script_rel = member_path(meta.filename, label)
        if not any(rel.as_posix() == script_rel.as_posix() for _, rel in files):
            raise ArchiveError(f"archive {label}: the script {meta.filename!r} is missing")
        base = Path(tempfile.mkdtemp(prefix="horde-archive-", dir=into))
        root = base / FILES_DIR
        try:
            for member, rel in files:
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None  # a regular file
                with src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
    return OpenedArchive(source=source, root=root, metadata=meta)
