"""The core's one C accelerator (everything else is in pyproject.toml).

``horde.http._scan`` reads the common HTTP/1.1 response in one pass. It is optional: without a C
compiler the install goes on, and httptools parses every response.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("horde.http._scan", ["core/horde/http/_scan.c"], optional=True)])
