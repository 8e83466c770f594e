"""Keep the files of the chosen kind, then drop what never belongs in a project.

Files that differ between ``--kind file`` and ``--kind network`` live in ``_kinds/<kind>/``, laid
out as in the project; the chosen kind's files move into place and ``_kinds`` goes. Bytecode that
installers compile inside the installed template goes too.
"""

import pathlib
import shutil

KIND = "{{ cookiecutter.kind }}"

project = pathlib.Path.cwd()
kinds = project / "_kinds"
chosen = kinds / KIND
for source in sorted(p for p in chosen.rglob("*") if p.is_file()):
    destination = project / source.relative_to(chosen)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(destination))
shutil.rmtree(kinds, ignore_errors=True)
for cache in list(project.rglob("__pycache__")):
    shutil.rmtree(cache, ignore_errors=True)
