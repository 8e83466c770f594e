"""The deploy tests import the cluster harness (manifests, localize) and the k6-operator command builders."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "cluster"))
sys.path.insert(0, str(Path(__file__).parent.parent))
