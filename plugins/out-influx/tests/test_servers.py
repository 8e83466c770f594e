"""The server fixtures obey the CI rule: a missing binary fails under CI=true, else skips."""

from __future__ import annotations

import pytest
import servers


def test_missing_server_binary_fails_under_ci(monkeypatch):
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    monkeypatch.setattr(servers.os.path, "exists", lambda path: False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install influxdb"):
        servers.require_binary("influxd", "influxdb")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        servers.require_binary("influxd", "influxdb")
