"""Archives are safe to extract: absolute paths, '..', links and foreign members make the whole archive refused."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from horde.engine.archive import ArchiveError, open_archive
from hordecli import run_horde

META = {"type": "horde-python", "filename": "t.py", "options": {"iterations": 1}, "env": {}, "files": ["t.py"]}
SCRIPT = b"async def default():\n    pass\n"


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data), link
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _archive(path: Path, *extra: tuple, meta: dict | None = None) -> Path:
    with tarfile.open(path, "w") as tar:
        _add(tar, "metadata.json", json.dumps(meta or META).encode())
        _add(tar, "files/t.py", SCRIPT)
        for args in extra:
            _add(tar, *args)
    return path


@pytest.mark.parametrize(
    "member",
    [
        ("/etc/evil", b"x"),
        ("files/../../evil", b"x"),
        ("../evil", b"x"),
        ("files/link", b"", tarfile.SYMTYPE, "/etc/passwd"),
        ("files/hard", b"", tarfile.LNKTYPE, "files/t.py"),
        ("files/dev", b"", tarfile.CHRTYPE),
        ("elsewhere.py", b"x"),
    ],
    ids=["absolute", "dotdot-in-files", "dotdot", "symlink", "hardlink", "device", "outside-files"],
)
def test_unsafe_members_refuse_the_archive_and_write_nothing(tmp_path, member):
    archive = _archive(tmp_path / "bad.tar", member)
    into = tmp_path / "extract"
    into.mkdir()
    with pytest.raises(ArchiveError, match="bad.tar"):
        open_archive(archive, into=into)
    assert list(into.iterdir()) == []
    assert not (tmp_path / "evil").exists()
    r = run_horde("run", "-q", str(archive))
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "bad.tar" in r.stderr


def test_script_path_in_metadata_cannot_escape(tmp_path):
    archive = _archive(tmp_path / "esc.tar", meta={**META, "filename": "../t.py"})
    with pytest.raises(ArchiveError, match="unsafe"):
        open_archive(archive, into=tmp_path)


def test_a_k6_archive_is_named_as_such(tmp_path):
    archive = _archive(tmp_path / "k6.tar", meta={"type": "js", "options": {}, "filename": "file:///s.js"})
    r = run_horde("run", "-q", str(archive))
    assert r.returncode == 104
    assert "k6 archive of a JavaScript test" in r.stderr


def test_a_good_archive_extracts_and_cleans_up(tmp_path):
    archive = _archive(tmp_path / "ok.tar", ("files/dir/data.txt", b"hello"))
    with open_archive(archive, into=tmp_path) as opened:
        assert opened.script.read_bytes() == SCRIPT
        assert (opened.root / "dir" / "data.txt").read_text() == "hello"
        base = opened.root.parent
    assert not base.exists()
