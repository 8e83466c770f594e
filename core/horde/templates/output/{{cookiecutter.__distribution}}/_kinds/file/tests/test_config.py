"""Configuration: defaults < JSON config < environment < --out argument."""

import pytest

from horde.output import OutputConfigError

from {{ cookiecutter.__package }}.config import ENV_PREFIX, Config, consolidate


def test_defaults():
    assert consolidate(None, {}, "") == Config(file="{{ cookiecutter.name }}.jsonl", interval=1.0)


def test_each_source_overrides_the_one_before():
    json_config = {"file": "json.jsonl", "interval": "3s"}
    assert consolidate(json_config, {}, "") == Config("json.jsonl", 3.0)
    env = {ENV_PREFIX + "FILE": "env.jsonl"}
    assert consolidate(json_config, env, "") == Config("env.jsonl", 3.0)
    env[ENV_PREFIX + "INTERVAL"] = "500ms"
    assert consolidate(json_config, env, "") == Config("env.jsonl", 0.5)
    assert consolidate(json_config, env, "arg.jsonl") == Config("arg.jsonl", 0.5)
    assert consolidate(json_config, env, "file=a.jsonl,interval=1m30s") == Config("a.jsonl", 90.0)


def test_json_config_as_text_and_milliseconds():
    assert consolidate('{"interval": 250}', {}, "") == Config(interval=0.25)


@pytest.mark.parametrize("json_config, env, arg, message", [
    (None, {}, "colour=red", "unknown key 'colour'"),
    (None, {}, "interval=soon", "invalid interval in the --out argument"),
    (None, {ENV_PREFIX + "INTERVAL": "x"}, "", f"invalid interval in {ENV_PREFIX}INTERVAL"),
    ({"bogus": 1}, {}, "", "unknown JSON config key 'bogus'"),
    ("[1,", {}, "", "invalid JSON config"),
    (None, {}, "interval=0s", "interval must be positive"),
])
def test_mistakes_are_one_line_errors(json_config, env, arg, message):
    with pytest.raises(OutputConfigError, match=message) as info:
        consolidate(json_config, env, arg)
    assert "\n" not in str(info.value)
