"""horde-insights: a self-hosted results service for horde and k6 (``--out cloud``)."""

__version__ = "0.1.0"
