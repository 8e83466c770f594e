"""The API server itself: real sockets, addresses, a taken port, bounded bodies and connections, and the client."""

from __future__ import annotations

import socket
import time

import pytest
from apihelpers import FakeRun, api
from horde.errors import ExitCode
from horde.restapi.client import Client, ClientError
from horde.restapi.server import MAX_BODY, MAX_CONNECTIONS, REQUEST_TIMEOUT, AddressError, ApiServer, parse_address
from horde.testing.ports import free_port


@pytest.fixture
def server():
    s = ApiServer(f"127.0.0.1:{free_port()}", FakeRun())
    s.start()
    yield s
    s.close()


@pytest.mark.parametrize(
    "address, parsed",
    [
        ("localhost:6565", ("localhost", 6565)),
        ("0.0.0.0:6565", ("0.0.0.0", 6565)),
        (":6565", ("", 6565)),
        ("[::1]:80", ("::1", 80)),
    ],
)
def test_parse_address(address, parsed):
    assert parse_address(address) == parsed


@pytest.mark.parametrize("address", ["bogus", "host:port", "1.2.3.4:70000", "::1:80"])
def test_malformed_addresses_are_exit_106(address):
    with pytest.raises(AddressError) as info:
        parse_address(address)
    assert info.value.exit_code == ExitCode.CANNOT_START_REST_API == 106


def test_a_taken_port_is_one_line(server):
    other = ApiServer(f"127.0.0.1:{server.port}", FakeRun())
    with pytest.raises(AddressError) as info:
        other.start()
    assert (
        str(info.value)
        == f"cannot start the REST API server on 127.0.0.1:{server.port}: address already in use (--address)"
    )


def test_serves_over_http_and_closes(server):
    assert api(server.port)[:2] == (200, "application/json; charset=utf-8")
    port = server.port
    server.close()
    server.close()  # idempotent
    with pytest.raises(OSError):
        api(port, timeout=2)


def test_a_too_large_body_is_refused_unread(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(f"PUT /v1/setup HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 413")


def test_idle_connections_beyond_the_bound_are_refused_at_once_never_queued(server):
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(MAX_CONNECTIONS + 4)]
    try:
        t0 = time.monotonic()
        try:
            answer = api(server.port, timeout=REQUEST_TIMEOUT + 5)[0]
        except OSError:
            answer = None  # refused: every slot is held
        assert time.monotonic() - t0 < REQUEST_TIMEOUT + 2
        assert answer in (200, None)
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + REQUEST_TIMEOUT + 5
    while True:  # the slots come back once the idle connections are gone
        try:
            assert api(server.port, timeout=5)[0] == 200
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_client_against_the_server(server):
    c = Client(f"127.0.0.1:{server.port}")
    assert c.status()["status"] == 4
    assert c.set_status(paused=False)["paused"] is False
    assert [m["name"] for m in c.metrics()] == ["iterations", "checks"]
    with pytest.raises(ClientError, match="^Pause error: execution is already paused$"):
        c.set_status(paused=True)
    with pytest.raises(ClientError, match="^Execution config error: an externally-controlled"):
        c.set_status(vus=3)
    with pytest.raises(ClientError) as info:
        Client(f"127.0.0.1:{free_port()}", timeout=2).status()
    assert info.value.exit_code == 255 and "Connection refused" in str(info.value)
