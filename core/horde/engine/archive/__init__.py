"""horde's test archives: one tar with a script, the local files it loads and the options given at archive time.

Layout (see :mod:`.layout`)::

    metadata.json        {"type": "horde-python", "filename": "test.py", "options": {...}, "env": {...}, ...}
    files/test.py        the script
    files/helpers.py     modules next to the script that it imports
    files/data/users.csv files it reads while loading (open() or horde.open())

:func:`load_test` loads a script (or an archive) recording the local files it loads, with its
options consolidated; :func:`write_archive` packs it;
:func:`open_archive` checks and extracts an archive for ``horde run``.
"""

from .layout import ArchiveError, ArchiveMetadata, is_archive
from .loading import LoadedTest, load_test
from .reader import OpenedArchive, open_archive
from .writer import write_archive

__all__ = [
    "ArchiveError",
    "ArchiveMetadata",
    "LoadedTest",
    "OpenedArchive",
    "is_archive",
    "load_test",
    "open_archive",
    "write_archive",
]
