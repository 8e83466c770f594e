"""The distribution's version: its one source (read by pyproject.toml and the resource attributes)."""

__version__ = "0.1.0"
