"""horde-out-otel: the ``opentelemetry`` output for horde (k6's OTLP metrics, delivery that loses nothing)."""

__version__ = "0.1.0"

from .config import Config, load_config  # noqa: E402
from .output import OpenTelemetryOutput  # noqa: E402

__all__ = ["Config", "OpenTelemetryOutput", "load_config"]
