"""The fault suite: ``horde run`` against hostile scripts and signals, bounded in time and memory."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from horde.testing.fixtures import target  # noqa: E402,F401  (session fixture)
