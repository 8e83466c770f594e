"""nginx (Debian ``nginx``) as a test server: one worker in the foreground, everything in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

from .services import ServiceProcess

__all__ = ["Nginx"]


class Nginx(ServiceProcess):
    """nginx (``binary``) on a free port of 127.0.0.1, its config, pid, logs and temp files in ``workdir``.

    ``server`` is what the ``server`` block holds besides its ``listen`` line
    (locations, ``root``...); ``http`` is added to the ``http`` block (log
    formats, keep-alive settings). ``connections`` is the worker's
    ``worker_connections``.
    """

    name = "nginx"

    def __init__(self, workdir: Path, binary: str, *, server: str, http: str = "", connections: int = 64) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.config_path = self.workdir / "nginx.conf"
        w = self.workdir
        self.config_path.write_text(f"""\
{"user root root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
  {http}
  client_body_temp_path {w}/tmp_body;
  proxy_temp_path {w}/tmp_proxy;
  fastcgi_temp_path {w}/tmp_fastcgi;
  uwsgi_temp_path {w}/tmp_uwsgi;
  scgi_temp_path {w}/tmp_scgi;
  server {{
    listen 127.0.0.1:{self.port};
    {server}
  }}
}}
""")

    def command(self) -> list[str]:
        """The server's command line."""
        w = self.workdir
        return [self.binary, "-p", str(w), "-e", str(w / "error.log"), "-c", str(self.config_path)]
