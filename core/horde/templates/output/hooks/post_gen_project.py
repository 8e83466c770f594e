"""Drop the bytecode that installers compile inside the installed template (never part of a project)."""

import pathlib
import shutil

for cache in list(pathlib.Path.cwd().rglob("__pycache__")):
    shutil.rmtree(cache, ignore_errors=True)
