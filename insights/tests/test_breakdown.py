"""The per-endpoint and errors tables from stored rows (pure functions, no service)."""

from horde_insights.breakdown import endpoint_table, error_table
from horde_insights.histogram import Histogram, bucket_index


def _row(metric, labels, value=0.0, count=1, hist=None, lo=0.0, hi=0.0, total=0.0):
    mtype = {"http_reqs": "counter", "http_req_failed": "rate", "http_req_duration": "trend"}.get(metric, "counter")
    return (metric, mtype, labels, 0.0, value, count, total, lo, hi, hist, 0.001)


def _trend(labels, values):
    hist: dict[int, int] = {}
    for v in values:
        i = bucket_index(int(-(-v // 0.001)))
        hist[i] = hist.get(i, 0) + 1
    return _row("http_req_duration", labels, len(values), len(values), hist, min(values), max(values), sum(values))


def test_series_of_one_endpoint_merge_and_the_url_stands_in_for_a_missing_name():
    a = {"url": "http://t/a", "method": "GET", "status": "200", "instance_id": "1"}
    b = {**a, "instance_id": "2", "scenario": "other"}
    rows = [
        _row("http_reqs", a, 3),
        _row("http_reqs", b, 2),
        _row("http_req_failed", a, 1, 3),
        _row("http_req_failed", b, 0, 2),
        _trend(a, [1.0, 2.0, 3.0]),
        _trend(b, [100.0, 200.0]),
        _row("vus", {}, 5),  # not an HTTP metric: ignored
    ]
    (only,) = endpoint_table(rows)
    assert (only["name"], only["url"], only["requests"], only["failures"], only["failure_rate"]) == (
        "http://t/a",
        "http://t/a",
        5,
        1,
        0.2,
    )
    h = Histogram()
    for r in rows[4:6]:
        h.merge(r[9], r[5], r[6], r[7], r[8], r[10])
    assert only["p95"] == h.quantile(0.95) and only["p50"] == h.quantile(0.5) and only["p99"] == h.quantile(0.99)


def test_endpoints_without_failed_or_duration_series_show_none_and_sort_by_requests():
    rows = [_row("http_reqs", {"name": "few", "method": "GET", "status": "200"}, 1)]
    rows += [_row("http_reqs", {"name": "many", "method": "GET", "status": "200"}, 9)]
    table = endpoint_table(rows)
    assert [r["name"] for r in table] == ["many", "few"]
    assert table[0]["failures"] is None and table[0]["p95"] is None and table[0]["failure_rate"] is None


def test_errors_are_4xx_5xx_status_0_and_tagged_errors_only():
    rows = [
        _row("http_reqs", {"name": "ok", "method": "GET", "status": "200"}, 10),
        _row("http_reqs", {"name": "redirect", "method": "GET", "status": "302"}, 1),
        _row("http_reqs", {"name": "missing", "method": "GET", "status": "404"}, 2),
        _row("http_reqs", {"name": "missing", "method": "GET", "status": "404", "instance_id": "2"}, 3),
        _row("http_reqs", {"name": "down", "method": "GET", "status": "0", "error_code": "1050"}, 1),
        _row("http_reqs", {"name": "odd", "method": "GET", "status": "200", "error": "checksum <b>"}, 1),
        _row("http_req_failed", {"name": "missing", "method": "GET", "status": "404"}, 2, 2),
    ]
    table = error_table(rows)
    assert [(r["name"], r["status"], r["count"]) for r in table] == [
        ("missing", "404", 5),
        ("down", "0", 1),
        ("odd", "200", 1),
    ]
    assert table[1]["error_code"] == "1050" and table[2]["error"] == "checksum <b>"
