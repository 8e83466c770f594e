"""Configuration: defaults < JSON config < environment < --out argument."""

import pytest

from horde.output import OutputConfigError

from {{ cookiecutter.__package }}.config import ENV_PREFIX, Config, consolidate


def test_defaults():
    assert consolidate(None, {}, "") == Config()
    assert Config().url == "http://127.0.0.1:8080/samples" and Config().interval == 1.0


def test_each_source_overrides_the_one_before():
    json_config = {"url": "http://json:1/in", "interval": "3s", "batch_size": 500}
    assert consolidate(json_config, {}, "") == Config(url="http://json:1/in", interval=3.0, batch_size=500)
    env = {ENV_PREFIX + "URL": "http://env:2/in", ENV_PREFIX + "TIMEOUT": "2s"}
    assert consolidate(json_config, env, "") == Config(url="http://env:2/in", interval=3.0, batch_size=500, timeout=2.0)
    got = consolidate(json_config, env, "https://arg:3/in?x=1")
    assert got.url == "https://arg:3/in?x=1" and got.timeout == 2.0
    got = consolidate(json_config, env, "url=http://pairs:4/in,retry_max=1m30s,memory_limit=1024,stop_timeout=500ms")
    assert (got.url, got.retry_max, got.memory_limit, got.stop_timeout) == ("http://pairs:4/in", 90.0, 1024, 0.5)


def test_json_config_as_text_and_milliseconds():
    assert consolidate('{"interval": 250}', {}, "") == Config(interval=0.25)


@pytest.mark.parametrize("json_config, env, arg, message", [
    (None, {}, "colour=red", "unknown key 'colour'"),
    (None, {}, "interval=soon", "invalid interval in the --out argument"),
    (None, {ENV_PREFIX + "BATCH_SIZE": "many"}, "", f"invalid batch_size in {ENV_PREFIX}BATCH_SIZE"),
    ({"bogus": 1}, {}, "", "unknown JSON config key 'bogus'"),
    ("[1,", {}, "", "invalid JSON config"),
    (None, {}, "interval=0s", "interval must be positive"),
    (None, {}, "batch_size=0", "batch_size must be at least 1"),
    (None, {}, "ftp://host/x", "url must be http://HOST"),
])
def test_mistakes_are_one_line_errors(json_config, env, arg, message):
    with pytest.raises(OutputConfigError, match=message) as info:
        consolidate(json_config, env, arg)
    assert "\n" not in str(info.value)
