"""Throwaway output distributions for the registry tests.

A :class:`Dist` is a distribution name, a version, its ``horde.outputs`` entry
points and its module files. It can be laid out as an installed distribution
(``*.dist-info`` next to the modules, as pip leaves it in site-packages), as a
wheel for pip to install, or as a pyproject.toml project for pip to build.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import textwrap
import zipfile
from pathlib import Path

GOOD_OUTPUT = '''\
from horde.output import hookimpl


class {cls}:
    """{doc}"""

    def __init__(self, params):
        self.params = params
        self.calls = []

    @hookimpl
    def description(self):
        return "{label}"

    @hookimpl
    def start(self):
        self.calls.append("start")

    @hookimpl
    def add_samples(self, samples):
        self.calls.append(("add_samples", len(samples)))

    @hookimpl
    def stop(self, error):
        self.calls.append(("stop", error))
'''

WRONG_SIGNATURE_OUTPUT = '''\
from horde.output import hookimpl


class WrongOutput:
    """An output whose add_samples takes an argument the hookspec does not have."""

    def __init__(self, params):
        pass

    @hookimpl
    def description(self):
        return "wrong"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples, flush_now):
        pass

    @hookimpl
    def stop(self, error):
        pass
'''

UNKNOWN_HOOK_OUTPUT = '''\
from horde.output import hookimpl


class TypoOutput:
    """An output that marks a misspelt hook."""

    def __init__(self, params):
        pass

    @hookimpl
    def description(self):
        return "typo"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples):
        pass

    @hookimpl
    def stopp(self, error):
        pass

    @hookimpl
    def stop(self, error):
        pass
'''

BROKEN_OUTPUT = """\
import horde_missing_dependency_xyz  # not installed anywhere


class BrokenOutput:
    pass
"""


def good_module(cls: str = "GoodOutput", label: str = "good", doc: str = "A good test output.") -> str:
    """Source of a module defining a valid output class ``cls``."""
    return GOOD_OUTPUT.format(cls=cls, label=label, doc=doc)


@dataclasses.dataclass
class Dist:
    """A distribution: ``outputs`` maps output names to ``module:attr``; ``files`` paths to source."""

    name: str
    version: str
    outputs: dict[str, str]
    files: dict[str, str]
    summary: str = "A throwaway horde output distribution"

    @property
    def normalized(self) -> str:
        return re.sub(r"[-_.]+", "_", self.name).lower()

    @property
    def dist_info(self) -> str:
        return f"{self.normalized}-{self.version}.dist-info"

    def metadata(self) -> str:
        return f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\nSummary: {self.summary}\n\n"

    def entry_points(self) -> str:
        lines = ["[horde.outputs]"] + [f"{name} = {target}" for name, target in self.outputs.items()]
        return "\n".join(lines) + "\n"

    def pyproject(self) -> str:
        eps = "\n".join(f'{name} = "{target}"' for name, target in self.outputs.items())
        return (
            textwrap.dedent(
                f"""\
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{self.name}"
            version = "{self.version}"
            description = "{self.summary}"
            dependencies = ["horde"]

            [project.entry-points."horde.outputs"]
            """
            )
            + eps
            + "\n"
        )


def simple_dist(name: str, version: str, outputs: dict[str, str], source: str) -> Dist:
    """A distribution of one package ``<name as identifier>`` whose ``__init__`` is ``source``."""
    pkg = re.sub(r"[-.]+", "_", name).lower()
    targets = {out: f"{pkg}:{attr}" for out, attr in outputs.items()}
    return Dist(name, version, targets, {f"{pkg}/__init__.py": source})


def write_dist_info(site: Path, dist: Dist) -> Path:
    """Lay ``dist`` out in ``site`` as an installed distribution; returns its dist-info directory."""
    for rel, text in dist.files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    info = site / dist.dist_info
    info.mkdir()
    (info / "METADATA").write_text(dist.metadata())
    (info / "entry_points.txt").write_text(dist.entry_points())
    (info / "INSTALLER").write_text("horde-tests\n")
    records = [f"{rel},," for rel in dist.files] + [
        f"{dist.dist_info}/{n},," for n in ("METADATA", "entry_points.txt", "INSTALLER", "RECORD")
    ]
    (info / "RECORD").write_text("\n".join(records) + "\n")
    return info


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(dist: Dist, outdir: Path) -> Path:
    """A pure-Python wheel of ``dist`` in ``outdir``, ready for ``pip install``."""
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{dist.normalized}-{dist.version}-py3-none-any.whl"
    contents: dict[str, bytes] = {rel: text.encode() for rel, text in dist.files.items()}
    contents[f"{dist.dist_info}/METADATA"] = dist.metadata().encode()
    contents[f"{dist.dist_info}/entry_points.txt"] = dist.entry_points().encode()
    contents[f"{dist.dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: horde-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n"
    )
    record = [_record_line(name, data) for name, data in contents.items()] + [f"{dist.dist_info}/RECORD,,"]
    contents[f"{dist.dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return path


def write_project(dist: Dist, root: Path) -> Path:
    """``dist`` as a source tree (pyproject.toml + package) for pip to build."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(dist.pyproject())
    for rel, text in dist.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
