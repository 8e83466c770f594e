"""Configuration: k6's options and defaults by URL, HORDE_INFLUXDB_* env and JSON, with one-line errors."""

from __future__ import annotations

import pytest
from horde.output import OutputConfigError
from horde_out_influx.client import write_path
from horde_out_influx.config import Config, load_config


def cfg(arg: str = "", env: dict | None = None, json: dict | None = None) -> Config:
    return load_config(json, env or {}, arg)


def test_k6_defaults():
    c = cfg()
    assert (c.addr, c.db, c.username, c.password, c.insecure) == ("http://localhost:8086", "k6", "", "", False)
    assert (c.push_interval, c.concurrent_writes, c.consistency, c.retention, c.precision) == (1.0, 4, "", "", "")
    assert c.tags_as_fields == {"vu": "string", "iter": "string", "url": "string"}
    assert not c.v2 and c.divisor == 1
    assert write_path(c) == "/write?consistency=&db=k6&precision=ns&rp="


def test_url_sets_everything():
    c = cfg(
        "http://bob:p%40ss@127.0.0.1:9999/k6db?insecure=true&payload_size=1024&pushInterval=2s"
        "&concurrentWrites=8&tagsAsFields=vu:int&tagsAsFields=url&consistency=one&retention=autogen&precision=ms"
    )
    assert (c.addr, c.db, c.username, c.password) == ("http://127.0.0.1:9999", "k6db", "bob", "p@ss")
    assert (c.insecure, c.payload_size, c.push_interval, c.concurrent_writes) == (True, 1024, 2.0, 8)
    assert c.tags_as_fields == {"vu": "int", "url": "string"}
    assert (c.consistency, c.retention, c.precision, c.divisor) == ("one", "autogen", "ms", 1_000_000)
    assert write_path(c) == "/write?consistency=one&db=k6db&precision=ms&rp=autogen"


def test_path_prefix_for_reverse_proxies():
    c = cfg("https://h.example/influx/mydb")
    assert (c.addr, c.db) == ("https://h.example/influx", "mydb")
    assert write_path(c).startswith("/influx/write?")


def test_precedence_defaults_json_env_url():
    json = {"db": "fromjson", "pushInterval": 3000, "concurrentWrites": 2, "precision": "s", "retention": "r1"}
    env = {
        "HORDE_INFLUXDB_DB": "fromenv",
        "HORDE_INFLUXDB_PUSH_INTERVAL": "500ms",
        "HORDE_INFLUXDB_TAGS_AS_FIELDS": "url,status:int",
        "HORDE_INFLUXDB_INSECURE": "true",
        "HORDE_INFLUXDB_STOP_TIMEOUT": "1m30s",
        "HORDE_INFLUXDB_MEMORY_LIMIT": "8MB",
    }
    c = cfg("http://x:1/fromurl?precision=ms", env, json)
    assert (c.db, c.push_interval, c.concurrent_writes, c.precision, c.retention) == ("fromurl", 0.5, 2, "ms", "r1")
    assert c.tags_as_fields == {"url": "string", "status": "int"} and c.insecure
    assert (c.stop_timeout, c.memory_limit) == (90.0, 8_000_000)
    assert cfg("", env, json).db == "fromenv"
    assert cfg("", {}, json).db == "fromjson"


def test_v1_microseconds_are_sent_as_u():
    # InfluxDB 1.x reads precision=us as nanoseconds; k6 sends that and stores wrong times
    c = cfg("http://x:1/db?precision=us")
    assert c.divisor == 1000 and "precision=u&" in write_path(c)


def test_v2_chosen_by_token_and_url_path_is_the_bucket():
    env = {"HORDE_INFLUXDB_TOKEN": "tok", "HORDE_INFLUXDB_ORGANIZATION": "acme"}
    c = cfg("http://127.0.0.1:8086/bucket1", env)
    assert c.v2 and c.bucket == "bucket1" and c.token == "tok"
    assert write_path(c) == "/api/v2/write?org=acme&bucket=bucket1&precision=ns"
    assert cfg("http://h:1/b?apiVersion=2").v2
    assert not cfg("http://h:1/b?apiVersion=1", env).v2
    c = cfg("", {}, {"bucket": "b", "organization": "o", "token": "t", "precision": "1ms"})
    assert c.v2 and "precision=ms" in write_path(c)


@pytest.mark.parametrize(
    "arg,env,json,message",
    [
        ("http://h:1/db?foo=1", {}, None, "unknown query parameter: foo"),
        ("http://h:1/db?insecure=yes", {}, None, "insecure must be true or false, not yes"),
        ("http://h:1/db?concurrentWrites=0", {}, None, "influxdb's ConcurrentWrites must be a positive number"),
        (
            "http://h:1/db?tagsAsFields=vu&tagsAsFields=vu:int",
            {},
            None,
            "a tag name (vu) shows up more than once in InfluxDB field type configurations",
        ),
        (
            "",
            {"HORDE_INFLUXDB_TAGS_AS_FIELDS": "vu:number"},
            None,
            "an invalid type (number) is specified for an InfluxDB field (vu)",
        ),
        ("htp://h:1/db", {}, None, "invalid InfluxDB URL 'htp://h:1/db' in --out influxdb=…: expected http(s)://"),
        ("localhost:8086/db", {}, None, "invalid InfluxDB URL 'localhost:8086/db'"),
        ("http://h:99999/db", {}, None, "invalid InfluxDB URL 'http://h:99999/db'"),
        ("http:///db", {}, None, "invalid InfluxDB URL"),
        ("udp://h:8089", {}, None, "UDP cannot confirm delivery"),
        ("http://h:1/db?pushInterval=soon", {}, None, "invalid pushInterval 'soon' in the URL"),
        ("http://h:1/db?precision=u2", {}, None, "invalid precision"),
        ("", {"HORDE_INFLUXDB_TOKEN": "t"}, None, "the Bucket option is required"),
        ("", {}, {"adress": "http://h:1"}, "unknown key in the influxdb JSON config: adress"),
        ("", {"HORDE_INFLUXDB_ADDR": "ftp://h"}, None, "invalid InfluxDB URL 'ftp://h' in the addr option"),
    ],
)
def test_errors_are_one_clear_line(arg, env, json, message):
    with pytest.raises(OutputConfigError) as info:
        cfg(arg, env, json)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_payload_size_zero_is_ignored_as_in_k6():
    assert cfg("http://h:1/db?payload_size=0").payload_size == 0
    assert cfg("", {"HORDE_INFLUXDB_PAYLOAD_SIZE": "512"}).payload_size == 512
