"""horde-out-cloud: stream a horde run to horde-insights (or any service speaking k6's cloud protocol v2)."""

__version__ = "0.1.0"

from .output import CloudOutput  # noqa: E402

__all__ = ["CloudOutput", "__version__"]
