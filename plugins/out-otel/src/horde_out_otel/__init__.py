"""horde-out-otel: the ``opentelemetry`` output for horde (k6's OTLP metrics, delivery that loses nothing)."""

from .config import Config, load_config
from .output import OpenTelemetryOutput
from .version import __version__

__all__ = ["Config", "OpenTelemetryOutput", "__version__", "load_config"]
