"""Where Insights keeps projects, tokens, runs and their samples: SQLite or PostgreSQL."""

from __future__ import annotations

from .base import Store, StoreError
from .open import open_store

__all__ = ["Store", "StoreError", "open_store"]
