"""horde-out-dashboard: k6's ``web-dashboard`` output for horde (live charts over SSE, an offline HTML report)."""

from .config import DashboardConfig
from .output import DashboardOutput

__all__ = ["DashboardOutput", "DashboardConfig"]
__version__ = "0.1.0"
