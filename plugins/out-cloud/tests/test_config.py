import pytest
from horde.output import OutputConfigError, Params
from horde_out_cloud.config import CloudConfig, parse_duration
from horde_out_cloud.output import CloudOutput


def test_env_settings_and_the_out_argument():
    cfg = CloudConfig.load(
        {"pushInterval": "2s"},
        {
            "HORDE_CLOUD_TOKEN": "t",
            "HORDE_CLOUD_NAME": "n",
            "HORDE_CLOUD_PUSH_INTERVAL": "500ms",
            "HORDE_CLOUD_MAX_MEMORY": "1000",
        },
        "http://h:1",
    )
    assert (cfg.token, cfg.name, cfg.push_interval, cfg.max_memory, cfg.host) == ("t", "n", 0.5, 1000, "http://h:1")
    assert parse_duration("1m30s") == 90 and parse_duration(3) == 3.0


def test_missing_token_and_bad_values_are_clear_errors():
    with pytest.raises(OutputConfigError, match="HORDE_CLOUD_TOKEN"):
        CloudConfig.load(None, {}, "")
    with pytest.raises(OutputConfigError, match="HORDE_CLOUD_PUSH_INTERVAL"):
        CloudConfig.load(None, {"HORDE_CLOUD_TOKEN": "t", "HORDE_CLOUD_PUSH_INTERVAL": "soon"}, "")
    with pytest.raises(OutputConfigError, match="whole number"):
        CloudConfig.load(None, {"HORDE_CLOUD_TOKEN": "t", "HORDE_CLOUD_AGGREGATION_PERIOD": "1.5s"}, "")


def test_unreachable_service_fails_start_with_one_clear_line():
    from horde.testing import free_port

    out = CloudOutput(
        Params(
            "cloud",
            environment={
                "HORDE_CLOUD_TOKEN": "t",
                "HORDE_CLOUD_STOP_TIMEOUT": "1s",
                "HORDE_CLOUD_HOST": f"http://127.0.0.1:{free_port()}",
            },
        )
    )
    with pytest.raises(Exception, match="cannot reach http://127.0.0.1:[0-9]+ to create the test run"):
        out.start()
