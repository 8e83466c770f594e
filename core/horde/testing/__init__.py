"""Test helpers for horde and its outputs: the output conformance kit, a target server, certificates.

The conformance kit is a pytest plugin (entry point ``pytest11``, name ``horde``): define a
``horde_output`` fixture returning an :class:`OutputUnderTest` and a test requesting ``horde_check``,
and get one pytest item per check (see docs/writing-an-output.md, "The conformance kit").

:class:`ServiceProcess` runs a real server (influxd, Prometheus, nginx...) on a free port for a
test or a benchmark; :class:`InfluxD`, :class:`Nginx` and :class:`VictoriaMetrics` (a
receiver of several protocols) are ready-made ones.

The target-server fixtures live in :mod:`horde.testing.fixtures`; load them from a
``conftest.py`` with ``from horde.testing.fixtures import target, tls_target``.
"""

from .certs import make_self_signed_cert
from .checks import CHECKS, Check
from .compare import CheckFailed
from .influxd import InfluxD
from .nginx import Nginx
from .ports import free_port
from .readback import CAPABILITIES, OutputUnderTest, ReadSample, SeriesTotal
from .services import ServiceProcess, find_binary, http_call
from .target import TargetServer, start_target
from .victoria import VictoriaMetrics

__all__ = [
    "CAPABILITIES",
    "CHECKS",
    "Check",
    "CheckFailed",
    "InfluxD",
    "Nginx",
    "OutputUnderTest",
    "ReadSample",
    "SeriesTotal",
    "ServiceProcess",
    "TargetServer",
    "VictoriaMetrics",
    "find_binary",
    "free_port",
    "http_call",
    "make_self_signed_cert",
    "start_target",
]
