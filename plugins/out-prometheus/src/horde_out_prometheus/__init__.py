"""horde-out-prometheus: k6's ``experimental-prometheus-rw`` output for horde (Prometheus remote write 1.0)."""

from .config import Config, load_config
from .output import PrometheusRWOutput

__all__ = ["Config", "PrometheusRWOutput", "load_config"]
__version__ = "0.1.0"
