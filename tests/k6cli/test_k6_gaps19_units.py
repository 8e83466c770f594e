"""Units of issue 19's last gaps: k6 cipher suite names, inert options, K6_* variables, k6's config file path."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from horde.engine.catalogue import inert_options
from horde.engine.configfile import config_file_for, default_config_path, user_config_dir
from horde.engine.options import env_options
from horde.errors import UserError
from horde.http.ciphers import GO_TO_OPENSSL, openssl_cipher_string
from horde.http.netrules import NetRules


def test_every_k6_tls12_name_maps_to_an_openssl_cipher():
    assert len(GO_TO_OPENSSL) == 22
    available = {c["name"] for c in ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).get_ciphers()}
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in available
    assert openssl_cipher_string(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"]) == (
        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305"
    )


def test_tls13_names_and_empty_lists_keep_the_defaults():
    assert openssl_cipher_string(None) is None
    assert openssl_cipher_string([]) is None
    assert openssl_cipher_string(["TLS_AES_128_GCM_SHA256"]) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [(["TLS_NOPE"], "unknown cipher suite 'TLS_NOPE'"), (["TLS_RSA_WITH_RC4_128_SHA"], "TLS_RSA_WITH_RC4_128_SHA")],
)
def test_bad_cipher_suite_is_exit_104(value, text):
    with pytest.raises(UserError) as err:
        NetRules({"tlsCipherSuites": value})
    assert err.value.exit_code == 104 and text in str(err.value)


def test_cipher_suites_reach_the_ssl_context():
    from horde.http.h1 import default_ssl_context

    ctx = default_ssl_context(
        ciphers=NetRules({"tlsCipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]}).ciphers
    )
    tls12 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] != "TLSv1.3"]
    assert tls12 == ["ECDHE-ECDSA-AES128-GCM-SHA256"]


def test_metric_samples_buffer_size_is_a_warning_naming_it():
    assert inert_options({"vus": 1}) == []
    (warning,) = inert_options({"metricSamplesBufferSize": 5000})
    assert "metricSamplesBufferSize" in warning and "no effect" in warning
    assert env_options({"K6_METRIC_SAMPLES_BUFFER_SIZE": "10"}) == {"metricSamplesBufferSize": 10}


def test_flag_env_vars_as_k6_reads_them_horde_winning():
    env = {"K6_PAUSED": "true", "K6_NO_SETUP": "1", "K6_NO_TEARDOWN": "true", "K6_NO_USAGE_REPORT": "true"}
    assert env_options(env) == {"paused": True, "noSetup": True, "noTeardown": True, "noUsageReport": True}
    assert env_options({"K6_NO_SETUP": "true", "HORDE_NO_SETUP": "false"}) == {"noSetup": False}


def test_user_config_dir_as_go():
    assert user_config_dir({"HOME": "/h"}, "linux") == Path("/h/.config")
    assert user_config_dir({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "linux") == Path("/x")
    assert user_config_dir({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "linux") == Path(".config")
    assert user_config_dir({}, "linux") == Path(".config")
    assert user_config_dir({"HOME": "/h"}, "darwin") == Path("/h/Library/Application Support")
    assert user_config_dir({"AppData": "C:/A"}, "win32") == Path("C:/A")


def test_config_file_choice(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert config_file_for(None, env) is None
    legacy = tmp_path / ".config" / "loadimpact" / "k6" / "config.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("{}")
    assert config_file_for(None, env) == str(legacy)
    default = default_config_path(env)
    default.parent.mkdir(parents=True)
    default.write_text("{}")
    assert config_file_for(None, env) == str(default) == str(tmp_path / ".config" / "k6" / "config.json")
    assert config_file_for(None, {**env, "K6_CONFIG": "k.json"}) == "k.json"
    assert config_file_for(None, {**env, "K6_CONFIG": "k.json", "HORDE_CONFIG": "h.json"}) == "h.json"
    assert config_file_for("c.json", {**env, "HORDE_CONFIG": "h.json"}) == "c.json"
