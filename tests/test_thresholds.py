"""Thresholds: k6's grammar, validation messages, sub-metrics and evaluation over real sinks.

Error messages marked "k6 v1.1.0" were produced by the real binary (k6 run on a script with that
threshold) and are matched verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from horde.errors import AbortReason, ExitCode, UserError
from horde.metrics import (
    BuiltinMetrics,
    ConnectedSamples,
    MetricRegistry,
    MetricStore,
    MetricType,
    Sample,
    TagSet,
    ValueType,
)
from horde.output import Params
from horde.outputs.json import JsonOutput
from horde.runstatus import RunStatus
from horde.thresholds import (
    SUPPORTED_AGGREGATIONS,
    Threshold,
    ThresholdError,
    parse_expression,
    parse_metric_key,
    parse_thresholds,
)

SHARED = Path(__file__).parent / "fixtures" / "k6"  # copies of the real k6 v1.1.0 files in /work/shared/fixtures/k6

T0 = 1_800_000_000_000_000_000


@pytest.fixture
def registry():
    r = MetricRegistry()
    BuiltinMetrics(r)
    r.get_or_new("my_trend", MetricType.TREND, ValueType.TIME)
    r.get_or_new("my_counter", MetricType.COUNTER)
    r.get_or_new("my_gauge", MetricType.GAUGE)
    r.get_or_new("my_rate", MetricType.RATE)
    return r


def feed(store, metric, values, tags=None):
    tagset = TagSet.of(tags or {})
    store.add([Sample(metric, T0 + i, float(v), tagset) for i, v in enumerate(values)])


def error_of(fn, *args, **kw) -> ThresholdError:
    with pytest.raises(ThresholdError) as info:
        fn(*args, **kw)
    err = info.value
    assert isinstance(err, UserError)
    assert err.exit_code == ExitCode.INVALID_CONFIG == 104
    return err


# -- grammar ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, agg, pct, op, value",
    [
        ("p(95)<500", "p", 95.0, "<", 500.0),
        ("p(99.9) <= 0.5", "p", 99.9, "<=", 0.5),
        ("  avg  <  2  ", "avg", None, "<", 2.0),
        ("count>=1", "count", None, ">=", 1.0),
        ("rate>0.9", "rate", None, ">", 0.9),
        ("value===42", "value", None, "===", 42.0),
        ("med==1e3", "med", None, "==", 1000.0),
        ("max!=-1.5", "max", None, "!=", -1.5),
        ("min<.5", "min", None, "<", 0.5),
        ("p(0)>0", "p", 0.0, ">", 0.0),
        ("p(100)<1", "p", 100.0, "<", 1.0),
    ],
)
def test_expressions_parse(source, agg, pct, op, value):
    e = parse_expression(source)
    assert (e.aggregation, e.percentile, e.operator, e.value) == (agg, pct, op, value)


def test_percentile_key_uses_go_g_format():
    assert parse_expression("p(95)<1").key == "p(95)"
    assert parse_expression("p(95.0)<1").key == "p(95)"
    assert parse_expression("p(99.90)<1").key == "p(99.9)"
    assert parse_expression("p(99.9)<1").lhs == "p(99.9)"
    assert parse_expression("avg<1").key == "avg"


@pytest.mark.parametrize(
    "op, lhs, ok",
    [
        ("<", 1, True),
        ("<", 2, False),
        ("<=", 2, True),
        ("<=", 3, False),
        (">", 3, True),
        (">", 2, False),
        (">=", 2, True),
        (">=", 1, False),
        ("==", 2, True),
        ("===", 2, True),
        ("==", 3, False),
        ("!=", 3, True),
        ("!=", 2, False),
    ],
)
def test_operators(op, lhs, ok):
    assert parse_expression(f"avg{op}2").passes(lhs) is ok


@pytest.mark.parametrize(
    "source, message",
    [
        # all k6 v1.1.0
        (
            "p95<1",
            'failed parsing threshold expression\'s "p95<1" left hand side; reason: failed parsing method '
            "from expression",
        ),
        (
            "p( 95 )<1",
            'failed parsing threshold expression\'s "p( 95 )<1" left hand side; reason: malformed '
            'percentile value; reason: strconv.ParseFloat: parsing " 95 ": invalid syntax',
        ),
        ("avg<", 'failed parsing threshold expression "avg<"; reason: malformed threshold expression'),
        ("avg 1", 'failed parsing threshold expression "avg 1"; reason: malformed threshold expression'),
        ("", 'failed parsing threshold expression ""; reason: malformed threshold expression'),
        (
            "rate=>1",
            'failed parsing threshold expression\'s "rate=>1" left hand side; reason: failed parsing '
            "method from expression",
        ),
        (
            "p(95)<1x",
            'failed parsing threshold expresion\'s "p(95)<1x" right hand side; reason: '
            'strconv.ParseFloat: parsing "1x": invalid syntax',
        ),
        # "<=" leaves nothing on the right, so "<" is used and "=" is the number
        (
            "avg<=",
            'failed parsing threshold expresion\'s "avg<=" right hand side; reason: strconv.ParseFloat: '
            'parsing "=": invalid syntax',
        ),
        (
            "avg<1<2",
            'failed parsing threshold expresion\'s "avg<1<2" right hand side; reason: '
            'strconv.ParseFloat: parsing "1<2": invalid syntax',
        ),
        # current k6 (v1.1 accepted these and compared against P(1.01))
        (
            "p(101)<1",
            'failed parsing threshold expression\'s "p(101)<1" left hand side; reason: malformed '
            "percentile value, provide a number between 0 and 100",
        ),
        (
            "p(-1)<1",
            'failed parsing threshold expression\'s "p(-1)<1" left hand side; reason: malformed '
            "percentile value, provide a number between 0 and 100",
        ),
        (
            "avg<1e999",
            'failed parsing threshold expresion\'s "avg<1e999" right hand side; reason: '
            'strconv.ParseFloat: parsing "1e999": value out of range',
        ),
    ],
)
def test_bad_expressions_give_k6_messages(source, message):
    assert str(error_of(parse_expression, source)) == message


def test_parse_float_accepts_go_forms():
    assert parse_expression("avg<+Inf").value == float("inf")
    assert parse_expression("avg<0x1p-2").value == 0.25
    assert parse_expression("avg<1E2").value == 100.0


# -- definitions: object form, to_json ----------------------------------------------------------------


def test_object_form_and_to_json():
    plain = Threshold.from_config("p(95)<500")
    assert plain.to_json() == "p(95)<500"
    assert (plain.abort_on_fail, plain.delay_abort_eval, plain.delay_abort_eval_s) == (False, None, None)

    obj = Threshold.from_config({"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "10s"})
    assert obj.to_json() == {"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "10s"}
    assert obj.delay_abort_eval_s == 10.0

    no_delay = Threshold.from_config({"threshold": "rate>0.9", "abortOnFail": True})
    assert (
        json.dumps(no_delay.to_json(), separators=(",", ":"))
        == '{"threshold":"rate>0.9","abortOnFail":true,"delayAbortEval":null}'
    )

    # a number is milliseconds; k6 writes it back as a Go duration
    ms = Threshold.from_config({"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": 90000})
    assert ms.delay_abort_eval == "1m30s" and ms.delay_abort_eval_s == 90.0
    # without abortOnFail the object serializes as its string
    assert Threshold.from_config({"threshold": "avg<1", "delayAbortEval": "5s"}).to_json() == "avg<1"


def test_object_form_errors():
    assert "malformed threshold expression" in str(error_of(Threshold.from_config, {"abortOnFail": True}))
    assert 'time: invalid duration "xx"' in str(
        error_of(Threshold.from_config, {"threshold": "avg<1", "abortOnFail": True, "delayAbortEval": "xx"})
    )
    assert "abortOnFail" in str(error_of(Threshold.from_config, {"threshold": "avg<1", "abortOnFail": "yes"}, "m"))
    assert "on my_trend" in str(error_of(Threshold.from_config, 5, "my_trend"))


def test_definition_list_must_be_a_list(registry):
    assert "expected a list" in str(error_of(parse_thresholds, {"my_trend": "avg<1"}, registry))
    assert "expected a mapping" in str(error_of(parse_thresholds, ["avg<1"], registry))
    assert len(parse_thresholds(None, registry)) == 0
    assert not parse_thresholds({}, registry)


# -- validation against the registry ---------------------------------------------------------------


def test_unsupported_aggregation_k6_message(registry):
    err = error_of(parse_thresholds, {"my_trend": ["count<1"]}, registry)
    assert str(err) == (
        'invalid threshold "count<1" applied on metric my_trend; reason: unsupported aggregation '
        "method count on metric of type trend. supported aggregation methods for this metric "
        "are: avg, min, max, med, p"
    )  # k6 v1.1.0


@pytest.mark.parametrize(
    "metric, good, bad",
    [
        ("my_counter", ["count>1", "rate>1"], ["value>1", "avg>1", "p(95)<1"]),
        ("my_gauge", ["value>1"], ["count>1", "rate>1", "max>1"]),
        ("my_rate", ["rate>0.5"], ["count>1", "value>1", "avg>1"]),
        ("my_trend", ["avg<1", "min<1", "med<1", "max<1", "p(99.9)<1"], ["count>1", "rate>1", "value>1"]),
    ],
)
def test_aggregations_per_type(registry, metric, good, bad):
    parse_thresholds({metric: good}, registry)
    mtype = registry.get(metric).type
    for source in bad:
        err = error_of(parse_thresholds, {metric: [source]}, registry)
        assert (
            f"of type {mtype}. supported aggregation methods for this metric are: "
            f"{', '.join(SUPPORTED_AGGREGATIONS[mtype])}" in str(err)
        )


def test_unknown_metric_k6_messages(registry):
    assert (
        str(error_of(parse_thresholds, {"nope": ["avg<1"]}, registry))
        == 'invalid threshold defined on nope; reason: no metric name "nope" found'
    )  # k6 v1.1.0
    assert (
        str(error_of(parse_thresholds, {"nope{a:b}": ["avg<1"]}, registry))
        == 'invalid threshold defined on nope{a:b}; reason: no metric name "nope{a:b}" found'
    )  # k6 v1.1.0


@pytest.mark.parametrize(
    "key, detail",
    [
        # all k6 v1.1.0
        ("my_trend{a:b", 'metric "my_trend{a:b" has unmatched opening/close curly brace'),
        ("my_trend}", 'metric "my_trend}" has unmatched opening/close curly brace'),
        ("my_trend{a}", 'metric "a" tag expression is malformed'),
        ("my_trend{a:}", 'metric "a:" tag expression is malformed'),
        ("my_trend{}", 'metric "" tag expression is malformed'),
        ("my_trend}{", 'metric "my_trend}{" closing curly brace appears before opening one'),
        ("my_trend{a:b}x", 'metric "my_trend{a:b}x" lacks a closing curly brace in its last position'),
    ],
)
def test_submetric_key_errors(registry, key, detail):
    err = error_of(parse_thresholds, {key: ["avg<1"]}, registry)
    assert str(err) == "unable to validate threshold expressions; reason: parsing metric name failed, " + detail


def test_expression_errors_come_before_metric_errors(registry):
    assert "malformed threshold expression" in str(error_of(parse_thresholds, {"nope": ["avg"]}, registry))


def test_submetric_selectors_trim_quotes_and_spaces(registry):
    th = parse_thresholds(
        {
            "my_trend{ kind : \"x y\" , page:'home' }": ["avg<1"],
            "my_trend{group:::front}": ["avg<1"],
            "checks{check:status is 200}": ["rate>0.9"],
        },
        registry,
    )
    first, group, check = th.entries
    assert first.submetric.tags == {"kind": "x y", "page": "home"}
    assert first.name == "my_trend{kind : \"x y\" , page:'home'}"
    assert group.submetric.tags == {"group": "::front"}
    assert check.submetric.tags == {"check": "status is 200"}
    assert check.metric is registry.get("checks") and check.target is check.submetric
    assert [s.name for s in registry.get("my_trend").submetrics] == [first.name, "my_trend{group:::front}"]
    # the same selector written differently is the same sub-metric
    again = parse_thresholds({'my_trend{kind:"x y",page:home}': ["avg<2"]}, registry)
    assert again.entries[0].submetric is first.submetric
    assert parse_metric_key("a{b:c}") == ("a", "b:c") and parse_metric_key("a") == ("a", None)


def test_expected_response_submetric(registry):
    parse_thresholds({}, registry)
    assert [s.name for s in registry.get("http_req_duration").submetrics] == [
        "http_req_duration{expected_response:true}"
    ]
    r2 = MetricRegistry()
    BuiltinMetrics(r2)
    parse_thresholds({}, r2, expected_response_submetric=False)
    assert r2.get("http_req_duration").submetrics == []


def test_vu_selector_warns(registry, caplog):
    parse_thresholds({"my_trend{vu:1}": ["avg<1"]}, registry)
    assert "vu" in caplog.text and "my_trend{vu:1}" in caplog.text


# -- evaluation ------------------------------------------------------------------------------------


def test_trend_thresholds_over_real_samples(registry):
    th = parse_thresholds({"my_trend": ["p(95)<500", "avg<200", "max<=300", "p(50.0)>=150"]}, registry)
    store = MetricStore()
    feed(store, registry.get("my_trend"), [100, 200])  # 2 values: percentiles are exact interpolations
    result = th.evaluate(store, 1.0)
    assert result.ok and result.breached == [] and not result.abort and result.message is None
    feed(store, registry.get("my_trend"), [1000])
    result = th.evaluate(store, 2.0)
    assert result.breached == ["my_trend"]
    assert [t.last_failed for t in th.by_key["my_trend"]] == [True, True, True, False]
    assert th.entries[0].tainted is True
    assert result.message is None and result.error() is None  # during the run: no abortOnFail, no error


def test_counter_gauge_rate_values(registry):
    th = parse_thresholds(
        {"my_counter": ["count==6", "rate==3"], "my_gauge": ["value==2"], "my_rate": ["rate==0.75"]}, registry
    )
    store = MetricStore()
    feed(store, registry.get("my_counter"), [1, 2, 3])
    feed(store, registry.get("my_gauge"), [5, 1, 2])
    feed(store, registry.get("my_rate"), [1, 0, 3, -1])
    assert th.evaluate(store, 2.0).ok
    assert not th.evaluate(store, 3.0).ok  # counter rate is per second of elapsed time


def test_empty_sinks_skipped_during_run_included_at_end(registry):
    """k6 v1.1.0 on never-used metrics: count>1 ✗, rate>1 ✗, gauge value>1 ✗, avg>1 ✗, p(95)<5 ✓, Rate rate>0.5 ✓."""
    r = registry
    r.get_or_new("c2", MetricType.COUNTER)
    r.get_or_new("t2", MetricType.TREND)
    th = parse_thresholds(
        {
            "my_counter": ["count>1"],
            "c2": ["rate>1"],
            "my_gauge": ["value>1"],
            "my_trend": ["avg>1"],
            "t2": ["p(95)<5"],
            "my_rate": ["rate>0.5"],
        },
        r,
    )
    store = MetricStore()
    during = th.evaluate(store, 10.0, final=False)
    assert during.ok and all(e.tainted is None for e in th)
    final = th.evaluate(store, 10.0, final=True)
    assert final.breached == ["c2", "my_counter", "my_gauge", "my_trend"]
    assert [th.by_key[k][0].last_failed for k in ("t2", "my_rate")] == [False, False]
    assert final.message == "thresholds on metrics 'c2, my_counter, my_gauge, my_trend' have been crossed"


def test_missing_aggregates_pass(registry):
    th = parse_thresholds({"my_counter": ["rate>1"], "my_rate": ["rate>0.5"]}, registry)
    store = MetricStore()
    feed(store, registry.get("my_counter"), [5])
    assert th.evaluate(store, 0.0, final=True).ok  # no rate at 0 s
    assert th.evaluate(store, 10.0, final=True).breached == ["my_counter"]  # 0.5/s


def test_submetric_evaluates_only_matching_samples(registry):
    b_duration = registry.get("http_req_duration")
    th = parse_thresholds({"http_req_duration{status:200}": ["max<100"], "http_req_duration": ["max<1000"]}, registry)
    store = MetricStore()
    store.add(
        [
            ConnectedSamples((b_duration,), (50.0,), T0, TagSet.of({"status": "200", "method": "GET"})),
            ConnectedSamples((b_duration,), (500.0,), T0, TagSet.of({"status": "404", "method": "GET"})),
        ]
    )
    assert th.evaluate(store, 1.0).ok
    store.add([Sample(b_duration, T0, 150.0, TagSet.of({"status": "200"}))])
    result = th.evaluate(store, 1.0, final=True)
    assert result.breached == ["http_req_duration{status:200}"]
    assert result.message == "thresholds on metrics 'http_req_duration{status:200}' have been crossed"


def test_submetric_without_matching_samples(registry):
    th = parse_thresholds({"my_trend{kind:x}": ["avg>1"]}, registry)
    store = MetricStore()
    feed(store, registry.get("my_trend"), [5], {"kind": "y"})
    assert th.evaluate(store, 1.0).ok  # empty sub-metric sink: skipped during the run
    assert th.evaluate(store, 1.0, final=True).breached == ["my_trend{kind:x}"]  # avg of nothing is 0


def test_abort_on_fail_waits_for_delay(registry):
    """k6 v1.1.0 with delayAbortEval '3s' stopped at ~4 s: the delay must be strictly exceeded."""
    th = parse_thresholds(
        {
            "my_rate": [{"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "3s"}],
            "my_counter": ["count<0"],
        },
        registry,
    )
    store = MetricStore()
    feed(store, registry.get("my_rate"), [0, 1])
    feed(store, registry.get("my_counter"), [1])
    assert not th.evaluate(store, 2.0).abort
    assert not th.evaluate(store, 3.0).abort
    result = th.evaluate(store, 4.0)
    assert result.abort and result.breached == ["my_counter", "my_rate"]
    assert result.message == (
        "thresholds on metrics 'my_counter, my_rate' were crossed; at least one has "
        "abortOnFail enabled, stopping test prematurely"
    )
    err = result.error()
    assert err.exit_code == 99 and err.reason is AbortReason.THRESHOLD
    assert err.run_status is RunStatus.ABORTED_THRESHOLD
    # the final evaluation never aborts; it reports the crossing with exit code 99, run status Finished
    final = th.evaluate(store, 5.0, final=True)
    assert not final.abort
    assert final.error().reason is AbortReason.THRESHOLDS_AFTER_TEST_END
    assert final.error().run_status is RunStatus.FINISHED


def test_abort_on_fail_without_delay_and_not_for_passing(registry):
    th = parse_thresholds({"my_rate": [{"threshold": "rate>0.9", "abortOnFail": True}]}, registry)
    store = MetricStore()
    feed(store, registry.get("my_rate"), [1])
    assert not th.evaluate(store, 0.5).abort
    feed(store, registry.get("my_rate"), [0, 0])
    assert th.evaluate(store, 0.5).abort


def test_failed_list_and_by_name(registry):
    th = parse_thresholds({"my_trend": ["avg<1", "avg<100"], "my_trend{a:b}": ["avg<1"]}, registry)
    store = MetricStore()
    feed(store, registry.get("my_trend"), [5], {"a": "b"})
    result = th.evaluate(store, 1.0, final=True)
    assert [(n, t.source) for n, t in result.failed] == [("my_trend", "avg<1"), ("my_trend{a:b}", "avg<1")]
    assert set(th.by_name()) == {"my_trend", "my_trend{a:b}"}
    assert [t.name for t in th.targets()] == ["my_trend", "my_trend{a:b}"]


# -- what outputs receive ------------------------------------------------------------------------------


def test_json_output_metric_lines_match_k6(tmp_path, registry):
    """The json output writes thresholds through to_json(); compare with k6 v1.1.0's sample.json."""
    options = {
        "http_req_duration": ["p(95)<500", "avg<200"],
        "http_req_duration{status:200}": ["max<1000"],
        "checks": [{"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "10s"}],
        "http_req_failed": ["rate<0.6"],
        "my_counter": ["count>1"],
        "my_gauge": ["value>0"],
    }
    th = parse_thresholds(options, registry)
    out = JsonOutput(Params("json", str(tmp_path / "out.json")))
    out.set_thresholds(th.by_key)
    out.start()
    tags = TagSet.of({"status": "200"})
    names = ["http_req_duration", "http_req_failed", "checks", "my_counter", "my_gauge"]
    out.add_samples([Sample(registry.get(n), T0, 1.0, tags) for n in names])
    out.stop(None)
    mine = [line for line in (tmp_path / "out.json").read_text().splitlines() if '"type":"Metric"' in line]
    theirs = {
        json.loads(line)["metric"]: line
        for line in (SHARED / "sample.json").read_text().splitlines()
        if '"type":"Metric"' in line
    }
    assert len(mine) == len(names)
    for line in mine:
        assert line == theirs[json.loads(line)["metric"]]


# -- the periodic loop ------------------------------------------------------------------------------------


def test_periodic_evaluator_aborts_once_then_final(registry):
    import threading

    from horde.thresholds import PeriodicEvaluator

    th = parse_thresholds(
        {"my_rate": [{"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "3s"}]}, registry
    )
    store = MetricStore()
    feed(store, registry.get("my_rate"), [0])
    clock = {"now": 1.0}
    aborted = threading.Event()
    errors = []

    def on_abort(err):
        errors.append(err)
        aborted.set()

    ev = PeriodicEvaluator(th, store, lambda: clock["now"], on_abort, period=0.01)
    ev.start()
    clock["now"] = 3.5  # past the delay: the next tick aborts
    assert aborted.wait(10)
    final = ev.finish()
    assert len(errors) == 1 and errors[0].exit_code == 99 and errors[0].reason is AbortReason.THRESHOLD
    assert "at least one has abortOnFail enabled" in str(errors[0])
    assert final.final and final.breached == ["my_rate"] and not final.abort
    assert ev.last is not None and ev.last.abort


def test_periodic_evaluator_without_thresholds(registry):
    from horde.thresholds import PeriodicEvaluator

    ev = PeriodicEvaluator(parse_thresholds({}, registry), MetricStore(), lambda: 1.0, lambda err: None)
    ev.start()
    assert ev.finish().ok
    with pytest.raises(ValueError):
        PeriodicEvaluator(parse_thresholds({}, registry), MetricStore(), lambda: 1.0, lambda err: None, period=0)
