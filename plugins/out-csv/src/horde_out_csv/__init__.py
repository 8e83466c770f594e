"""horde-out-csv: the ``csv`` output for horde, byte-compatible with k6's ``--out csv``."""

from .config import CsvConfig, TimeFormat
from .output import CsvOutput

__all__ = ["CsvOutput", "CsvConfig", "TimeFormat"]
__version__ = "0.1.0"
