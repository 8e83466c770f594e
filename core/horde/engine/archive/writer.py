"""Writing a horde archive: metadata.json first, then the script and the local files it loaded."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from pathlib import Path

from ..._version import __version__
from .layout import FILES_DIR, METADATA, ArchiveError, ArchiveMetadata
from .loading import LoadedTest

__all__ = ["write_archive"]


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(test: LoadedTest, output: str | Path) -> ArchiveMetadata:
    """Write ``test`` (script, files, options, env) to the tar ``output``; the file appears complete or not at all."""
    meta = ArchiveMetadata(
        filename=test.files[0], options=test.options, env=test.env, files=list(test.files), horde_version=__version__
    )
    text = meta.to_json().encode()
    out = Path(output)
    now = time.time()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_info(METADATA, len(text), now), io.BytesIO(text))
            for rel in test.files:
                data = (test.root / rel).read_bytes()
                tar.addfile(_info(f"{FILES_DIR}/{rel}", len(data), now), io.BytesIO(data))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ArchiveError(f"cannot write archive {out}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return meta
