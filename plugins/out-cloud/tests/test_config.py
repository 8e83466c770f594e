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


def test_push_ref_id_from_k6s_variable_or_horde_s_which_wins():
    k6 = {"K6_CLOUD_TOKEN": "k", "K6_CLOUD_HOST": "http://k6:1", "K6_CLOUD_PUSH_REF_ID": "7"}
    cfg = CloudConfig.load(None, k6, "")
    assert (cfg.token, cfg.host, cfg.push_ref_id) == ("k", "http://k6:1", "7")
    cfg = CloudConfig.load({"pushRefID": "5"}, {**k6, "HORDE_CLOUD_PUSH_REF_ID": "9", "HORDE_CLOUD_TOKEN": "h"}, "")
    assert (cfg.token, cfg.push_ref_id) == ("h", "9")
    assert CloudConfig.load({"pushRefID": "5"}, {"HORDE_CLOUD_TOKEN": "t"}, "").push_ref_id == "5"


def test_stop_on_error_and_stop_poll_interval():
    env = {"HORDE_CLOUD_TOKEN": "t"}
    cfg = CloudConfig.load(None, env, "")
    assert (cfg.stop_on_error, cfg.stop_poll_interval) == (True, 2.0)
    cfg = CloudConfig.load(None, {**env, "K6_CLOUD_STOP_ON_ERROR": "false", "HORDE_CLOUD_STOP_POLL_INTERVAL": "0"}, "")
    assert (cfg.stop_on_error, cfg.stop_poll_interval) == (False, 0.0)
    with pytest.raises(OutputConfigError, match="K6_CLOUD_STOP_ON_ERROR"):
        CloudConfig.load(None, {**env, "K6_CLOUD_STOP_ON_ERROR": "maybe"}, "")


def test_with_a_push_ref_id_the_output_knows_its_run_and_instance_before_start():
    env = {"HORDE_CLOUD_TOKEN": "t", "HORDE_CLOUD_HOST": "http://h:1", "HORDE_CLOUD_PUSH_REF_ID": "42"}
    out = CloudOutput(Params("cloud", environment=env, script_options={"tags": {"instance_id": "3"}}))
    assert (out.run_id, out.instance_id, out.description()) == ("42", "3", "cloud (http://h:1/runs/42)")
    assert out.setup_coordinator() is not None
    plain = CloudOutput(Params("cloud", environment={"HORDE_CLOUD_TOKEN": "t"}))
    assert plain.setup_coordinator() is None and plain.run_id is None
