"""TLS against the self-signed tls_target."""

from horde import http
from horde.testing import make_self_signed_cert, start_target
from httpvu import VU


def test_trusted_ca_file(run, tls_target):
    v = VU(options={"tls_ca_file": tls_target.cert_file})

    async def go():
        return await http.get(tls_target.url + "/json"), await http.get(tls_target.url + "/json")

    first, second = run(v, go)
    assert first.status == 200 and first.json()["ok"] is True
    assert first.tls_version in ("tls1.2", "tls1.3")
    assert first.url.startswith("https://")
    assert first.timings["tls_handshaking"] > 0
    assert second.timings["tls_handshaking"] == 0 and second.timings["connecting"] == 0


def test_unknown_authority(run, tls_target):
    v = VU()
    res = run(v, lambda: http.get(tls_target.url + "/"))
    assert res.status == 0
    assert res.error_code == 1310
    assert res.error == "x509: unknown authority"
    assert v.samples[0].tags["error_code"] == "1310"
    assert "tls_version" not in v.samples[0].tags


def test_hostname_mismatch(run, tmp_path):
    cert, key = make_self_signed_cert(str(tmp_path), "other", hosts=("example.test",))
    with start_target(tls_cert=cert, tls_key=key) as server:
        v = VU(options={"tls_ca_file": cert})
        res = run(v, lambda: http.get(server.url + "/"))
    assert res.status == 0
    assert res.error_code == 1311
    assert res.error == "x509: certificate doesn't match the hostname"


def test_insecure_skip_tls_verify(run, tls_target):
    v = VU(options={"insecureSkipTLSVerify": True})
    res = run(v, lambda: http.get(tls_target.url + "/"))
    assert res.status == 200
    assert v.samples[0].tags["tls_version"] == res.tls_version


def test_redirect_from_https_to_http(run, tls_target, target):
    v = VU(options={"insecure_skip_tls_verify": True})
    res = run(v, lambda: http.get(tls_target.url + "/redirect-to", params={"url": target.url + "/json"}))
    assert res.status == 200 and res.url == target.url + "/json"
    first, second = v.samples
    assert "tls_version" in first.tags and "tls_version" not in second.tags
