"""k6's network options on the client: tlsVersion, tlsAuth, hosts, blockHostnames, noCookiesReset, localIPs."""

import socket
import ssl
import threading

from horde import http
from horde.testing import make_self_signed_cert
from httpvu import VU


def test_tls_version_pins_the_protocol(run, tls_target):
    v = VU(options={"insecureSkipTLSVerify": True, "tlsVersion": "tls1.2"})
    res = run(v, lambda: http.get(tls_target.url + "/"))
    assert res.status == 200 and res.tls_version == "tls1.2"
    v = VU(options={"insecureSkipTLSVerify": True, "tlsVersion": {"min": "tls1.3"}})
    res = run(v, lambda: http.get(tls_target.url + "/"))
    assert res.status == 200 and res.tls_version == "tls1.3"


def _mtls_server(tmp_path):
    """A TLS server on 127.0.0.1 that requires a client certificate signed by ``client.crt``; answers 200."""
    server_cert, server_key = make_self_signed_cert(str(tmp_path), "server")
    client_cert, client_key = make_self_signed_cert(str(tmp_path), "client", hosts=("client.test",))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server_cert, server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the handshake fails at once without a client certificate
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock, f"https://127.0.0.1:{sock.getsockname()[1]}/", client_cert, client_key


def test_tls_auth_presents_the_client_certificate(run, tmp_path):
    sock, url, cert, key = _mtls_server(tmp_path)
    try:
        with open(cert) as c, open(key) as k:
            auth = [{"domains": ["127.0.0.1"], "cert": c.read(), "key": k.read()}]
        with_cert = run(VU(options={"insecureSkipTLSVerify": True, "tlsAuth": auth}), lambda: http.get(url))
        other = [{**auth[0], "domains": ["elsewhere.test"]}]
        other_domain = run(VU(options={"insecureSkipTLSVerify": True, "tlsAuth": other}), lambda: http.get(url))
        without = run(VU(options={"insecureSkipTLSVerify": True}), lambda: http.get(url))
    finally:
        sock.close()
    assert with_cert.status == 200 and with_cert.body == b"ok"
    assert other_domain.status == 0 and without.status == 0


def test_hosts_and_blocked_hostnames(run, target):
    port = target.url.rsplit(":", 1)[1]
    v = VU(options={"hosts": {"mapped.test": "127.0.0.1"}, "blockHostnames": ["*.blocked"]})

    async def go():
        return await http.get(f"http://mapped.test:{port}/json"), await http.get(f"http://x.blocked:{port}/")

    ok, blocked = run(v, go)
    assert ok.status == 200 and ok.json()["ok"] is True
    assert blocked.status == 0 and blocked.error_code == 1111
    assert blocked.error == "hostname (x.blocked) is in a blocked pattern (*.blocked)"


def test_no_cookies_reset_keeps_the_jar(run, target):
    for reset, expected in ((False, {}), (True, {"k": "v"})):
        v = VU(options={"noCookiesReset": reset})

        async def go(v=v):
            await http.get(target.url + "/cookies/set", params={"k": "v"})
            v.state.iteration += 1
            return await http.get(target.url + "/cookies")

        res = run(v, go)
        assert res.json()["cookies"] == expected


def test_local_ips_bind_the_source(run, target):
    v = VU(options={"localIPs": "127.0.0.2"})
    res = run(v, lambda: http.get(target.url + "/"))
    assert res.status == 200
