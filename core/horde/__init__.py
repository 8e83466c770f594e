"""horde: a Python load-testing runner whose metric outputs are a plugin ecosystem."""

__version__ = "0.1.0"
