"""Configuration: k6's argument forms, precedence and exact error messages."""

import pytest
from horde.output import OutputConfigError
from horde.output.binding import create_output, new_plugin_manager
from horde.output.registry import load_registry
from horde_out_csv.config import CsvConfig, TimeFormat, consolidate

S = 1_000_000_000


def test_defaults():
    c = consolidate(None, {}, "")
    assert c == CsvConfig("file.csv", S, TimeFormat.UNIX)
    assert not c.to_stdout and not c.gzip


def test_bare_argument_is_the_file_name():
    assert consolidate(None, {}, "results.csv.gz").file_name == "results.csv.gz"
    assert consolidate(None, {}, "results.csv.gz").gzip


def test_key_value_argument():
    c = consolidate(None, {}, "fileName=r.csv.gz,saveInterval=2s,timeFormat=rfc3339_nano")
    assert c == CsvConfig("r.csv.gz", 2 * S, TimeFormat.RFC3339_NANO)


@pytest.mark.parametrize("arg", ["-", "fileName=-"])
def test_dash_is_stdout(arg):
    assert consolidate(None, {}, arg).to_stdout


def test_empty_json_file_name_is_stdout():
    assert consolidate({"file_name": ""}, {}, "").to_stdout


@pytest.mark.parametrize("fmt", [f.value for f in TimeFormat])
def test_all_six_time_formats(fmt):
    assert consolidate(None, {}, f"timeFormat={fmt}").time_format.value == fmt


@pytest.mark.parametrize(
    "arg,message",
    [
        ("fileName=", 'couldn\'t parse "fileName=" as argument for csv output'),
        ("fileName=a.csv,timeFormat=", 'couldn\'t parse "fileName=a.csv,timeFormat=" as argument for csv output'),
        ("fileName=a.csv,bogus=1", 'unknown key "bogus" as argument for csv output'),
        ("file_name=a.csv", 'unknown key "file_name" as argument for csv output'),
        ("timeFormat=iso", "iso does not belong to TimeFormat values"),
        ("timeFormat=UNIX", "UNIX does not belong to TimeFormat values"),
        ("saveInterval=soon", 'time: invalid duration "soon"'),
    ],
)
def test_k6_error_messages(arg, message):
    with pytest.raises(OutputConfigError) as err:
        consolidate(None, {}, arg)
    assert str(err.value) == message


def test_bad_time_format_from_env_and_json():
    for json_config, env in (({"time_format": "x"}, {}), (None, {"HORDE_CSV_TIME_FORMAT": "x"})):
        with pytest.raises(OutputConfigError, match="^x does not belong to TimeFormat values$"):
            consolidate(json_config, env, "")


def test_precedence_defaults_json_env_arg():
    js = {"file_name": "json.csv", "save_interval": "3s", "time_format": "unix_milli"}
    env = {"HORDE_CSV_FILENAME": "env.csv", "HORDE_CSV_SAVE_INTERVAL": "4s"}
    assert consolidate(js, {}, "") == CsvConfig("json.csv", 3 * S, TimeFormat.UNIX_MILLI)
    assert consolidate(js, env, "") == CsvConfig("env.csv", 4 * S, TimeFormat.UNIX_MILLI)
    assert consolidate(js, env, "timeFormat=unix_nano") == CsvConfig("env.csv", 4 * S, TimeFormat.UNIX_NANO)
    assert consolidate(js, env, "arg.csv") == CsvConfig("arg.csv", 4 * S, TimeFormat.UNIX_MILLI)


def test_empty_env_values_count_as_unset():
    env = {"HORDE_CSV_FILENAME": "", "HORDE_CSV_SAVE_INTERVAL": "", "HORDE_CSV_TIME_FORMAT": ""}
    assert consolidate({"file_name": "j.csv"}, env, "") == CsvConfig("j.csv")


def test_k6_env_names_are_not_read():
    assert consolidate(None, {"K6_CSV_FILENAME": "k6.csv"}, "") == CsvConfig()


def test_durations_bare_numbers_are_milliseconds():
    assert consolidate(None, {}, "saveInterval=250").save_interval == 250_000_000
    assert consolidate(None, {"HORDE_CSV_SAVE_INTERVAL": "1m"}, "").save_interval == 60 * S
    assert consolidate({"save_interval": 1500}, {}, "").save_interval == 1_500_000_000


def test_bad_env_duration_names_the_variable():
    with pytest.raises(OutputConfigError, match="HORDE_CSV_SAVE_INTERVAL 'x'"):
        consolidate(None, {"HORDE_CSV_SAVE_INTERVAL": "x"}, "")


def test_bad_json_types():
    with pytest.raises(OutputConfigError, match="file_name must be a string"):
        consolidate({"file_name": 3}, {}, "")
    with pytest.raises(OutputConfigError, match="must be an object"):
        consolidate(["x"], {}, "")


def test_json_null_and_unknown_keys_ignored():
    assert consolidate({"file_name": None, "whatever": 1}, {}, "") == CsvConfig()


def test_factory_errors_reach_the_user_as_k6s(tmp_path):
    """Through the real entry point: the core wraps the message as k6 does."""
    from horde.output import Params

    plugin = load_registry().get("csv")
    with pytest.raises(OutputConfigError) as err:
        create_output(plugin, Params("csv", config_argument="fileName=x.csv,foo=bar"), new_plugin_manager())
    assert str(err.value) == "could not create the 'csv' output: unknown key \"foo\" as argument for csv output"
    assert err.value.exit_code == 255


def test_raw_json_text_is_accepted():
    assert consolidate('{"file_name": "raw.csv", "save_interval": "2s"}', {}, "") == CsvConfig("raw.csv", 2 * S)
    with pytest.raises(OutputConfigError, match="invalid JSON config"):
        consolidate("{nope", {}, "")
