"""The planned VUs and duration sent with the create-run call."""

from horde.engine.scenarios import execution_plan, scenarios_from_options
from horde_out_cloud.plan import planned_vus_and_duration


def test_from_the_engines_execution_plan():
    opts = {
        "scenarios": {
            "a": {"executor": "constant-vus", "vus": 3, "duration": "20s", "gracefulStop": "5s"},
            "b": {
                "executor": "ramping-vus",
                "startVUs": 0,
                "startTime": "10s",
                "stages": [{"duration": "30s", "target": 7}],
            },
        }
    }
    plan = execution_plan(scenarios_from_options(opts))
    assert planned_vus_and_duration(plan, opts) == (10, 70.0)  # b: 10 s start + 30 s + 30 s graceful stop


def test_from_script_options_with_k6_durations_when_there_is_no_plan():
    # a bare number is milliseconds, as in k6's options
    assert planned_vus_and_duration((), {"vus": 4, "duration": 90000}) == (4, 90.0)
    assert planned_vus_and_duration(
        (), {"stages": [{"duration": "1m", "target": 5}, {"duration": "30s", "target": 0}]}
    ) == (5, 90.0)
