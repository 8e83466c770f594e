"""horde-out-influx: the ``influxdb`` output for horde (k6's InfluxDB schema, delivery that loses nothing)."""

from .config import Config, load_config
from .output import InfluxDBError, InfluxDBOutput

__all__ = ["Config", "InfluxDBError", "InfluxDBOutput", "load_config"]
__version__ = "0.1.0"
