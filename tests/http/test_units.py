"""Pure units: cookie jar, URL handling, durations, status specs, error mapping."""

import ssl

import pytest
from horde.http import errors
from horde.http.client import ExpectedStatuses, _decode
from horde.http.cookies import CookieJar, parse_set_cookie
from horde.http.urls import add_params, parse_timeout, parse_url


def test_set_cookie_parsing():
    c = parse_set_cookie('sid="abc"; Path=/app; Domain=.Example.com; Secure; HttpOnly; Max-Age=60', now=1000)
    assert (c.name, c.value, c.path, c.domain, c.secure, c.http_only) == (
        "sid",
        "abc",
        "/app",
        "example.com",
        True,
        True,
    )
    assert c.expires == 1060 and not c.host_only
    c = parse_set_cookie("a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT")
    assert c.expires == 1445412480
    assert parse_set_cookie("novalue") is None


def test_jar_domain_path_secure_rules():
    jar = CookieJar()
    jar.store("www.example.com", "/a/b", parse_set_cookie("host=1"))
    jar.store("www.example.com", "/", parse_set_cookie("dom=2; Domain=example.com; Path=/"))
    jar.store("www.example.com", "/", parse_set_cookie("evil=3; Domain=other.com"))
    jar.store("www.example.com", "/", parse_set_cookie("sec=4; Secure; Path=/"))
    assert jar.header_for("http", "www.example.com", "/a/c") == "host=1; dom=2"
    assert jar.header_for("http", "api.example.com", "/a/c") == "dom=2"
    assert jar.header_for("http", "www.example.com", "/") == "dom=2"
    assert "sec=4" in jar.header_for("https", "www.example.com", "/")
    assert jar.header_for("http", "other.com", "/") == ""


def test_jar_expiry_and_api():
    jar = CookieJar()
    jar.set("http://h/", "a", "1")
    jar.set("http://h/", "b", "2", max_age=-1)
    assert jar.cookies_for_url("http://h/x") == {"a": ["1"]}
    jar.store("h", "/", parse_set_cookie("a=; Max-Age=0"))
    assert jar.cookies_for_url("http://h/x") == {}
    jar.set("http://h/", "c", "3")
    jar.delete("http://h/", "c")
    assert len(jar) == 0
    jar.set("http://h/", "d", "4")
    jar.clear()
    assert len(jar) == 0


def test_parse_url_and_clean():
    t = parse_url("https://u:p@example.com:8443/p?q=1#frag")
    assert (t.scheme, t.host, t.port, t.target, t.host_header) == (
        "https",
        "example.com",
        8443,
        "/p?q=1",
        "example.com:8443",
    )
    assert t.clean == "https://****:****@example.com:8443/p?q=1"
    assert parse_url("http://u@h/").clean == "http://****@h/"
    assert parse_url("http://h").target == "/"
    assert parse_url("http://h:80/").host_header == "h"
    assert parse_url("http://[::1]:81/").host_header == "[::1]:81"
    for bad in ("ftp://h/", "h/x", "http://", "http://h:notaport/"):
        with pytest.raises(errors.InvalidURL):
            parse_url(bad)
    assert issubclass(errors.InvalidURL, ValueError)


def test_add_params():
    assert add_params("http://h/p", {"a": "1", "b": ["2", "3"]}) == "http://h/p?a=1&b=2&b=3"
    assert add_params("http://h/p?x=0", {"a": "1"}) == "http://h/p?x=0&a=1"
    assert add_params("http://h/p?", [("a", "1")]) == "http://h/p?a=1"
    assert add_params("http://h/p", None) == "http://h/p"


def test_parse_timeout():
    assert parse_timeout(2) == 2.0
    assert parse_timeout("500ms") == 0.5
    assert parse_timeout("1m30s") == 90.0
    assert parse_timeout("1h") == 3600.0
    assert parse_timeout("2.5") == 2.5
    for bad in ("soon", "-1s", 0, "10x"):
        with pytest.raises(ValueError):
            parse_timeout(bad)


def test_expected_statuses():
    cb = ExpectedStatuses(200, range(300, 303), (400, 401), {"min": 500, "max": 599})
    assert [cb(s) for s in (200, 201, 302, 303, 401, 402, 599, 0)] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(TypeError):
        ExpectedStatuses("200")


def test_decode_errors():
    import gzip

    assert _decode(gzip.compress(b"x"), b"gzip") == b"x"
    with pytest.raises(ValueError, match="unsupported content encoding"):
        _decode(b"x", b"br")


def test_error_mapping():
    assert errors.classify_dial_error(ConnectionRefusedError(111, "refused")) == ("dial: connection refused", 1212)
    assert errors.classify_dial_error(TimeoutError())[1] == 1211
    assert errors.classify_dial_error(ConnectionResetError(104, "reset"))[1] == 1220
    assert errors.classify_io_error(None) == ("EOF", 1000)
    assert errors.classify_io_error(ConnectionResetError(104, "reset")) == ("read: connection reset by peer", 1220)
    assert errors.classify_io_error(BrokenPipeError(32, "pipe"))[1] == 1201
    assert errors.classify_tls_error(ssl.SSLError(1, "handshake failure"))[1] == 1300
    alert = ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure")
    alert.reason = "SSLV3_ALERT_HANDSHAKE_FAILURE"
    assert errors.classify_tls_error(alert) == ("remote error: tls: handshake failure", 1010)  # Go's, as k6
