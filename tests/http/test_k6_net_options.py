"""k6's network options on the client: tlsVersion, tlsAuth, hosts, blockHostnames, noCookiesReset, localIPs."""

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


def test_tls_auth_is_accepted_and_loaded(run, tls_target, tmp_path):
    cert, key = make_self_signed_cert(str(tmp_path), "client", hosts=("client.test",))
    auth = [{"domains": ["127.0.0.1"], "cert": open(cert).read(), "key": open(key).read()}]
    v = VU(options={"insecureSkipTLSVerify": True, "tlsAuth": auth})
    res = run(v, lambda: http.get(tls_target.url + "/"))
    assert res.status == 200


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
