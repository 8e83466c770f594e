"""The core's C accelerators (everything else is in pyproject.toml).

``horde.http._scan`` reads the common HTTP/1.1 response in one pass; ``horde.http._exchange`` keeps a
connection's exchange state in C and runs an exchange on a pooled connection; ``horde.http._fast`` does
``Client.fast``'s bookkeeping of the common response in one call; ``horde.metrics._sketch``
summarizes a column of trend values; ``horde.metrics._connected`` holds a sample container's fields
and builds a worker batch's containers at once. All are optional: without a C compiler the install
goes on, and httptools and Python do that work.
"""

from setuptools import Extension, setup

SLOTS_H = "core/horde/http/_slots.h"
"""The slot-offset helper both HTTP modules that fill Python slots include."""

setup(
    ext_modules=[
        Extension("horde.http._scan", ["core/horde/http/_scan.c"], optional=True),
        Extension("horde.http._exchange", ["core/horde/http/_exchange.c"], depends=[SLOTS_H], optional=True),
        Extension("horde.http._fast", ["core/horde/http/_fast.c"], depends=[SLOTS_H], optional=True),
        Extension("horde.metrics._sketch", ["core/horde/metrics/_sketch.c"], optional=True),
        Extension("horde.metrics._connected", ["core/horde/metrics/_connected.c"], optional=True),
    ]
)
