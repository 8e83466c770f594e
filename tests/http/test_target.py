"""The test target server, driven with the standard library's http.client."""

import gzip
import http.client
import json
import socket
import ssl
import subprocess
import sys
import zlib
from urllib.parse import urlsplit

import pytest
from horde.testing import free_port, start_target


def conn(server, timeout=5):
    u = urlsplit(server.url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=server.cert_file)
        return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def fetch(server, path, method="GET", body=None, headers=None):
    c = conn(server)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r, r.read()
    finally:
        c.close()


def test_home(target):
    r, body = fetch(target, "/")
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("text/html")
    assert b"<html>" in body
    assert int(r.getheader("Content-Length")) == len(body)


def test_unknown_route_404(target):
    assert fetch(target, "/nope")[0].status == 404


@pytest.mark.parametrize("code", [200, 201, 204, 301, 404, 418, 500, 503])
def test_status(target, code):
    r, body = fetch(target, f"/status/{code}")
    assert r.status == code
    if code == 204:
        assert body == b""


def test_delay(target):
    r, body = fetch(target, "/delay/30")
    assert r.status == 200
    assert json.loads(body) == {"delay_ms": 30}


def test_json(target):
    r, body = fetch(target, "/json")
    assert r.getheader("Content-Type") == "application/json"
    assert json.loads(body)["name"] == "horde"


def test_bytes(target):
    r, body = fetch(target, "/bytes/1000")
    assert len(body) == 1000
    assert fetch(target, "/bytes/0")[1] == b""


def test_redirect_chain(target):
    r, _ = fetch(target, "/redirect/3")
    assert r.status == 302 and r.getheader("Location") == "/redirect/2"
    r, _ = fetch(target, "/redirect/1")
    assert r.status == 302 and r.getheader("Location") == "/"


def test_redirect_to(target):
    r, _ = fetch(target, "/redirect-to?url=http%3A%2F%2Fexample.invalid%2Fx%3Fa%3D1")
    assert r.status == 302
    assert r.getheader("Location") == "http://example.invalid/x?a=1"
    r, _ = fetch(target, "/redirect-to?url=/json&status_code=307")
    assert r.status == 307 and r.getheader("Location") == "/json"


def test_cookies(target):
    r, body = fetch(target, "/cookies/set?a=1&b=two")
    assert r.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=two; Path=/"]
    r, body = fetch(target, "/cookies", headers={"Cookie": "a=1; b=two"})
    assert json.loads(body) == {"cookies": {"a": "1", "b": "two"}}
    assert json.loads(fetch(target, "/cookies")[1]) == {"cookies": {}}


def test_echo(target):
    r, body = fetch(target, "/echo/x?q=1", method="PUT", body=b"hello", headers={"X-Test": "yes"})
    doc = json.loads(body)
    assert doc["method"] == "PUT"
    assert doc["path"] == "/echo/x"
    assert doc["query"] == {"q": "1"}
    assert doc["headers"]["X-Test"] == "yes"
    assert doc["body"] == "hello"


def test_head_has_no_body(target):
    r, body = fetch(target, "/json", method="HEAD")
    assert r.status == 200 and body == b""


def test_chunked(target):
    r, body = fetch(target, "/chunked")
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert body == b"".join(b"chunk %d\n" % i for i in range(5))


def test_gzip_and_deflate(target):
    r, body = fetch(target, "/gzip")
    assert r.getheader("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["name"] == "horde"
    r, body = fetch(target, "/deflate")
    assert r.getheader("Content-Encoding") == "deflate"
    assert json.loads(zlib.decompress(body))["name"] == "horde"


def test_drop_closes_without_answer(target):
    with socket.create_connection((target.host, target.port), timeout=5) as s:
        s.sendall(b"GET /drop HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b""


def test_keep_alive_and_pipelining(target):
    before = target.connections
    c = conn(target)
    try:
        for path in ("/", "/json", "/delay/5", "/bytes/10"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            assert r.status == 200
    finally:
        c.close()
    assert target.connections == before + 1
    # pipelined requests are answered in order, a delayed one included
    with socket.create_connection((target.host, target.port), timeout=5) as s:
        s.sendall(
            b"GET /delay/20 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/404 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.index(b"HTTP/1.1 200") < data.index(b"HTTP/1.1 404")


def test_connection_close_honoured(target):
    r, _ = fetch(target, "/", headers={"Connection": "close"})
    assert r.getheader("Connection") == "close"


def test_tls(tls_target):
    assert tls_target.url.startswith("https://127.0.0.1:")
    r, body = fetch(tls_target, "/json")
    assert r.status == 200 and json.loads(body)["ok"] is True


def test_stop_is_idempotent_and_frees_port():
    server = start_target()
    port = server.port
    assert fetch(server, "/")[0].status == 200
    server.stop()
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("tls", [False, True])
def test_module_cli(tls, tls_target):
    port = free_port()
    args = [sys.executable, "-m", "horde.testing", "--port", str(port)]
    if tls:
        args += ["--tls-cert", tls_target.cert_file, "--tls-key", tls_target.cert_file[:-4] + ".key"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        scheme = "https" if tls else "http"
        assert line.strip() == f"horde target listening on {scheme}://127.0.0.1:{port}"
        if tls:
            ctx = ssl.create_default_context(cafile=tls_target.cert_file)
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/json")
        assert c.getresponse().status == 200
        c.close()
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_module_cli_port_in_use(target):
    proc = subprocess.run(
        [sys.executable, "-m", "horde.testing", "--port", str(target.port)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: cannot listen on 127.0.0.1:{target.port}")
